"""The quick scripts under ``benchmarks/`` still run against today's code, on tiny sizes.

A benchmark is run by hand, seldom, and against an API that keeps moving; one that no longer starts is
found only when its numbers are needed.  These runs check that each script starts, measures its
contenders and prints its table with the peer it is compared to; the sizes are far too small for the
figures to mean anything, and nothing here looks at them.  The benchmarks that need the real encoder,
a server, a browser or minutes of training are left to be run by hand (see docs/benchmarks.md).
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent

QUICK = {  # script, its tiny arguments, and lines its output must hold
    "lexical": (["--sizes", "2000", "--queries", "20", "--terms", "3000"],
                ["| songs | mood filter | way |", "| 2,000 | none | compiled |",
                 "| 2,000 | one mood | scipy product |", "| index | terms | kept vectorizer p50 (ms) |",
                 "| 30 songs of 100 words of their own | 3,000 |"]),
    "recommend": (["--sizes", "500", "--queries", "5", "--map-size", "0"],
                  ["exact NumPy top-10 p50 (ms)", "| 500 | exact |"]),
    "vector_index": (["--size", "2000", "--queries", "20"],
                     ["| IVF-Flat | nprobe 16 |", "| HNSW, efConstruction 128 | efSearch 64 |", "exact p50 (ms)"]),
    "ann": (["--sizes", "2000", "--queries", "20", "--contenders", "exact,faiss"],
            ["| 2,000 | exact | - |", "| peer |", "| 2,000 | faiss | 32 |", "- 2,000 faiss: "]),
    "demo_ceiling": (["--n-songs", "300"], ["| all labelled songs | 99 |", "| learning-curve demo test |"]),
    "queue_jitter": (["--processes", "1", "--seconds", "1"], ["| 1 | ", "peer, shuffled"]),
    "catalogue_vectors": (["--songs", "3000", "--again", "200", "--dim", "8", "--part-size", "500"],
                          ["| catalogue_vectors |", "| load whole, pick rows |", "same vectors: True"]),
    "song_search": (["--sizes", "60000", "--queries", "5"],  # just above the catalogue's trigram index threshold
                    ["| 60,000 | ", "| typo |", "| unknown title |", "full p50 / index p50"]),
    "embed_skip": (["--known", "2000", "--part-size", "200", "--sample", "4"],
                   ["| check a part by id and lyrics fingerprint |", "| check a part by id alone (before) |",
                    "| embed the part (all-MiniLM-L6-v2,"]),
}


def run(script, *args):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / f"{script}.py"), *args], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return done


@pytest.mark.parametrize("script", sorted(QUICK))
def test_quick_benchmark_prints_its_table(script):
    args, lines = QUICK[script]
    out = run(script, *args).stdout
    for line in lines:
        assert line in out, f"{script}.py printed no {line!r}:\n{out[-3000:]}"


def test_the_playlist_benchmark_prints_its_table(_tiny_bert_dir):
    out = run("playlist", "--n-songs", "300", "--sizes", "2", "--playlists", "5", "--scale", "3000",
              "--scale-sizes", "1,3", "--encoder", str(_tiny_bert_dir)).stdout
    for line in ("| 2 | each song alone, interleaved (peer) |", "| 2 | recommend(songs=playlist) |",
                 "- 2 songs: recommend(songs=) shares the playlist's theme and mood ", "| 3,000 | 3 | "):
        assert line in out, out[-3000:]


def test_every_benchmark_starts():
    """Each script's imports and arguments still hold, the slow ones included."""
    scripts = sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py") if not p.stem.startswith("_"))
    assert set(QUICK) <= set(scripts)
    for script in scripts:
        assert "usage:" in run(script, "--help").stdout


def test_ann_skips_a_library_that_is_not_installed():
    """hnswlib and usearch come with the bench extra only: without them the others are measured, and the user
    is told why a library is missing (it used to end in a CalledProcessError from the child process)."""
    done = run("ann", "--sizes", "1000", "--queries", "10", "--contenders", "exact,hnswlib")
    assert "| 1,000 | exact | - |" in done.stdout
    try:
        import hnswlib  # noqa: F401
    except ImportError:
        assert "skipping hnswlib: not installed here (pip install -e '.[bench]'" in done.stderr
        assert "| hnswlib |" not in done.stdout
    else:
        assert "| 1,000 | hnswlib | 32 |" in done.stdout


def test_ann_refuses_an_unknown_library():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ann.py"), "--contenders", "exact,annoy"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2
    assert "unknown --contenders annoy: choose among exact, faiss, hnswlib, usearch" in done.stderr


def test_the_playlist_weights_benchmark_prints_its_table(tmp_path):
    from musemood.datasets import drop_duplicate_songs, load_demo
    from musemood.recommender import Recommender

    df = drop_duplicate_songs(load_demo(300, random_state=0)).reset_index(drop=True)
    vectors = np.random.default_rng(0).normal(size=(len(df), 8)).astype(np.float32)
    Recommender(song_map=None).fit(df, vectors=vectors).save(tmp_path / "rec")
    out = run("playlist_weights", "--recommender", str(tmp_path / "rec"), "--sizes", "1,3", "--playlists", "4").stdout
    rows = [line.split(" | ") for line in out.splitlines() if line.startswith(("| tuning |", "| evaluation |"))]
    assert [(row[0], row[1]) for row in rows] == [("| tuning", "1"), ("| tuning", "3"), ("| evaluation", "1"),
                                                  ("| evaluation", "3")], out
    assert all(float(row[5]) >= float(row[3]) for row in rows)  # the tuned weight is among those tried
