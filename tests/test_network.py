"""The real services, for users who have keys (``pytest -m network``); skipped without them.

Nothing on CI reaches these services: each test is skipped unless its keys are in the
environment or the user's keys file ($MUSEMOOD_HOME/keys.toml, or MUSEMOOD_KEYS), read when the
tests are collected, before the test session points MUSEMOOD_HOME at a temporary folder.  They check
that the real answers still have the shapes our fakes imitate.
"""

import os

import pytest

from musemood import config, schema

pytestmark = pytest.mark.network

#: The user's keys: the keys file, then the environment over it (as the clients read them).
KEYS = {**config.read_keys(), **{name: os.environ[name] for name in config.KEY_NAMES if os.environ.get(name)}}


@pytest.fixture(autouse=True)
def _users_keys(monkeypatch):
    """The keys the tests were collected with, in the environment (the session hides the keys file)."""
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)

# A well-known, long-lived track on every service.
TITLE, ARTIST, SPOTIFY_ID = "Bohemian Rhapsody", "Queen", "4u7EnebtmKWzUH433cf5Qv"


def needs(*variables):
    missing = [v for v in variables if not KEYS.get(v)]
    return pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)}")


@needs("LASTFM_API_KEY")
def test_lastfm_top_tags():
    from musemood.sources.lastfm import LastfmClient

    tags, _ = LastfmClient().top_tags(TITLE, ARTIST)
    assert tags and tags[0][1] == 100 and all(isinstance(c, (int, float)) for _, c in tags)


@needs("SPOTIPY_CLIENT_ID", "SPOTIPY_CLIENT_SECRET")
def test_spotify_audio_features_or_the_403_message():
    from musemood.sources.audio import SpotifyAudioFeatures
    from musemood.sources.http import FatalSourceError

    try:
        (features, _, _), = SpotifyAudioFeatures().get([{"spotify_id": SPOTIFY_ID}])
    except FatalSourceError as exc:  # apps registered after 2024-11-27
        assert "2024-11-27" in str(exc)
        return
    assert set(features) == set(schema.AUDIO_FEATURES) and 0 <= features["valence"] <= 1


@needs("GENIUS_ACCESS_TOKEN")
def test_genius_lyrics_or_blocked():
    from musemood.sources.genius import GeniusBlocked, GeniusClient

    try:
        text, info, _ = GeniusClient().lyrics(TITLE, ARTIST)
    except GeniusBlocked:
        pytest.skip("Genius blocks this machine (403)")
    assert text and info["hit"]["artist"] == ARTIST


@pytest.mark.skipif(not os.environ.get("MUSEMOOD_NETWORK_TESTS"), reason="LRCLIB needs no key: set "
                    "MUSEMOOD_NETWORK_TESTS=1 to run it")
def test_lrclib_lyrics():
    from musemood.sources.lrclib import LrclibClient, lyrics_of

    record, _ = LrclibClient().get(TITLE, ARTIST)
    assert record and lyrics_of(record)
