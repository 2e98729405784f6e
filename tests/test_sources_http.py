"""Service plumbing (retries, politeness, credentials) and the LRCLIB client, against a local fake."""

import json
import logging
import time

import pytest

from musemood.sources.http import USER_AGENT, MinInterval, SourceError, credential
from musemood.sources.lrclib import LrclibClient, lyrics_of

from fakes.server import FakeService

# Our own made-up catalogue: no real lyrics.
CATALOGUE = [
    {"id": 1, "trackName": "Paper Lanterns", "artistName": "The Quiet Hours", "albumName": "Tides",
     "duration": 201.0, "instrumental": False, "plainLyrics": "paper lanterns on the water\nwe let them go",
     "syncedLyrics": "[00:12.00] paper lanterns on the water\n[00:16.50] we let them go"},
    {"id": 2, "trackName": "Static Bloom", "artistName": "Vela", "albumName": "Static Bloom",
     "duration": 185.0, "instrumental": True, "plainLyrics": None, "syncedLyrics": None},
]


def lrclib_routes():
    def get(query):
        for record in CATALOGUE:
            if (record["trackName"].lower() == query.get("track_name", "").lower()
                    and record["artistName"].lower() == query.get("artist_name", "").lower()):
                return 200, {}, json.dumps(record)
        return 404, {}, json.dumps({"code": 404, "name": "TrackNotFound", "message": "Failed to find specified track"})

    def search(query):
        title = query.get("track_name", "").lower()
        return 200, {}, json.dumps([r for r in CATALOGUE if title in r["trackName"].lower()])

    return {"/api/get": get, "/api/search": search}


@pytest.fixture
def lrclib():
    with FakeService(lrclib_routes()) as fake:
        yield fake


def client(fake, **kw):
    return LrclibClient(fake.url, min_interval=0, backoff=0.05, **kw)


def test_get_and_search(lrclib):
    record, body = client(lrclib).get("Paper Lanterns", "The Quiet Hours", duration=201)
    assert lyrics_of(record).startswith("paper lanterns") and json.loads(body)["id"] == 1
    assert lrclib.requests[0]["query"] == {"track_name": "Paper Lanterns", "artist_name": "The Quiet Hours",
                                           "duration": "201"}
    assert lrclib.requests[0]["headers"]["User-Agent"] == USER_AGENT
    record, _ = client(lrclib).get("Static Bloom", "Vela")
    assert lyrics_of(record) == ""  # instrumental
    records, _ = client(lrclib).search("bloom")
    assert [r["id"] for r in records] == [2]


def test_a_song_lrclib_does_not_have(lrclib):
    record, body = client(lrclib).get("No Such Song", "Nobody")
    assert record is None and "TrackNotFound" in body and lyrics_of(record) is None


def test_429_with_retry_after_is_honoured(lrclib):
    lrclib.faults = [("status", 429, {"Retry-After": "1"})]
    started = time.monotonic()
    record, _ = client(lrclib).get("Paper Lanterns", "The Quiet Hours")
    assert record["id"] == 1 and len(lrclib.requests) == 2
    assert time.monotonic() - started >= 0.95


def test_server_errors_and_timeouts_are_retried(lrclib):
    lrclib.faults = [("status", 500, {}), ("status", 503, {}), ("slow", 1.5)]
    record, _ = client(lrclib, timeout=0.5).get("Paper Lanterns", "The Quiet Hours")
    assert record["id"] == 1 and len(lrclib.requests) == 4


def test_giving_up_and_malformed_json_are_clear_errors(lrclib):
    lrclib.faults = [("status", 503, {})] * 3
    with pytest.raises(SourceError, match="HTTP 503"):
        client(lrclib, retries=2).get("Paper Lanterns", "The Quiet Hours")
    lrclib.faults = [("malformed",)]  # once: retried
    record, _ = client(lrclib).get("Paper Lanterns", "The Quiet Hours")
    assert record["id"] == 1
    lrclib.faults = [("malformed",)] * 2
    with pytest.raises(SourceError, match="malformed JSON"):
        client(lrclib, retries=1).get("Paper Lanterns", "The Quiet Hours")


