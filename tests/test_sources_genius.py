"""The Genius client: lyricsgenius against a local fake of the API and of the lyrics pages."""

import logging

import pytest

from musemood.sources.genius import GeniusBlocked, GeniusClient
from musemood.sources.http import FatalSourceError, USER_AGENT
from musemood.text import clean_lyrics

from fakes.server import FakeService
from fakes.services import catalogue, genius_routes

SONGS = catalogue()
TOKEN = "genius-token-abcdef123456"


@pytest.fixture
def genius():
    with FakeService(genius_routes(SONGS)) as fake:
        yield fake


def client(fake, **kw):
    return GeniusClient(TOKEN, api_url=fake.url, web_url=fake.url, min_interval=0, backoff=0.01, timeout=2, **kw)


def test_search_match_and_lyrics(genius):
    song = SONGS[0]
    text, info, responses = client(genius).lyrics(song["title"], song["artist"])
    assert clean_lyrics(text) == clean_lyrics(song["lyrics"]) and "[Verse 1]" in text
    assert "Contributors" not in text
    assert info["hit"]["artist"] == song["artist"] and len(responses) == 2
    search = genius.requests[0]
    assert search["path"] == "/search" and search["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert search["headers"]["User-Agent"] == USER_AGENT


def test_cover_by_another_artist_is_skipped_for_the_real_song(genius):
    song = SONGS[3]
    text, info, _ = client(genius).lyrics(song["title"], song["artist"])
    assert info["hit"]["artist"] == song["artist"] and clean_lyrics(text) == clean_lyrics(song["lyrics"])


def test_a_song_without_matching_hit_is_dropped_with_a_reason(genius):
    text, info, responses = client(genius).lyrics(SONGS[1]["title"], SONGS[1]["artist"])  # not on Genius
    assert text is None and "no Genius hit" in info["reason"] and len(responses) == 1
    text, info, _ = client(genius, threshold=100).lyrics(SONGS[0]["title"] + " Reprise", SONGS[0]["artist"])
    assert text is None  # the threshold is configurable: 100 takes exact matches only
    with pytest.raises(ValueError, match="fuzzy score from 0 to 100, got 101"):
        client(genius, threshold=101)


def test_changed_page_layout_is_reported_not_silently_empty(genius):
    genius.faults += [("slow", 0), ("html_changed",)]  # the search passes, the lyrics page moved
    text, info, _ = client(genius).lyrics(SONGS[0]["title"], SONGS[0]["artist"])
    assert text is None and "layout not recognised" in info["reason"]


def test_faults_are_retried(genius):
    genius.faults += [("status", 429, {"Retry-After": "1"}), ("malformed",), ("status", 500, {}), ("slow", 2.5),
                      ("status", 503, {})]
    text, _, _ = client(genius).lyrics(SONGS[0]["title"], SONGS[0]["artist"])
    assert clean_lyrics(text) == clean_lyrics(SONGS[0]["lyrics"])


def test_403_and_401(genius):
    genius.faults.append(("status", 403, {}))
    with pytest.raises(GeniusBlocked, match="LRCLIB"):
        client(genius).lyrics(SONGS[0]["title"], SONGS[0]["artist"])
    genius.faults.append(("status", 401, {}))
    with pytest.raises(FatalSourceError, match="GENIUS_ACCESS_TOKEN"):
        client(genius).lyrics(SONGS[0]["title"], SONGS[0]["artist"])


def test_token_from_environment_never_logged(genius, monkeypatch, caplog):
    monkeypatch.delenv("GENIUS_ACCESS_TOKEN", raising=False)
    with pytest.raises(ValueError, match="GENIUS_ACCESS_TOKEN"):
        GeniusClient()
    monkeypatch.setenv("GENIUS_ACCESS_TOKEN", TOKEN)
    caplog.set_level(logging.DEBUG)
    genius.faults.append(("status", 503, {}))
    GeniusClient(api_url=genius.url, web_url=genius.url, min_interval=0, backoff=0.01).lyrics(
        SONGS[0]["title"], SONGS[0]["artist"])
    assert caplog.records and TOKEN not in caplog.text
