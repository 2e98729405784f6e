"""The scrape store: idempotent songs, per-stage status, raw responses, resume after kill -9."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from musemood.sources import ScrapeStore

SONGS = [{"song_id": str(i), "title": f"Song {i}", "artist": f"Artist {i % 7}", "spotify_id": f"sp{i}"}
         for i in range(60)]


def test_songs_are_added_once_and_stages_start_pending(tmp_path):
    store = ScrapeStore(tmp_path / "scrape.db")
    assert store.add_songs(SONGS[:10], stages=["lastfm"]) == 10
    assert store.add_songs(SONGS[:20], stages=["lastfm", "lyrics"]) == 10
    assert len(store.songs()) == 20
    assert store.counts("lastfm") == {"pending": 20, "done": 0, "failed": 0}
    assert store.counts("lyrics")["pending"] == 20
    assert store.song("3")["spotify_id"] == "sp3"
    with pytest.raises(ValueError, match="needs an id, a title and an artist"):
        store.add_songs([{"song_id": "x", "title": "No artist"}])


def test_complete_stores_the_response_status_and_updates(tmp_path):
    store = ScrapeStore(tmp_path / "scrape.db")
    store.add_songs(SONGS[:3], stages=["lyrics"])
    store.complete("0", "lyrics", response=("lrclib", "artist 0|song 0", 200, "la la"),
                   update={"lyrics_source": "lrclib", "mbid": "m0"})
    store.complete("1", "lyrics", status="failed", reason="no_match", response=("lrclib", "artist 1|song 1", 404, None))
    assert store.response("lrclib", "artist 0|song 0") == (200, "la la")
    assert store.response("lrclib", "never asked") is None
    assert store.song("0")["lyrics_source"] == "lrclib" and store.song("0")["mbid"] == "m0"
    assert [s["song_id"] for s in store.pending("lyrics")] == ["2"]
    assert [s["song_id"] for s in store.pending("lyrics", retry_failed=True)] == ["1", "2"]
    assert store.reasons("lyrics") == {"no_match": 1}
    assert store.status("1", "lyrics") == {"status": "failed", "reason": "no_match", "attempts": 1}
    with pytest.raises(KeyError, match="no 'spotify' stage"):
        store.complete("0", "spotify")


def test_a_failed_transaction_leaves_nothing_behind(tmp_path):
    store = ScrapeStore(tmp_path / "scrape.db")
    store.add_songs(SONGS[:2], stages=["lastfm"])
    with pytest.raises(KeyError):
        store.complete("nope", "lastfm", response=("lastfm", "k-nope", 200, "{}"))
    assert store.response("lastfm", "k-nope") is None  # rolled back with the failed status update


def test_a_corrupt_store_is_reported(tmp_path):
    path = tmp_path / "scrape.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ValueError, match="not a usable scrape store"):
        ScrapeStore(path)


WORKER = textwrap.dedent('''
    import os, sys, time
    from musemood.sources import ScrapeStore

    store = ScrapeStore(sys.argv[1])
    log = open(sys.argv[2], "a")
    for song in store.pending("lastfm"):
        key = song["song_id"]
        if store.response("fake", key) is None:
            log.write(key + "\\n"); log.flush(); os.fsync(log.fileno())  # the request leaves
            time.sleep(0.01)
            body = "tags of " + key
        store.complete(key, "lastfm", response=("fake", key, 200, body))
''')


def test_a_job_killed_with_sigkill_resumes_without_loss_or_repeats(tmp_path):
    db, log = tmp_path / "scrape.db", tmp_path / "requests.log"
    ScrapeStore(db).add_songs(SONGS, stages=["lastfm"])
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    proc = subprocess.Popen([sys.executable, str(worker), str(db), str(log)])
    deadline = time.time() + 60
    while time.time() < deadline and (not log.exists() or len(log.read_text().split()) < 15):
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = log.read_text().split()
    assert 15 <= len(before) < len(SONGS), "the job was not killed mid-way"
    assert subprocess.run([sys.executable, str(worker), str(db), str(log)]).returncode == 0
    requests = log.read_text().split()
    store = ScrapeStore(db)
    assert store.counts("lastfm") == {"pending": 0, "done": len(SONGS), "failed": 0}
    assert len(store.songs()) == len(SONGS) and store.n_responses("fake") == len(SONGS)
    assert sorted(set(requests), key=int) == [s["song_id"] for s in SONGS]
    repeated = [k for k in set(requests) if requests.count(k) > 1]
    # only the song in flight at the kill may be asked twice: every committed answer was reused
    assert len(repeated) <= 1 and (not repeated or repeated[0] == before[-1])
    assert all(store.response("fake", s["song_id"]) == (200, "tags of " + s["song_id"]) for s in SONGS)


def test_songs_stream_with_their_statuses_and_are_counted_without_loading(tmp_path):
    store = ScrapeStore(tmp_path / "scrape.db")
    assert store.n_songs() == 0 and list(store.iter_songs(["lastfm"])) == []
    store.add_songs(SONGS[:3], stages=["lastfm", "lyrics"])
    store.add_songs(SONGS[3:5], stages=["lastfm"])  # no lyrics row: None
    store.complete("1", "lastfm", update={"tags": [["rock", 3]]})
    store.complete("2", "lyrics", status="failed", reason="no_match")
    assert store.n_songs() == 5
    rows = list(store.iter_songs(["lastfm", "lyrics"]))
    assert [song for song, _ in rows] == store.songs()  # the same songs, in insertion order
    assert [statuses for _, statuses in rows] == [
        {"lastfm": "pending", "lyrics": "pending"}, {"lastfm": "done", "lyrics": "pending"},
        {"lastfm": "pending", "lyrics": "failed"}, {"lastfm": "pending", "lyrics": None},
        {"lastfm": "pending", "lyrics": None}]
    assert next(store.iter_songs())[1] == {}


def test_pending_songs_stream_in_pages_while_the_store_is_written(tmp_path):
    """A WASABI-sized Last.fm job read its 1.7M pending songs as one list before the first request:
    they now come a page at a time, each page a query of its own, so results can be committed between
    pages and the songs done meanwhile are neither lost nor asked twice."""
    store = ScrapeStore(tmp_path / "scrape.db")
    store.add_songs(SONGS, stages=["lastfm", "lyrics"])
    store.complete("5", "lastfm", status="failed", reason="not on Last.fm")
    store.complete("6", "lastfm")
    assert store.n_pending("lastfm") == 58 and store.n_pending("lastfm", retry_failed=True) == 59
    assert store.n_pending("lastfm", limit=10) == 10 and store.n_pending("lastfm", limit=100) == 58
    walked = []
    for song in store.iter_pending("lastfm", page_size=7):
        walked.append(song["song_id"])
        # the walk commits as it goes, including a song it has not reached yet
        store.complete(song["song_id"], "lastfm", status="pending" if song["song_id"] == "9" else "done")
        if song["song_id"] == "20":
            store.complete("40", "lastfm")
    assert walked == [s["song_id"] for s in SONGS if s["song_id"] not in ("5", "6", "40")]
    assert store.counts("lastfm") == {"pending": 1, "done": 58, "failed": 1}  # "9" kept pending, asked once
    assert [s["song_id"] for s in store.iter_pending("lastfm", retry_failed=True, page_size=1)] == ["5", "9"]
    assert [s["song_id"] for s in store.iter_pending("lyrics", limit=3, page_size=2)] == ["0", "1", "2"]
    assert list(store.iter_pending("lyrics", limit=0)) == []
    assert store.pending("lyrics", limit=2) == list(store.iter_pending("lyrics", limit=2))


def test_songs_by_id_stream_in_the_order_given(tmp_path):
    store = ScrapeStore(tmp_path / "scrape.db")
    store.add_songs(SONGS, stages=["lastfm"])
    store.complete("7", "lastfm", update={"tags": [["rock", 3]]})
    ids = ["12", "7", "nobody", "0", 59]  # an unknown id is skipped; ids are matched as text
    got = list(store.iter_songs_by_id(ids, page_size=2))
    assert [s["song_id"] for s in got] == ["12", "7", "0", "59"]
    assert got[1] == store.song("7") and got[1]["tags"] == [["rock", 3]]
    assert list(store.iter_songs_by_id([])) == []


def test_a_pending_walk_kept_to_some_songs(tmp_path):
    store = ScrapeStore(tmp_path / "scrape.db")
    store.add_songs(SONGS, stages=["lyrics"])
    store.complete("10", "lyrics")
    store.complete("30", "lyrics", status="failed", reason="no_match")
    only = {"3", "10", "30", "31", "50", "nobody"}
    assert [s["song_id"] for s in store.iter_pending("lyrics", only=only, page_size=4)] == ["3", "31", "50"]
    assert store.n_pending("lyrics", only=only) == 3
    assert [s["song_id"] for s in store.iter_pending("lyrics", only=only, retry_failed=True, page_size=4)] == [
        "3", "30", "31", "50"]
    # the limit counts the songs given, not the songs walked past
    assert [s["song_id"] for s in store.iter_pending("lyrics", only=only, limit=2, page_size=4)] == ["3", "31"]
    assert store.n_pending("lyrics", only=only, limit=2) == 2
    assert [s["song_id"] for s in store.iter_pending("lyrics", only=[3, 50], page_size=1)] == ["3", "50"]
    assert list(store.iter_pending("lyrics", only=set())) == [] and store.n_pending("lyrics", only=()) == 0
