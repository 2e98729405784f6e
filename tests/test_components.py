"""Parts that compose: the model factory, injected encoders, one save format, fresh-process round trips."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import make_blobs

from musemood import schema
from musemood.classifiers import (
    FineTunedBertClassifier,
    SimpleBertClassifier,
    TBertClassifier,
    load_model,
    make_model,
)
from musemood.clustering import SongMap
from musemood.encoders import BertEncoder
from musemood.persistence import read_config

from test_classifiers import FAST, make_songs


def _fresh(code, *args):
    """Run ``code`` in a new Python process; returns what it printed as JSON."""
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------- the factory
def test_make_model_builds_each_model_and_drops_what_it_does_not_take(tiny_bert):
    common = dict(encoder=str(tiny_bert), epochs=3, n_topics=0, audio_columns=None, lora=True, mode="joint",
                  max_length=32)
    simple = make_model("simple", **common)
    assert type(simple) is SimpleBertClassifier and simple.epochs == 100  # fine-tuning epochs are not its own
    finetuned = make_model("finetuned", **common)
    assert type(finetuned) is FineTunedBertClassifier and finetuned.epochs == 3 and finetuned.lora
    tbert = make_model("tbert", **common)
    assert type(tbert) is TBertClassifier and tbert.n_topics is None and tbert.mode == "joint"
    assert make_model("tfidf").steps[-1][0] == "logisticregression"
    assert make_model("majority", objective="regression").steps[-1][0] == "dummyregressor"
    with pytest.raises(ValueError, match="unknown model 'bert'; choose from majority, tfidf"):
        make_model("bert")


# ------------------------------------------------------------- injected encoder
@pytest.fixture(scope="module")
def songs():
    (train, y), (test, y_test) = make_songs(120, 0, "text"), make_songs(40, 1, "text")
    return train, y, test, y_test


def test_an_encoder_object_is_used_not_changed(_tiny_bert_dir, songs):
    train, y, _, _ = songs
    encoder = BertEncoder(str(_tiny_bert_dir), max_length=32)
    before = {k: v.clone() for k, v in encoder.model_.state_dict().items()}
    model = FineTunedBertClassifier(encoder, epochs=1, batch_size=16, **{**FAST, "max_length": 64}).fit(train, y)
    after = encoder.model_.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # fine-tuned a copy
    assert model.encoder_ is not encoder and model.encoder_.max_length_ == 32  # the encoder's own settings
    frozen = SimpleBertClassifier(encoder, epochs=5, **FAST).fit(train, y)
    assert frozen.encoder_ is encoder


def test_tbert_on_a_fine_tuned_encoder_needs_no_folder_and_no_second_fine_tuning(_tiny_bert_dir, songs):
    train, y, test, y_test = songs
    params = dict(batch_size=16, learning_rate=2e-3, **FAST)
    ft = FineTunedBertClassifier(str(_tiny_bert_dir), epochs=2, **params).fit(train, y)
    weights = {k: v.clone() for k, v in ft.encoder_.model_.state_dict().items()}
    tbert = TBertClassifier(ft.encoder_, epochs=0, n_topics=None, head_epochs=20, hidden_size=8,
                            **params).fit(train, y)
    assert tbert.encoder_.model_ is ft.encoder_.model_  # the same weights, not reloaded
    assert all(torch.equal(weights[k], v) for k, v in ft.encoder_.model_.state_dict().items())
    np.testing.assert_allclose(tbert.embed(test, return_text_vectors=True)[1], ft.embed(test), rtol=1e-5)
    assert [r["stage"] for r in tbert.history_] == ["head"] * len(tbert.history_)
    on_model = TBertClassifier(ft, epochs=0, n_topics=None, head_epochs=20, hidden_size=8, **params).fit(train, y)
    assert on_model.encoder_ is ft.encoder_  # a fitted model works as well as its encoder
    np.testing.assert_allclose(on_model.predict_proba(test), tbert.predict_proba(test), rtol=1e-5)


def test_one_string_in_one_answer_out(_tiny_bert_dir, songs):
    train, y, test, _ = songs
    model = SimpleBertClassifier(str(_tiny_bert_dir), epochs=5, **FAST).fit(train, y)
    text = test[schema.LYRICS].iloc[0]
    assert model.predict(text) == model.predict([text])[0]
    np.testing.assert_allclose(model.predict_proba(text), model.predict_proba([text])[0])
    assert model.embed(text).shape == (32,)


def test_tbert_with_audio_answers_a_text_alone(_tiny_bert_dir, songs):
    train, y, test, _ = songs
    model = TBertClassifier(str(_tiny_bert_dir), epochs=1, n_topics=None, head_epochs=5, hidden_size=8,
                            batch_size=16, **FAST).fit(train, y)
    assert model.predict(test[schema.LYRICS].iloc[0]) in {"happy", "sad"}  # audio imputed with medians


# ---------------------------------------------------------------- persistence
def test_classifier_round_trip_in_a_fresh_process(_tiny_bert_dir, songs, tmp_path):
    train, y, test, _ = songs
    model = TBertClassifier(str(_tiny_bert_dir), epochs=1, n_topics=2, head_epochs=5, hidden_size=8, batch_size=16,
                            topic_params={"passes": 1, "evaluate": False, "max_df": 1.0}, **FAST).fit(train, y)
    folder = model.save(tmp_path / "tbert")
    config = read_config(folder, TBertClassifier)
    assert config["format"] == 2 and {"musemood", "torch", "transformers", "numpy"} <= set(config["versions"])
    for part in ("encoder", "topics", "audio"):
        assert read_config(folder / part)["format"] == 2
    test.to_parquet(tmp_path / "test.parquet")
    code = ("import sys, json, pandas as pd; from musemood.classifiers import load_model; "
            "m = load_model(sys.argv[1]); p = m.predict_proba(pd.read_parquet(sys.argv[2])); "
            "print(json.dumps(p.tolist()))")
    fresh = np.asarray(_fresh(code, folder, tmp_path / "test.parquet"))
    np.testing.assert_allclose(fresh, model.predict_proba(test), atol=1e-5)
    assert type(load_model(folder)) is TBertClassifier


def test_a_format_1_classifier_folder_still_loads(_tiny_bert_dir, songs, tmp_path):
    train, y, test, _ = songs
    model = SimpleBertClassifier(str(_tiny_bert_dir), epochs=5, **FAST).fit(train, y)
    folder = model.save(tmp_path / "m")
    # rewrite it as musemood 0.1.0.dev0 wrote it before components: a plain HF encoder folder, old names
    hf = folder / "encoder" / "transformer"
    for item in hf.iterdir():
        item.rename(folder / "encoder" / item.name)
    hf.rmdir()
    config = json.loads((folder / "config.json").read_text())
    del config["format"]
    config["params"]["model_name_or_path"] = config["params"].pop("encoder")
    config["params"]["verbose"] = config["params"].pop("show_progress_bar")
    config["params"]["stride"] = 8
    (folder / "config.json").write_text(json.dumps(config))
    np.testing.assert_allclose(load_model(folder).predict_proba(test), model.predict_proba(test), atol=1e-6)


def test_read_config_names_the_file_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        read_config(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="holds no config.json"):
        read_config(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"config.json is not valid JSON"):
        read_config(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"format": 2, "class": "SongMap"}))
    with pytest.raises(ValueError, match="holds a SongMap, not a BertEncoder$"):
        BertEncoder.load(tmp_path)
    (tmp_path / "inner").mkdir()  # a part that holds the one asked for (a recommender's model/)
    (tmp_path / "inner" / "config.json").write_text(json.dumps({"format": 2, "class": "BertEncoder"}))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text("[not an object]")
    with pytest.raises(ValueError, match=f"holds a SongMap, not a BertEncoder; the BertEncoder inside it is "
                                         f"{tmp_path / 'inner'}: give that folder"):
        BertEncoder.load(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"format": 9, "class": "SongMap"}))
    with pytest.raises(ValueError, match="save format 9"):
        SongMap.load(tmp_path)


# ------------------------------------------------------------------- song map
@pytest.fixture(scope="module")
def blob_map():
    X, y = make_blobs(400, n_features=60, centers=4, cluster_std=1.0, random_state=0)
    return X.astype(np.float32), SongMap(k_range=(2, 6), pca_components=20).fit(X.astype(np.float32))


def test_song_map_places_new_songs_in_their_clusters(blob_map):
    X, song_map = blob_map
    assert (song_map.predict(X) == song_map.labels_).mean() > 0.97
    np.testing.assert_allclose(song_map.transform(X[:20]), song_map.embedding_[:20], atol=1e-3)  # a fitted song
    noisy = X[:50] + 0.05 * np.random.default_rng(0).standard_normal(X[:50].shape).astype(np.float32)
    assert (song_map.predict(noisy) == song_map.labels_[:50]).mean() > 0.95
    with pytest.raises(ValueError, match="60-dimensional"):
        song_map.transform(X[:2, :10])


def test_song_map_round_trip_in_a_fresh_process(blob_map, tmp_path):
    X, song_map = blob_map
    folder = song_map.save(tmp_path / "map")
    assert not list(folder.glob("*.pkl")) and read_config(folder, SongMap)["n_clusters_"] == song_map.n_clusters_
    new = X[:30] + 0.1
    np.save(tmp_path / "new.npy", new)
    code = ("import sys, json, numpy as np; from musemood.clustering import SongMap; m = SongMap.load(sys.argv[1]); "
            "x = np.load(sys.argv[2]); print(json.dumps([m.transform(x).tolist(), m.predict(x).tolist(), "
            "m.labels_.tolist(), m.map_2d_.tolist()]))")
    placed, labels, fitted_labels, map_2d = _fresh(code, folder, tmp_path / "new.npy")
    np.testing.assert_allclose(placed, song_map.transform(new), atol=1e-5)
    assert labels == song_map.predict(new).tolist()
    assert fitted_labels == song_map.labels_.tolist()
    np.testing.assert_allclose(map_2d, song_map.map_2d_)
    loaded = SongMap.load(folder)
    pd.testing.assert_frame_equal(loaded.sweep_, song_map.sweep_, check_dtype=False)
    assert (loaded.choice_, loaded.elbow_) == (song_map.choice_, song_map.elbow_)


# ---------------------------------------------------------------- recommender
@pytest.fixture(scope="module")
def small_recommender(_tiny_bert_dir):
    from musemood.datasets import drop_duplicate_songs, load_demo
    from musemood.recommender import Recommender

    df = drop_duplicate_songs(load_demo(300, random_state=0)).reset_index(drop=True)
    return df, Recommender(n_candidates=40).fit(df, BertEncoder(str(_tiny_bert_dir), max_length=32))


def test_recommender_round_trip_in_a_fresh_process(small_recommender, tmp_path):
    from musemood.recommender import Recommender

    df, rec = small_recommender
    folder = rec.save(tmp_path / "rec")
    for part in ("catalogue", "retriever", "retriever/lexical", "retriever/vectors", "map", "model"):
        assert read_config(folder / part)["format"] == 2, part
    title, artist = df.loc[5, "title"], df.loc[5, "artist"]
    code = ("import sys, json; from musemood.recommender import Recommender; r = Recommender.load(sys.argv[1]); "
            "a = r.recommend(sys.argv[2], 5, artist=sys.argv[3]); b = r.recommend(text='rain on the window', "
            "top_k=5); e = r.evaluate(top_k=5); print(json.dumps([a[['title', 'score']].values.tolist(), "
            "b[['title', 'score']].values.tolist(), e.iloc[:, 1].tolist()]))")
    by_title, by_text, evaluation = _fresh(code, folder, title, artist)
    expected = rec.recommend(title, 5, artist=artist)
    assert [t for t, _ in by_title] == expected["title"].tolist()
    np.testing.assert_allclose([s for _, s in by_title], expected["score"], rtol=1e-5)
    assert [t for t, _ in by_text] == rec.recommend(text="rain on the window", top_k=5)["title"].tolist()
    np.testing.assert_allclose(evaluation, rec.evaluate(top_k=5).iloc[:, 1], rtol=1e-6)
    loaded = Recommender.load(folder)
    assert (loaded.map_.predict(rec.vectors_[:10]) == rec.map_.labels_[:10]).all()


def test_recommend_many_answers_each_query_in_order(small_recommender):
    df, rec = small_recommender
    queries = [df.loc[1, "title"], (df.loc[2, "title"], df.loc[2, "artist"]), {"text": "dancing in the sun"}]
    many = rec.recommend_many(queries, top_k=3)
    assert len(many) == 3 and all(len(r) == 3 for r in many)
    pd.testing.assert_frame_equal(many[1], rec.recommend(df.loc[2, "title"], 3, artist=df.loc[2, "artist"]))
    assert many[2].attrs["query"]["text"] == "dancing in the sun"
    as_list = rec.recommend_many([[df.loc[2, "title"], df.loc[2, "artist"]]], top_k=3)  # a pair from JSON: a list
    pd.testing.assert_frame_equal(as_list[0], many[1])


def test_recommender_parts_stay_small():
    import ast
    import inspect

    import musemood.catalogue
    import musemood.ranking
    import musemood.recommender
    import musemood.rerank

    for module in (musemood.recommender, musemood.catalogue, musemood.ranking, musemood.rerank):
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            size = node.end_lineno - node.lineno + 1 if hasattr(node, "end_lineno") else 0
            if isinstance(node, ast.ClassDef):
                assert size <= 330, f"{module.__name__}.{node.name} has {size} lines"
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert size <= 80, f"{module.__name__}.{node.name} has {size} lines"


# ------------------------------------------------------------ labels, sources
def test_one_labelling_path_splits_every_song_before_filtering():
    from musemood.datasets import load_demo
    from musemood.labels import assign_moods, attach_labels

    df = load_demo(200, random_state=0, label=False).drop(columns=[schema.SPLIT])
    result = assign_moods(df)
    plain = attach_labels(df, result)
    assert schema.SPLIT not in plain.columns and plain[schema.LABEL].notna().sum() > 10
    split = attach_labels(df, result, split=True, random_state=3)
    assert set(split[schema.SPLIT]) == {"train", "valid", "test"}
    again = attach_labels(df, result, split=True, random_state=3)
    assert (split[schema.SPLIT] == again[schema.SPLIT]).all()


def test_lyrics_clients_share_one_interface():
    from musemood.sources import AudioFeatureSource, LyricsSource
    from musemood.sources.audio import FeatureTable
    from musemood.sources.genius import GeniusClient
    from musemood.sources.lrclib import LrclibClient

    assert isinstance(LrclibClient("http://127.0.0.1:9"), LyricsSource)
    assert isinstance(GeniusClient("token"), LyricsSource)
    assert LrclibClient("http://127.0.0.1:9", threshold=75).threshold == 75
    assert hasattr(FeatureTable, "get") and AudioFeatureSource is not None


# ------------------------------------------------------------------ pipeline
def test_run_demo_returns_the_objects_it_made(_tiny_bert_dir, tmp_path):
    from musemood.evaluation import Comparison
    from musemood.pipeline import DemoResult, run_demo
    from musemood.recommender import Recommender

    lines = []
    result = run_demo(300, out_dir=tmp_path / "demo", models=("majority", "tfidf"), encoder=str(_tiny_bert_dir),
                      max_length=32, recommender_path=tmp_path / "rec", callback=lines.append)
    assert isinstance(result, DemoResult) and len(result.corpus) == 300
    assert {"label", "label_reason", "split"} <= set(result.corpus.columns)
    assert isinstance(result.comparison, Comparison) and len(lines) == 2
    assert isinstance(result.recommender, Recommender) and len(result.queries)
    assert (tmp_path / "demo" / "demo.parquet").exists() and (tmp_path / "demo" / "compare" / "table.md").exists()
    assert (tmp_path / "demo" / "map" / "map_mood.png").exists()
    again = Recommender.load(tmp_path / "rec")
    song = result.recommender.catalogue_.songs_.iloc[0]
    assert again.recommend(song["title"], 3, artist=song["artist"])["title"].tolist() == \
        result.recommender.recommend(song["title"], 3, artist=song["artist"])["title"].tolist()
    only_labels = run_demo(100, out_dir=tmp_path / "labels-only", models=())
    assert only_labels.comparison is None and only_labels.recommender is None


def test_a_mistyped_recommender_path_is_an_error_not_a_new_demo(tmp_path, capsys):
    from musemood.cli import main

    for argv in (["recommend", "Any Title"], ["map"], ["evaluate-recommender"]):
        assert main([*argv, "--recommender", str(tmp_path / "typo")]) == 2
        err = capsys.readouterr().err
        assert "holds no saved recommender" in err and "check the path" in err
        assert not (tmp_path / "typo").exists()


def test_an_old_recommender_folder_says_to_save_it_again(tmp_path, monkeypatch):
    from musemood.recommender import Recommender, get_recommender

    old = tmp_path / "recommender"
    old.mkdir()
    (old / "recommender.json").write_text(json.dumps({"format": 1}))
    with pytest.raises(ValueError, match="older musemood .*run `musemood demo` again"):
        Recommender.load(old)
    monkeypatch.setenv("MUSEMOOD_HOME", str(tmp_path))
    with pytest.raises(ValueError, match="format 1"):  # not silently rebuilt over the old files
        get_recommender()


def test_catalogue_search_for_autocomplete(small_recommender):
    df, rec = small_recommender
    title, artist = df.loc[7, "title"], df.loc[7, "artist"]
    found = rec.catalogue_.search(title[:-1], top_k=5)  # a title typed halfway
    assert list(found.columns) == ["row", "title", "artist", "score"] and len(found) == 5
    assert 7 in found["row"].tolist() or title in found["title"].tolist()
    assert rec.catalogue_.search("", top_k=5).empty
    assert artist in rec.catalogue_.search(f"{title} {artist}", top_k=1)["artist"].tolist()


# ----------------------------------------------------------- saved-state checks
def test_a_truncated_changed_or_missing_file_is_reported_by_name(blob_map, _tiny_bert_dir, songs, tmp_path):
    X, song_map = blob_map
    folder = song_map.save(tmp_path / "map")
    labels = folder / "labels.npy"
    data = labels.read_bytes()
    labels.write_bytes(data[:-8])  # truncated
    with pytest.raises(ValueError, match=r"labels\.npy has .* bytes where .*config\.json records .*truncated"):
        SongMap.load(folder)
    labels.write_bytes(data[:-8] + b"\x00" * 8)  # same size, other bytes
    with pytest.raises(ValueError, match=r"labels\.npy does not match the checksum"):
        SongMap.load(folder)
    labels.unlink()
    with pytest.raises(FileNotFoundError, match=r"labels\.npy is missing"):
        SongMap.load(folder)

    train, y, _, _ = songs
    model = SimpleBertClassifier(str(_tiny_bert_dir), epochs=2, **FAST).fit(train, y)
    saved = model.save(tmp_path / "model")
    (saved / "encoder" / "transformer" / "tokenizer.json").unlink()  # once loaded as all-[UNK], silently
    with pytest.raises(FileNotFoundError, match=r"transformer/tokenizer\.json is missing"):
        load_model(saved)
    head = saved / "head.safetensors"
    head.write_bytes(head.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"head\.safetensors has 100 bytes"):
        load_model(saved)


def test_saving_again_into_the_same_folder_keeps_it_loadable(blob_map, tmp_path):
    _, song_map = blob_map
    song_map.save(tmp_path / "map")
    song_map.save(tmp_path / "map")
    assert not (tmp_path / "map" / "config.json.tmp").exists()
    np.testing.assert_array_equal(SongMap.load(tmp_path / "map").labels_, song_map.labels_)


# ------------------------------------------------------------ bad input (issue 11)
def test_bad_inputs_get_clear_errors(_tiny_bert_dir, songs, small_recommender):
    from musemood.features import AudioFeatureEncoder
    from musemood.recommender import Recommender

    train, y, _, _ = songs
    bad = train.assign(**{schema.SONG_ID: [f"s{i}" for i in range(len(train))]})
    bad.loc[bad.index[5], schema.TEMPO] = np.inf
    with pytest.raises(ValueError, match=r"audio column 'tempo' holds inf at row 5 \(song_id 's5'\).*finite"):
        AudioFeatureEncoder().fit(bad)
    bad[schema.TEMPO] = bad[schema.TEMPO].astype(object)
    bad.loc[bad.index[5], schema.TEMPO] = "fast"
    with pytest.raises(ValueError, match=r"'tempo' holds 'fast' at row 5"):
        TBertClassifier(str(_tiny_bert_dir), epochs=0, n_topics=None, **FAST).fit(bad, y)

    model = SimpleBertClassifier(str(_tiny_bert_dir), epochs=2, **FAST).fit(train, y)
    with pytest.raises(ValueError, match="no songs to predict"):
        model.predict([])

    df, rec = small_recommender
    for top_k in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="top_k must be a positive whole number"):
            rec.recommend(df.loc[1, "title"], top_k, artist=df.loc[1, "artist"])
    for weights in ({"lexical": float("nan")}, {"lexical": 2}, {"cluster": -1}, {"lexical": "x"}, {"lex": 0.5}):
        with pytest.raises(ValueError, match="weight"):
            Recommender(song_map=None, weights=weights).fit(df.head(30), vectors=np.eye(30, 8))


def test_cli_never_shows_a_traceback(monkeypatch, capsys):
    import musemood.cli as cli

    def boom(args):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(cli._parser, "_label", boom)  # the handler the parser gives `label`
    assert cli.main(["label", "x.parquet"]) == 1
    err = capsys.readouterr().err
    assert "error: RuntimeError: the disk is full" in err and "-v" in err and "Traceback" not in err
    assert cli.main(["label", "x.parquet", "-v"]) == 1  # -v: the traceback too, same exit code
    assert "Traceback" in capsys.readouterr().err


def test_a_recommender_folder_mixing_parts_is_reported(small_recommender, tmp_path):
    import shutil

    from musemood.recommender import Recommender

    df, rec = small_recommender
    rec.save(tmp_path / "a")
    other = Recommender(song_map=None, n_candidates=10).fit(df.head(40), vectors=np.eye(40, 8))
    other.save(tmp_path / "b")
    shutil.rmtree(tmp_path / "a" / "retriever")
    shutil.copytree(tmp_path / "b" / "retriever", tmp_path / "a" / "retriever")  # each part intact on its own
    with pytest.raises(ValueError, match=r"vectors\.npy has 40 songs but .*catalogue has .*mixes parts"):
        Recommender.load(tmp_path / "a")


def test_eight_threads_first_free_text_queries_load_the_model_once(small_recommender, tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    import musemood.embedding as embedding
    from musemood.recommender import Recommender

    _, rec = small_recommender
    loaded = Recommender.load(rec.save(tmp_path / "rec"))
    calls = []
    real = embedding.load_embedding_model

    def counting(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(embedding, "load_embedding_model", counting)
    texts = [f"rain on the window {i}" for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda t: loaded.recommend(text=t, top_k=3), texts))
    assert len(calls) == 1 and all(len(r) == 3 for r in results)
    expected = rec.recommend(text=texts[0], top_k=3)
    assert results[0]["title"].tolist() == expected["title"].tolist()


def test_a_mistyped_scrape_store_is_an_error_not_an_empty_dataset(tmp_path, capsys, monkeypatch):
    from musemood.cli import main

    monkeypatch.setenv("MUSEMOOD_HOME", str(tmp_path))
    typo = tmp_path / "typo.sqlite"
    for argv in (["build-dataset", "--store", str(typo), "--out", str(tmp_path / "d.parquet")],
                 ["scrape", "lyrics", "--store", str(typo)], ["build-dataset"]):
        assert main(argv) == 2
        assert "no scrape store at" in capsys.readouterr().err
    assert not typo.exists() and not (tmp_path / "d.parquet").exists()
