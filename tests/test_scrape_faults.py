"""Scrapes degrade instead of dying: outages leave songs pending, Retry-After is capped,
credential errors are told apart from server errors, one source's bad key stops no other,
and two processes never scrape the same stage of one store."""

import json
import logging
import subprocess
import sys
import time

import pandas as pd
import pytest

from musemood import scrape
from musemood.cli import EXIT_BAD_INPUT, EXIT_SERVICE, main
from musemood.sources import ScrapeStore
from musemood.sources.audio import FeatureTable, SpotifyAudioFeatures
from musemood.sources.genius import GeniusClient
from musemood.sources.http import CredentialError, SourceError
from musemood.sources.lastfm import LastfmClient
from musemood.sources.lrclib import LrclibClient
from musemood.sources.store import StoreBusy

from fakes.server import FakeService, redirect_transport
from fakes.services import lastfm_routes
from test_scrape import KEYS, SONGS, environment, fakes, wasabi  # noqa: F401 (fixtures)

ID, SECRET = KEYS["SPOTIPY_CLIENT_ID"], KEYS["SPOTIPY_CLIENT_SECRET"]


@pytest.fixture
def store(tmp_path, wasabi):  # noqa: F811
    out = ScrapeStore(tmp_path / "store.sqlite")
    scrape.ingest_wasabi(out, wasabi, show_progress_bar=False)
    return out


def spotify_source(fake, **kw):
    return SpotifyAudioFeatures(ID, SECRET, api_url=fake.url + "/v1/", token_url=fake.url + "/api/token",
                                min_interval=0, backoff=0.01, retries=2, timeout=2, **kw)


def test_a_spotify_outage_leaves_its_songs_pending_and_the_next_source_goes_on(fakes, store, tmp_path):  # noqa: F811
    fakes["spotify"].state.features_status = 503
    table = tmp_path / "features.csv"
    pd.DataFrame([{"id": s["spotify_id"], **s["audio"]} for s in SONGS[:6]]).to_csv(table, index=False)
    store.pending = lambda *a, **k: pytest.fail("the job loaded every pending song as a list")
    summary = scrape.scrape_audio(store, [spotify_source(fakes["spotify"]), FeatureTable(table)],
                                  show_progress_bar=False)
    assert summary["sources_used"] == {"table": 6} and "stopped" not in summary
    assert summary["done"] == 6 and summary["failed"] == 0 and summary["pending"] == len(store.songs()) - 6
    reason = store.status(SONGS[8]["song_id"], "audio")["reason"]
    assert "spotify" in reason and "503" in reason and "try again later" in reason
    assert summary["pending_reasons"]
    fakes["spotify"].state.features_status = None  # Spotify is back: the next run gets the rest
    again = scrape.scrape_audio(store, [spotify_source(fakes["spotify"])], show_progress_bar=False)
    assert again["pending"] == 0 and again["done"] + again["failed"] == len(store.songs())


def test_a_source_failing_batch_after_batch_is_dropped_and_the_job_stops_with_songs_pending(fakes, store):  # noqa: F811
    fakes["spotify"].state.features_status = 502
    source = spotify_source(fakes["spotify"])
    source.batch_size = 4  # several batches
    summary = scrape.scrape_audio(store, [source], max_failures=2, show_progress_bar=False)
    assert summary["pending"] == len(store.songs()) and summary["done"] == 0
    assert "failed on 2 batches in a row" in summary["stopped"] and summary["credentials"] is False
    calls = [r for r in fakes["spotify"].requests if r["path"].startswith("/v1/audio-features")]
    assert len(calls) == 2 * 3  # two batches (each tried 1 + 2 times), then the source was dropped


@pytest.mark.parametrize("status, error, message", [
    (500, SourceError, "token endpoint answered HTTP 500"),
    (503, SourceError, "token endpoint answered HTTP 503"),
    (400, CredentialError, "refused the client credentials"),
])
def test_token_endpoint_server_errors_are_not_reported_as_refused_credentials(fakes, status, error, message):  # noqa: F811
    fakes["spotify"].state.token_status = status
    with pytest.raises(error, match=message) as caught:
        spotify_source(fakes["spotify"]).get(SONGS[:2])
    assert error is CredentialError or not isinstance(caught.value, CredentialError)