def test_min_interval_sleeps_only_what_remains():
    now = [100.0]
    slept = []
    limiter = MinInterval(0.5, clock=lambda: now[0], sleep=lambda s: (slept.append(s), now.__setitem__(0, now[0] + s)))
    limiter.wait()
    now[0] += 0.2
    limiter.wait()
    now[0] += 1.0
    limiter.wait()
    assert slept == [pytest.approx(0.3)]


def test_credentials_come_from_arguments_then_environment(monkeypatch, caplog):
    monkeypatch.delenv("GENIUS_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("MUSEMOOD_KEYS", raising=False)
    with pytest.raises(ValueError, match="GENIUS_ACCESS_TOKEN"):
        credential(None, "GENIUS_ACCESS_TOKEN", "Genius")
    monkeypatch.setenv("GENIUS_ACCESS_TOKEN", "s3cret-token")
    with caplog.at_level(logging.DEBUG):
        assert credential(None, "GENIUS_ACCESS_TOKEN", "Genius") == "s3cret-token"
        assert credential("given", "GENIUS_ACCESS_TOKEN", "Genius") == "given"
    assert "s3cret-token" not in caplog.text


def test_credentials_come_from_the_keys_file_after_the_environment(monkeypatch, tmp_path, caplog):
    from musemood.config import read_keys

    monkeypatch.setenv("MUSEMOOD_HOME", str(tmp_path))
    monkeypatch.delenv("MUSEMOOD_KEYS", raising=False)
    monkeypatch.delenv("LASTFM_API_KEY", raising=False)
    with pytest.raises(ValueError, match=f"write LASTFM_API_KEY = .* in the keys file {tmp_path / 'keys.toml'}"):
        credential(None, "LASTFM_API_KEY", "Last.fm")  # no file: the message says where one would go
    keys = tmp_path / "keys.toml"
    keys.write_text('# mine\nLASTFM_API_KEY = "f1le-key"\nGENIUS_ACCESS_TOKEN = ""\n')
    keys.chmod(0o600)
    with caplog.at_level(logging.DEBUG):
        assert credential(None, "LASTFM_API_KEY", "Last.fm") == "f1le-key"
        monkeypatch.setenv("LASTFM_API_KEY", "env-key")  # the environment wins over the file
        assert credential(None, "LASTFM_API_KEY", "Last.fm") == "env-key"
        assert credential("given", "LASTFM_API_KEY", "Last.fm") == "given"
        with pytest.raises(ValueError, match="needs GENIUS_ACCESS_TOKEN"):  # an empty value is no key
            credential(None, "GENIUS_ACCESS_TOKEN", "Genius")
    assert not caplog.records  # a private file, and no value logged
    keys.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):  # a command reads the file once for each key it needs: one warning, not three
            read_keys()
    assert [r.getMessage().count("chmod 600") for r in caplog.records] == [1]
    assert "can be read by other users of this machine: chmod 600" in caplog.text and "f1le-key" not in caplog.text
    other = tmp_path / "elsewhere.toml"
    other.write_text('SPOTIPY_CLIENT_ID = "id-from-elsewhere"\n')
    monkeypatch.setenv("MUSEMOOD_KEYS", str(other))
    assert read_keys() == {"SPOTIPY_CLIENT_ID": "id-from-elsewhere"}
    monkeypatch.setenv("MUSEMOOD_KEYS", str(tmp_path / "typo.toml"))
    with pytest.raises(FileNotFoundError, match="MUSEMOOD_KEYS names .*typo.toml, which does not exist"):
        read_keys()


@pytest.mark.parametrize("text, message", [
    ('LASTFM_API_KEY = s3cret-unquoted\n', "is not TOML .*line 1"),
    ('LASTFM_KEY = "s3cret-typo"\n', "holds 'LASTFM_KEY', which musemood does not use; the names are LASTFM_API_KEY"),
    ('LASTFM_API_KEY = 12345678\n', "LASTFM_API_KEY must be text in quotes"),
    ('[keys]\nLASTFM_API_KEY = "s3cret-table"\n', "holds 'keys', which musemood does not use"),
])
def test_a_bad_keys_file_is_named_without_its_values(tmp_path, monkeypatch, text, message):
    from musemood.config import read_keys

    (tmp_path / "keys.toml").write_text(text)
    with pytest.raises(ValueError, match=message) as error:
        read_keys(tmp_path / "keys.toml")
    assert "s3cret" not in str(error.value) and "12345678" not in str(error.value)
    assert str(tmp_path / "keys.toml") in str(error.value)


