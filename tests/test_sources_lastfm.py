"""The Last.fm client: pylast runs unchanged, its https transport is redirected to a local fake."""

import logging
import time

import pytest

from musemood.sources.http import FatalSourceError, SourceError, USER_AGENT
from musemood.sources.lastfm import LastfmClient

from fakes.server import FakeService, redirect_transport
from fakes.services import catalogue, lastfm_routes, lastfm_tags

SONGS = catalogue()
KEY = "lastfm-key-0123456789abcdef"


@pytest.fixture
def lastfm():
    with FakeService(lastfm_routes(SONGS)) as fake:
        yield fake


def client(fake, **kw):
    kw = {"min_interval": 0, "backoff": 0.01, "timeout": 2, **kw}
    return LastfmClient(KEY, transport=redirect_transport(fake), **kw)


def test_top_tags_by_name_are_numbers_in_order(lastfm):
    song = SONGS[0]
    tags, body = client(lastfm).top_tags(song["title"], song["artist"])
    assert tags == lastfm_tags(song) and tags[0][1] == 100
    assert all(isinstance(c, int) for _, c in tags)
    request = lastfm.requests[0]
    assert request["method"] == "POST" and request["query"]["method"] == "track.getTopTags"
    assert request["query"]["api_key"] == KEY and request["headers"]["User-Agent"] == USER_AGENT
    assert '"found": true' in body


def test_unknown_name_falls_back_to_the_musicbrainz_id(lastfm):
    song = SONGS[4]  # Last.fm knows it as "... - Remastered 2011"
    tags, _ = client(lastfm).top_tags(song["title"], song["artist"], mbid=song["mbid"])
    assert tags == lastfm_tags(song)
    assert [r["query"]["method"] for r in lastfm.requests] == ["track.getTopTags", "track.getInfo",
                                                               "track.getTopTags"]


def test_unknown_track_is_none_error_6(lastfm):
    tags, body = client(lastfm).top_tags("Nobody Heard This", "The Unknowns")
    assert tags is None and '"found": false' in body


def test_rate_limit_429_retry_after_and_5xx_and_timeouts_are_retried(lastfm):
    lastfm.faults += [("status", 429, {"Retry-After": "1"}), ("status", 503, {}), ("slow", 1.5),
                      ("malformed",)]
    start = time.monotonic()
    tags, _ = client(lastfm, timeout=0.5).top_tags(SONGS[0]["title"], SONGS[0]["artist"])
    assert tags == lastfm_tags(SONGS[0])
    assert time.monotonic() - start >= 1.0  # Retry-After honoured
    assert len(lastfm.requests) == 5


@pytest.mark.parametrize("code", ["29", "8", "11", "16"])
def test_lastfm_transient_error_codes_are_retried(lastfm, code):
    original = lastfm.routes["/2.0/"]
    calls = []

    def flaky(query):
        calls.append(1)
        if len(calls) == 1:
            return 200, {}, f'<?xml version="1.0"?><lfm status="failed"><error code="{code}">busy</error></lfm>'
        return original(query)

    lastfm.routes["/2.0/"] = flaky
    tags, _ = client(lastfm).top_tags(SONGS[0]["title"], SONGS[0]["artist"])
    assert tags == lastfm_tags(SONGS[0]) and len(calls) == 2


def test_invalid_key_stops_the_job_and_persistent_failure_is_an_error(lastfm):
    lastfm.routes["/2.0/"] = lambda q: (200, {}, '<?xml version="1.0"?><lfm status="failed">'
                                        '<error code="10">Invalid API key</error></lfm>')
    with pytest.raises(FatalSourceError, match="LASTFM_API_KEY"):
        client(lastfm).top_tags("a", "b")
    lastfm.faults += [("status", 503, {})] * 10
    lastfm.routes["/2.0/"] = lastfm_routes(SONGS)["/2.0/"]
    with pytest.raises(SourceError, match="try again later"):
        client(lastfm, retries=1).top_tags("a", "b")


def test_min_interval_spaces_requests(lastfm):
    c = client(lastfm, min_interval=0.2)
    start = time.monotonic()
    for song in SONGS[:4]:
        c.top_tags(song["title"], song["artist"])
    assert time.monotonic() - start >= 0.6  # 4 requests, 3 gaps of 0.2 s: at most 5 per second


def test_missing_key_names_the_variable_and_key_is_never_logged(lastfm, monkeypatch, caplog):
    monkeypatch.delenv("LASTFM_API_KEY", raising=False)
    with pytest.raises(ValueError, match="LASTFM_API_KEY"):
        LastfmClient()
    monkeypatch.setenv("LASTFM_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    lastfm.faults.append(("status", 503, {}))
    LastfmClient(transport=redirect_transport(lastfm), min_interval=0, backoff=0.01).top_tags(
        SONGS[0]["title"], SONGS[0]["artist"])
    assert caplog.records and KEY not in caplog.text