@pytest.mark.parametrize("status", [400, 404, 500])
@pytest.mark.parametrize("body", ['{"error": "injected"}', '["a", "list"]', "<html>down</html>", ""])
def test_unusual_error_bodies_give_a_source_error_naming_the_status(fakes, status, body):  # noqa: F811
    fakes["spotify"].state.features_status, fakes["spotify"].state.error_body = status, body
    with pytest.raises(SourceError, match=f"HTTP {status}"):
        spotify_source(fakes["spotify"]).get(SONGS[:2])


def test_retry_after_is_capped_and_reported(fakes, caplog):  # noqa: F811
    lrclib = LrclibClient(fakes["lrclib"].url, min_interval=0, backoff=0.01, max_retry_after=0.2)
    fakes["lrclib"].faults += [("status", 429, {"Retry-After": "86400"})]  # come back tomorrow
    caplog.set_level(logging.WARNING)
    start = time.monotonic()
    text, _, _ = lrclib.lyrics(SONGS[1]["title"], SONGS[1]["artist"])
    assert text and time.monotonic() - start < 5
    assert "LRCLIB asked to wait 86400 s" in caplog.text and "waiting 0 s instead" in caplog.text


def test_lastfm_retry_after_is_capped_too(caplog):
    with FakeService(lastfm_routes(SONGS)) as fake:
        client = LastfmClient("lfm-key", min_interval=0, backoff=0.01, max_retry_after=0.2,
                              transport=redirect_transport(fake))
        fake.faults += [("status", 503, {"Retry-After": "3600"})]
        caplog.set_level(logging.WARNING)
        start = time.monotonic()
        tags, _ = client.top_tags(SONGS[0]["title"], SONGS[0]["artist"])
        assert tags and time.monotonic() - start < 5
    assert "Last.fm asked to wait 3600 s" in caplog.text


def test_the_retry_after_setting_is_checked(monkeypatch):
    monkeypatch.setenv("MUSEMOOD_MAX_RETRY_AFTER", "soon")
    with pytest.raises(ValueError, match="MUSEMOOD_MAX_RETRY_AFTER"):
        LrclibClient()
    with pytest.raises(ValueError, match="finite number of seconds"):
        LrclibClient(max_retry_after=-1)


def test_a_bad_genius_token_does_not_stop_lrclib(fakes, store, caplog):  # noqa: F811
    fakes["genius"].routes["/search"] = lambda query: (401, {}, json.dumps({"error": "invalid_token"}))
    genius = GeniusClient("bad-token", api_url=fakes["genius"].url, web_url=fakes["genius"].url, min_interval=0,
                          backoff=0.01)
    lrclib = LrclibClient(fakes["lrclib"].url, min_interval=0, backoff=0.01)
    summary = scrape.scrape_lyrics(store, [genius, lrclib], show_progress_bar=False)
    assert "stopped" not in summary and summary["done"] > 0 and summary["pending"] == 0
    assert any("GENIUS_ACCESS_TOKEN" in note for note in summary["notes"]) and len(summary["notes"]) == 1
    assert len([r for r in fakes["genius"].requests if r["path"] == "/search"]) == 1  # switched off at once


def test_when_every_lyrics_source_refuses_the_job_stops_and_the_cli_says_it_is_the_key(fakes, store, tmp_path,  # noqa: F811
                                                                                        monkeypatch, capsys):
    for key, value in environment(fakes).items():
        monkeypatch.setenv(key, value)
    fakes["genius"].routes["/search"] = lambda query: (401, {}, json.dumps({"error": "invalid_token"}))
    code = main(["scrape", "lyrics", "--store", store.path, "--lyrics-sources", "genius"])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT and "GENIUS_ACCESS_TOKEN" in err and "stay pending" in err
    assert "Traceback" not in err
    assert store.counts("lyrics")["pending"] == len(store.songs())


