"""The whole scrape through local fakes of Last.fm, Spotify, Genius and LRCLIB, via the CLI.

A clean run, a run with every fault type, and a run killed with SIGKILL and resumed must give
the same Parquet dataset.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from musemood.cli import main
from musemood.datasets import load_dataset
from musemood.sources import ScrapeStore
from musemood.text import clean_lyrics

from fakes.server import FakeService
from fakes.services import (SpotifyState, catalogue, genius_routes, lastfm_routes, lastfm_tags, lrclib_routes,
                            spotify_routes, write_wasabi_csv)

SONGS = catalogue()
KEYS = {"LASTFM_API_KEY": "lfm-key-0001", "SPOTIPY_CLIENT_ID": "sp-id-0002", "SPOTIPY_CLIENT_SECRET": "sp-secret-0003",
        "GENIUS_ACCESS_TOKEN": "genius-token-0004"}


@pytest.fixture
def fakes():
    state = SpotifyState()
    with contextlib.ExitStack() as stack:
        services = {
            "lastfm": stack.enter_context(FakeService(lastfm_routes(SONGS))),
            "spotify": stack.enter_context(FakeService(spotify_routes(SONGS, state))),
            "genius": stack.enter_context(FakeService(genius_routes(SONGS))),
            "lrclib": stack.enter_context(FakeService(lrclib_routes(SONGS))),
        }
        services["spotify"].state = state
        yield services


def environment(fakes, interval="0"):
    return {**KEYS, "MUSEMOOD_LASTFM_API_URL": fakes["lastfm"].url,
            "MUSEMOOD_SPOTIFY_API_URL": fakes["spotify"].url + "/v1/",
            "MUSEMOOD_SPOTIFY_TOKEN_URL": fakes["spotify"].url + "/api/token",
            "MUSEMOOD_GENIUS_API_URL": fakes["genius"].url, "MUSEMOOD_GENIUS_WEB_URL": fakes["genius"].url,
            "MUSEMOOD_LRCLIB_URL": fakes["lrclib"].url, "MUSEMOOD_SCRAPE_MIN_INTERVAL": interval}


@pytest.fixture
def wasabi(tmp_path):
    return write_wasabi_csv(tmp_path / "wasabi_songs.csv", SONGS)


def scrape_all(tmp_path, name, wasabi, extra=()):
    store, out = tmp_path / f"{name}.sqlite", tmp_path / f"{name}.parquet"
    code = main(["scrape", "all", "--store", str(store), "--songs", str(wasabi), "--out", str(out), *extra])
    assert code == 0
    full = tmp_path / f"{name}-all.parquet"
    assert main(["build-dataset", "--store", str(store), "--out", str(full), "--keep-unlabelled"]) == 0
    return load_dataset(out), load_dataset(full), ScrapeStore(store)


def test_clean_run_builds_the_labelled_dataset(fakes, wasabi, tmp_path, monkeypatch, capsys):
    for key, value in environment(fakes).items():
        monkeypatch.setenv(key, value)
    labelled, full, store = scrape_all(tmp_path, "clean", wasabi)
    printed = capsys.readouterr().out
    # WASABI: 13 songs + 4 rows to drop
    assert "17 rows read, 13 songs kept" in printed
    for reason in ("not English", "no Spotify id", "no Last.fm link", "duplicate"):
        assert reason in printed
    # the song nobody has is dropped, with reasons at each stage
    assert "w999" not in set(full["song_id"]) and len(full) == 12
    assert store.status("w999", "lastfm")["reason"] == "not on Last.fm"
    assert "no Genius hit" in store.status("w999", "lyrics")["reason"]
    assert "not on LRCLIB" in store.status("w999", "lyrics")["reason"]
    assert store.status("w999", "audio")["reason"] == "no audio features in any source"
    by_id = full.set_index("song_id")
    for song in SONGS[:12]:
        row = by_id.loc[song["song_id"]]
        assert row["lyrics"] == clean_lyrics(song["lyrics"])
        assert [(t, c) for t, c in row["tags"]] == [(t, float(c)) for t, c in lastfm_tags(song)]
    assert store.song("w001")["lyrics_source"] == "lrclib" and store.song("w002")["lyrics_source"] == "genius"
    assert store.song("w004")["tags"]  # found by MusicBrainz id
    assert np.isnan(by_id.loc["w005", "tempo"])  # Spotify has no features for it
    assert by_id.loc["w000", "tempo"] == pytest.approx(SONGS[0]["audio"]["tempo"])
    assert set(labelled["label"]) <= {"happy", "sad"} and labelled["label"].notna().all()
    assert set(labelled["song_id"]) <= set(full["song_id"]) and len(labelled) > 0
    assert set(labelled["split"]) <= {"train", "valid", "test"}
    assert "dataset:" in printed and "labels:" in printed
    # a second run asks nothing again
    before = {name: len(fake.requests) for name, fake in fakes.items()}
    scrape_all(tmp_path, "clean", wasabi)
    assert {name: len(fake.requests) for name, fake in fakes.items()} == before


def test_labelled_only_asks_for_the_labelled_songs_alone(fakes, wasabi, tmp_path, monkeypatch, capsys):
    """As the study did (lyrics for the 3,804 songs its rule labelled of 1.7 million): audio features and
    lyrics for the songs the rule labels, the same labelled dataset, and the others left pending for a
    later run."""
    for key, value in environment(fakes).items():
        monkeypatch.setenv(key, value)
    clean, _, _ = scrape_all(tmp_path, "clean", wasabi)
    asked = {name: len(fake.requests) for name, fake in fakes.items()}
    capsys.readouterr()
    few, _, store = scrape_all(tmp_path, "few", wasabi, ["--labelled-only"])
    printed = capsys.readouterr().out
    labelled = set(clean["song_id"])
    assert f"the rule labels {len(labelled)} of the 12 songs with tags" in printed
    assert f"left pending {13 - len(labelled)}: the rule does not label them" in printed  # w999 has no tags
    # the dataset's summary: those songs' lyrics are not missing, they are not needed
    written, written_all = printed.split("dataset: ")[1:]  # the labelled songs, then --keep-unlabelled
    assert f"dropped {12 - len(labelled)}: the rule does not label them (their lyrics, not scraped yet, are not " \
           "needed)" in written and "lyrics not scraped yet" not in written.replace("their lyrics, not scraped yet", "")
    assert f"dropped {12 - len(labelled)}: lyrics not scraped yet" in written_all  # those it writes need them
    pd.testing.assert_frame_equal(few, clean)  # splits included: each song's own
    for song in store.songs():
        if song["song_id"] in labelled:
            assert store.status(song["song_id"], "lyrics")["status"] == "done"
        elif song["song_id"] != "w999":  # no tags, so not labelled
            assert store.status(song["song_id"], "lyrics")["status"] == "pending"
            assert store.status(song["song_id"], "audio")["status"] == "pending"
    lyrics_asked = sum(len(fakes[n].requests) - asked[n] for n in ("genius", "lrclib"))
    assert 0 < lyrics_asked < asked["genius"] + asked["lrclib"]
    store.close()
    # the rest, later, without the option
    assert main(["scrape", "lyrics", "--store", str(tmp_path / "few.sqlite")]) == 0
    assert "lyrics: 12 done, 1 failed, 0 pending" in capsys.readouterr().out
    assert main(["scrape", "lastfm", "--store", str(tmp_path / "few.sqlite"), "--labelled-only"]) == 2
    assert "'scrape lastfm' asks for every song: drop the option" in capsys.readouterr().err
    # before the tags: nothing to ask for, and what to run
    assert main(["scrape", "wasabi", "--store", str(tmp_path / "new.sqlite"), "--songs", str(wasabi)]) == 0
    assert main(["scrape", "lyrics", "--store", str(tmp_path / "new.sqlite"), "--labelled-only"]) == 0
    printed = capsys.readouterr().out
    assert "labels 0 of the 0 songs with tags" in printed and "run `musemood scrape lastfm` first" in printed
    assert "lyrics: 0 done, 0 failed, 13 pending" in printed


def test_every_fault_type_ends_in_the_same_dataset(fakes, wasabi, tmp_path, monkeypatch):
    for key, value in environment(fakes).items():
        monkeypatch.setenv(key, value)
    clean, clean_full, _ = scrape_all(tmp_path, "clean", wasabi)
    for fake in fakes.values():
        fake.requests.clear()
    fakes["lastfm"].faults += [("status", 429, {"Retry-After": "1"}), ("status", 503, {}), ("malformed",),
                               ("slow", 0.3), ("status", 500, {})]
    fakes["spotify"].faults += [("status", 503, {}), ("status", 429, {"Retry-After": "1"}), ("malformed",),
                                ("status", 502, {})]
    # Genius: the first lyrics page comes in a changed layout (LRCLIB has the song), then 429/malformed/500
    fakes["genius"].faults += [("slow", 0.2), ("html_changed",), ("status", 429, {"Retry-After": "1"}),
                               ("malformed",), ("status", 500, {})]
    fakes["lrclib"].faults += [("status", 503, {}), ("malformed",), ("status", 429, {"Retry-After": "1"})]
    faulty, faulty_full, store = scrape_all(tmp_path, "faulty", wasabi)
    assert all(not fake.faults for fake in fakes.values())  # every fault was served
    pd.testing.assert_frame_equal(clean, faulty)
    pd.testing.assert_frame_equal(clean_full, faulty_full)
    assert store.song("w000")["lyrics_source"] == "lrclib"  # after the changed Genius page


def test_spotify_403_falls_back_to_a_features_table(fakes, wasabi, tmp_path, monkeypatch, capsys):
    for key, value in environment(fakes).items():
        monkeypatch.setenv(key, value)
    fakes["spotify"].state.forbid_audio_features = True
    table = tmp_path / "features.csv"
    pd.DataFrame([{"id": s["spotify_id"], **s["audio"]} for s in SONGS[:12]]).to_csv(table, index=False)
    _, full, store = scrape_all(tmp_path, "fallback", wasabi, ["--features-table", str(table)])
    assert "2024-11-27" in capsys.readouterr().out
    assert store.song("w005")["audio_source"] == "table"  # the table has what Spotify would not give
    assert full.set_index("song_id").loc["w005", "tempo"] == pytest.approx(SONGS[5]["audio"]["tempo"])


def test_killed_and_resumed_scrape_gives_the_same_dataset(fakes, wasabi, tmp_path, monkeypatch):
    env = environment(fakes)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    clean, clean_full, _ = scrape_all(tmp_path, "clean", wasabi)
    clean_requests = {name: len(fake.requests) for name, fake in fakes.items()}
    for fake in fakes.values():
        fake.requests.clear()
    store, out = tmp_path / "killed.sqlite", tmp_path / "killed.parquet"
    args = ["scrape", "all", "--store", str(store), "--songs", str(wasabi), "--out", str(out), "--workers", "1"]
    code = f"import sys; from musemood.cli import main; sys.exit(main({args!r}))"
    child = subprocess.Popen([sys.executable, "-c", code], cwd=os.path.dirname(__file__),
                             env={**os.environ, **environment(fakes, interval="0.05")},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(fakes["lastfm"].requests) < 6 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL and not out.exists()
    killed = ScrapeStore(store)
    finished = {s["song_id"] for s in killed.songs() if killed.status(s["song_id"], "lastfm")["status"] != "pending"}
    killed.close()
    assert 0 < len(finished) < len(SONGS)  # killed mid-way through the Last.fm stage
    n_before = len(fakes["lastfm"].requests)
    resumed, resumed_full, _ = scrape_all(tmp_path, "killed", wasabi)
    pd.testing.assert_frame_equal(clean, resumed)
    pd.testing.assert_frame_equal(clean_full, resumed_full)
    # no request that had succeeded (its song committed) is asked again after the restart
    names = {(s["artist"].lower(), t.lower()): s["song_id"]
             for s in SONGS for t in (s["title"], s["lastfm_title"] or "")}
    mbids = {s["mbid"]: s["song_id"] for s in SONGS if s["mbid"]}
    asked_again = {names.get((r["query"].get("artist", "").lower(), r["query"].get("track", "").lower()))
                   or mbids.get(r["query"].get("mbid")) for r in fakes["lastfm"].requests[n_before:]}
    assert not asked_again & finished
    assert len(fakes["lastfm"].requests) <= clean_requests["lastfm"] + 3  # at most the song in flight, again
    for name in ("spotify", "genius", "lrclib"):
        assert len(fakes[name].requests) == clean_requests[name]


def test_missing_credentials_are_a_clear_error(tmp_path, wasabi, monkeypatch, capsys):
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
    store = str(tmp_path / "s.sqlite")
    assert main(["scrape", "wasabi", "--store", store, "--songs", str(wasabi)]) == 0
    assert main(["scrape", "lastfm", "--store", store]) == 2
    assert "LASTFM_API_KEY" in capsys.readouterr().err
    assert main(["scrape", "spotify", "--store", store]) == 2
    assert "SPOTIPY_CLIENT_ID" in capsys.readouterr().err
    assert main(["scrape", "lyrics", "--store", store, "--lyrics-sources", "genius"]) == 2
    assert "GENIUS_ACCESS_TOKEN" in capsys.readouterr().err
    assert main(["scrape", "all", "--store", str(tmp_path / "empty.sqlite")]) == 2
    assert "--songs" in capsys.readouterr().err


@pytest.mark.slow
def test_example_goes_from_keys_to_a_trained_model(fakes, tmp_path):
    """examples/keys_to_model.py against the fakes (a bigger catalogue), with the packaged encoder."""
    songs = catalogue(n=120, seed=5)
    with contextlib.ExitStack() as stack:
        big = {"lastfm": stack.enter_context(FakeService(lastfm_routes(songs))),
               "spotify": stack.enter_context(FakeService(spotify_routes(songs))),
               "genius": stack.enter_context(FakeService(genius_routes(songs))),
               "lrclib": stack.enter_context(FakeService(lrclib_routes(songs)))}
        csv = write_wasabi_csv(tmp_path / "songs.csv", songs)
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        done = subprocess.run([sys.executable, os.path.join(root, "examples", "keys_to_model.py"), "--songs", str(csv),
                               "--workdir", str(tmp_path / "work"), "--epochs", "1", "--batch-size", "4"],
                              env={**os.environ, **environment(big)}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "tBERT accuracy on" in done.stdout and (tmp_path / "work" / "tbert").is_dir()
    assert "labels: happy" in done.stdout