def test_a_keys_file_from_windows_is_read_or_refused_without_its_values(tmp_path):
    """Notepad's UTF-8 starts with a byte-order mark, which TOML refuses at "line 1, column 1": it is read.
    Windows PowerShell's `>` writes UTF-16 and an old editor Windows-1252: refused saying what to do, with no
    character of the key in the message."""
    from musemood.config import read_keys

    keys = tmp_path / "keys.toml"
    keys.write_bytes('\ufeffLASTFM_API_KEY = "s3cret"\n'.encode("utf-8"))
    assert read_keys(keys) == {"LASTFM_API_KEY": "s3cret"}
    for encoding, message in (("utf-16", "is UTF-16 text, not UTF-8: save it as UTF-8"),
                              ("cp1252", "line 1 \\(byte 22\\): a byte that is not UTF-8. Save it as UTF-8")):
        keys.write_bytes('LASTFM_API_KEY = "s3cr\u00e9t"\n'.encode(encoding))
        with pytest.raises(ValueError, match=f"the keys file {keys}.*{message}") as error:
            read_keys(keys)
        assert "s3cr" not in str(error.value) and "\u00e9" not in str(error.value)


def test_the_scrape_command_sees_keys_in_the_keys_file(monkeypatch, tmp_path, capsys):
    """Keys only in keys.toml count as set when `scrape` chooses its sources: Genius beside LRCLIB, and
    Spotify beside a features table, are kept, not dropped as key-less."""
    import argparse

    from musemood.cli._data import _audio_sources, _lyrics_sources

    monkeypatch.setenv("MUSEMOOD_HOME", str(tmp_path))
    for name in ("GENIUS_ACCESS_TOKEN", "SPOTIPY_CLIENT_ID", "SPOTIPY_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    args = argparse.Namespace(lyrics_sources="genius,lrclib", match_threshold=90, max_retry_after=60,
                              audio_sources="spotify,table", features_table=str(tmp_path / "f.csv"), audio_dir=None)
    (tmp_path / "f.csv").write_text("spotify_id,energy\nabc,0.5\n")
    assert [type(s).__name__ for s in _lyrics_sources(args)] == ["LrclibClient"]  # no key anywhere: noted, skipped
    assert "GENIUS_ACCESS_TOKEN is not set" in capsys.readouterr().err
    assert [type(s).__name__ for s in _audio_sources(args)] == ["FeatureTable"]
    keys = tmp_path / "keys.toml"
    keys.write_text('GENIUS_ACCESS_TOKEN = "t0ken"\nSPOTIPY_CLIENT_ID = "id"\nSPOTIPY_CLIENT_SECRET = "s3cret"\n')
    keys.chmod(0o600)
    assert [type(s).__name__ for s in _lyrics_sources(args)] == ["GeniusClient", "LrclibClient"]
    assert [type(s).__name__ for s in _audio_sources(args)] == ["SpotifyAudioFeatures", "FeatureTable"]
    assert "not set" not in capsys.readouterr().err


def test_a_record_with_synced_lyrics_alone_gives_their_text():
    synced = "[ar:The Quiet Hours]\n[length: 03:21]\n[00:12.40] paper lanterns\n[00:15.10][01:20.00] in the rain\n" \
             "[00:18.00]\n[00:19.5] fading out"
    record = {"instrumental": False, "plainLyrics": None, "syncedLyrics": synced}
    assert lyrics_of(record) == "paper lanterns\nin the rain\n\nfading out"
    assert lyrics_of({"plainLyrics": "plain text", "syncedLyrics": "[00:01.00] other"}) == "plain text"
    assert lyrics_of({"plainLyrics": None, "syncedLyrics": None}) is None
    assert lyrics_of({"plainLyrics": "", "syncedLyrics": "[00:01.00]"}) is None  # time tags, no words