def test_a_lastfm_outage_stops_the_job_with_songs_pending(store):
    with FakeService({}) as fake:
        fake.routes["/2.0/"] = lambda query: (500, {}, "<lfm status='failed'/>")
        client = LastfmClient("lfm-key", min_interval=0, backoff=0.01, retries=1,
                              transport=redirect_transport(fake))
        summary = scrape.scrape_lastfm(store, client, workers=1, max_failures=3, show_progress_bar=False)
        asked = len(fake.requests)
    assert summary["pending"] == len(store.songs()) and "3 songs in a row" in summary["stopped"]
    # 2 x 2 requests a song (1 + 1 retries in the transport, and in the client); the 4th song may have
    # started while the 3rd was recorded; not all 13
    assert asked <= 4 * 4 < 4 * len(store.songs())
    assert all(reason for reason in summary["pending_reasons"])


def test_two_processes_never_scrape_one_stage_of_a_store(store, fakes, monkeypatch, capsys):  # noqa: F811
    for key, value in environment(fakes).items():
        monkeypatch.setenv(key, value)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom musemood.sources import ScrapeStore\n"
        f"with ScrapeStore({store.path!r}).lock('lyrics'):\n    print('held', flush=True)\n    time.sleep(60)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        code = main(["scrape", "lyrics", "--store", store.path])
        err = capsys.readouterr().err
        assert code == EXIT_SERVICE and "another process is running the lyrics job" in err
        assert not fakes["genius"].requests and not fakes["lrclib"].requests  # nothing asked twice
        with pytest.raises(StoreBusy):
            with store.lock("lyrics"):
                pass
        with store.lock("lastfm"):  # other stages are free
            pass
    finally:
        holder.kill()
        holder.wait()
    with store.lock("lyrics"):  # a killed holder leaves nothing behind
        pass


def test_scrape_all_with_lastfm_down_writes_no_dataset_and_exits_3(fakes, wasabi, tmp_path, monkeypatch,  # noqa: F811
                                                                   capsys):
    for key, value in environment(fakes).items():
        monkeypatch.setenv(key, value)
    fakes["lastfm"].routes["/2.0/"] = lambda query: (500, {}, "<lfm status='failed'/>")
    fast = LastfmClient("lfm-key", min_interval=0, backoff=0.01, retries=1, api_url=fakes["lastfm"].url)
    monkeypatch.setattr("musemood.cli._data._lastfm_client", lambda args: fast)
    out = tmp_path / "dataset.parquet"
    code = main(["scrape", "all", "--store", str(tmp_path / "s.sqlite"), "--songs", str(wasabi), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == EXIT_SERVICE  # the outage's code, not the empty dataset's
    assert "no dataset written: no song to write" in err and "tags not scraped yet: 13" in err
    assert "musemood scrape lastfm --store" in err and not out.exists()


def test_the_threads_run_a_bounded_window_ahead_of_what_is_recorded(tmp_path):
    """A future per pending song at once held a million of them on a WASABI-sized store: the threads now
    fetch at most 4 x workers songs ahead of the one being recorded, and the results keep their order."""
    import threading

    store = ScrapeStore(tmp_path / "window.sqlite")
    store.add_songs([{"song_id": f"s{i:04d}", "title": f"T{i}", "artist": "A"} for i in range(300)], stages=["lastfm"])
    asked, lead, lock = [], [], threading.Lock()

    def fetch(song):
        with lock:
            asked.append(song["song_id"])
            lead.append(len(asked) - store_done())
        return "done", None, None, {"tags": [["rock", 1]]}

    reader = ScrapeStore(store.path)  # the threads read the counts on a connection of their own
    store.pending = lambda *a, **k: pytest.fail("the job loaded every pending song as a list")

    def store_done():
        return reader.counts("lastfm")["done"]

    scrape._run(store, "lastfm", fetch, limit=None, retry_failed=False, workers=2, max_failures=None,
                show_progress_bar=False, desc="test")
    assert store.counts("lastfm") == {"pending": 0, "done": 300, "failed": 0}
    assert max(lead) <= 4 * 2 + 1, max(lead)  # 8 in the window and the song being recorded
    assert sorted(asked) == [f"s{i:04d}" for i in range(300)]
