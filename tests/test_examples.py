"""The scripts under ``examples/`` run, on small settings, as a reader would start them.

(``examples/keys_to_model.py`` runs against the fake APIs in ``test_scrape.py``.)  The two on real
text read ``../shared/data`` beside the repository and are skipped where it is absent (a user's clone).
"""

import subprocess
import sys
from pathlib import Path

import pytest

from musemood.datasets import load_demo, save_dataset

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"


def run(script, *args, timeout=600):
    done = subprocess.run([sys.executable, str(ROOT / "examples" / script), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "Loading weights" not in done.stderr
    return done.stdout


def test_demo_baseline():
    out = run("demo_baseline.py", "--n-songs", 600, "--seeds", 2)
    assert "TF-IDF + logistic regression: 0." in out and "± 0." in out
    one = run("demo_baseline.py", "--n-songs", 600, "--seeds", 1)
    assert "nan" not in one and "(one seed" in one


def test_recommender_on_a_catalogue_file(tmp_path, _tiny_bert_dir):
    songs = save_dataset(load_demo(240, random_state=0), tmp_path / "songs.parquet")
    out = run("recommender.py", songs, "--model", _tiny_bert_dir, "--save", tmp_path / "rec")
    assert "precision@10" in out and "tuned rerank" in out and "shared keywords" in out
    assert f"saved to {tmp_path / 'rec'}" in out and (tmp_path / "rec" / "plots" / "map_mood.png").exists()


def test_a_growing_catalogue_embeds_only_what_changed(tmp_path, _tiny_bert_dir):
    import pandas as pd

    from musemood.recommender import Recommender

    demo = load_demo(130, random_state=0)
    save_dataset(demo.iloc[:100], tmp_path / "songs.parquet")
    args = ["--vectors", tmp_path / "vectors", "--recommender", tmp_path / "rec", "--model", _tiny_bert_dir]
    out = run("growing_catalogue.py", tmp_path / "songs.parquet", *args)
    assert "0001: 100 songs embedded" in out and "100 songs from 1 vectors folder(s)" in out
    grown = demo.copy()
    grown.loc[3, "lyrics"] = "a corrected verse\nand a corrected chorus"
    save_dataset(grown, tmp_path / "songs.parquet")
    out = run("growing_catalogue.py", tmp_path / "songs.parquet", *args)
    assert "0002: 31 songs embedded (1 of them because their lyrics changed), 99 already in 1" in out, out
    assert "130 songs from 2 vectors folder(s)" in out
    rec = Recommender.load(tmp_path / "rec")
    assert len(rec.catalogue_.songs_) == 130
    out = run("growing_catalogue.py", tmp_path / "songs.parquet", *args)
    assert "nothing changed" in out and not (tmp_path / "vectors" / "0003").exists()
    assert pd.read_parquet(tmp_path / "vectors" / "0002" / "part-00000.parquet").shape[0] == 31


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "poem-sentiment").is_dir(), reason="../shared/data/poem-sentiment is absent")
def test_poem_sentiment():
    out = run("poem_sentiment.py", "--seeds", 1, "--epochs", 1)
    assert "359 verses" in out and "| Fine-tuned BERT | 0." in out


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "goemotions-ekman").is_dir(), reason="../shared/data/goemotions-ekman is absent")
def test_goemotions():
    out = run("goemotions.py", "--n", 400, "--seeds", 1, "--epochs", 1, "--models", "majority,tfidf,simple")
    assert "400 comments" in out and "| Simple BERT | 0." in out and "macro-F1" in out
