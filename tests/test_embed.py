"""musemood embed: vectors of a whole catalogue in resumable Parquet parts."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from musemood.cli import main
from musemood.datasets import load_demo
from musemood.embed import MANIFEST, embed_dataset, load_vectors
from musemood.encoders import BertEncoder
from musemood.text import clean_lyrics


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    df = load_demo(130, random_state=0)[["song_id", "title", "artist", "lyrics"]].reset_index(drop=True)
    df.loc[4, "lyrics"] = None  # embedded as an empty text; the recommender refuses it (map --drop-missing)
    path = tmp_path_factory.mktemp("embed") / "songs.parquet"
    df.to_parquet(path, index=False)
    return df, path


@pytest.fixture(scope="module")
def encoder(_tiny_bert_dir):
    return BertEncoder(str(_tiny_bert_dir), max_length=32, stride=8)


@pytest.fixture(scope="module")
def reference(songs, encoder):
    df, _ = songs
    return encoder.encode([clean_lyrics(t) if isinstance(t, str) else "" for t in df["lyrics"]], batch_size=16)


def test_parts_hold_every_song_once_with_the_encoders_vectors(songs, encoder, reference, tmp_path):
    df, path = songs
    result = embed_dataset(path, tmp_path / "v", encoder, part_size=25, show_progress_bar=False)
    assert (result.songs, result.parts, result.written, result.skipped, result.dim) == (130, 6, 6, 0, 32)
    assert sorted(p.name for p in (tmp_path / "v").iterdir()) == [MANIFEST] + [f"part-{i:05d}.parquet"
                                                                             for i in range(6)]
    ids, vectors = load_vectors(tmp_path / "v")
    assert ids.tolist() == df["song_id"].tolist() and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, reference, rtol=1e-4, atol=1e-5)
    part = pq.read_table(tmp_path / "v" / "part-00001.parquet")
    assert part.column_names == ["song_id", "vector", "text_hash"] and part.num_rows == 25
    again = embed_dataset(path, tmp_path / "v", encoder, part_size=25, show_progress_bar=False)
    assert (again.written, again.skipped) == (0, 6)  # a finished run is not computed twice



def test_the_songs_without_lyrics_are_counted_and_the_command_says_what_map_will_ask(songs, encoder, tmp_path,
                                                                                     capsys):
    """An empty text, a missing one and a mark alone are embedded as the empty text, and counted: on the parts
    written, so that a resumed run (even by Ray actors) counts every part; ``map`` later refuses them."""
    df, _ = songs
    small = df.iloc[:40].copy()
    small.loc[[7, 25], "lyrics"] = ["", "[Instrumental]"]
    small.loc[33, "lyrics"] = None  # and song 4's are missing already
    small.to_parquet(tmp_path / "small.parquet", index=False)
    result = embed_dataset(tmp_path / "small.parquet", tmp_path / "v", encoder, part_size=20, show_progress_bar=False)
    assert result.without_lyrics == 4
    again = embed_dataset(tmp_path / "small.parquet", tmp_path / "v", encoder, part_size=20, show_progress_bar=False)
    assert (again.skipped, again.without_lyrics) == (2, 4)  # read from the parts written before
    table = pq.read_table(tmp_path / "v" / "part-00000.parquet")  # a part from before the count: unknown
    meta = json.loads(table.schema.metadata[b"musemood.embed"])
    del meta["without_lyrics"]
    pq.write_table(table.replace_schema_metadata({"musemood.embed": json.dumps(meta)}),
                   tmp_path / "v" / "part-00000.parquet")
    assert embed_dataset(tmp_path / "small.parquet", tmp_path / "v", encoder, part_size=20,
                         show_progress_bar=False).without_lyrics is None
    assert main(["embed", str(tmp_path / "small.parquet"), "--out", str(tmp_path / "w"), "--model",
                 encoder.model_name_or_path, "--max-length", "32"]) == 0
    printed = capsys.readouterr().out
    assert "4 of them have no lyrics in 'lyrics' (empty, or only a mark such as [Instrumental])" in printed
    assert "musemood map --drop-missing" in printed
    small.loc[[4, 7, 25, 33], "lyrics"] = "words to sing"
    small.to_parquet(tmp_path / "full.parquet", index=False)
    assert main(["embed", str(tmp_path / "full.parquet"), "--out", str(tmp_path / "x"), "--model",
                 encoder.model_name_or_path, "--max-length", "32"]) == 0
    assert "no lyrics" not in capsys.readouterr().out

def test_a_folder_of_parts_reads_like_one_file(songs, encoder, reference, tmp_path):
    df, _ = songs
    folder = tmp_path / "lake"
    folder.mkdir()
    for i, chunk in enumerate(np.array_split(np.arange(len(df)), 3)):
        df.iloc[chunk].to_parquet(folder / f"chunk-{i}.parquet", index=False)
    embed_dataset(folder, tmp_path / "v", encoder, part_size=40, show_progress_bar=False)
    ids, vectors = load_vectors(tmp_path / "v")
    assert ids.tolist() == df["song_id"].tolist()
    np.testing.assert_allclose(vectors, reference, rtol=1e-4, atol=1e-5)


def test_a_killed_run_resumes_with_nothing_lost_or_repeated(songs, encoder, reference, tmp_path, _tiny_bert_dir):
    _, path = songs
    out = tmp_path / "v"
    # the process dies while writing its fourth part: three parts whole, the fourth a temporary file
    script = textwrap.dedent(f"""
        import os
        import musemood.embed._job as job
        from musemood.embed import embed_dataset
        from musemood.encoders import BertEncoder
        write, calls = job._write_part, []
        def dying(out, i, ids, vectors, manifest, *rest, **named):
            calls.append(i)
            if len(calls) == 4:
                (out / f"part-{{i:05d}}.parquet.tmp").write_bytes(b"PAR1 half a part")
                os._exit(9)
            write(out, i, ids, vectors, manifest, *rest, **named)
        job._write_part = dying
        embed_dataset({str(path)!r}, {str(out)!r}, BertEncoder({str(_tiny_bert_dir)!r}, max_length=32, stride=8),
                      part_size=20, show_progress_bar=False)
    """)
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert killed.returncode == 9, killed.stderr
    assert len(list(out.glob("part-*.parquet"))) == 3
    with pytest.raises(ValueError, match="part-00003.parquet is missing"):
        load_vectors(out)
    resumed = embed_dataset(path, out, encoder, part_size=20, show_progress_bar=False)
    assert (resumed.skipped, resumed.written, resumed.without_lyrics) == (3, 4, 1)  # song 4, in a part from before
    assert not list(out.glob("*.tmp"))
    ids, vectors = load_vectors(out)
    assert len(ids) == len(set(ids)) == 130
    np.testing.assert_allclose(vectors, reference, rtol=1e-4, atol=1e-5)


def test_another_model_or_input_is_refused_not_mixed(songs, encoder, tmp_path, _tiny_bert_dir):
    df, path = songs
    out = tmp_path / "v"
    embed_dataset(path, out, encoder, part_size=50, show_progress_bar=False)
    other = BertEncoder(str(_tiny_bert_dir), max_length=16, stride=4)
    with pytest.raises(ValueError, match="another run \\(model differs"):
        embed_dataset(path, out, other, part_size=50, show_progress_bar=False)
    with pytest.raises(ValueError, match="part_size differs"):
        embed_dataset(path, out, encoder, part_size=40, show_progress_bar=False)
    changed = tmp_path / "changed.parquet"
    df.iloc[::-1].to_parquet(changed, index=False)
    with pytest.raises(ValueError, match="source differs"):
        embed_dataset(changed, out, encoder, part_size=50, show_progress_bar=False)
    # the same file rewritten with its songs in another order: the stored parts no longer match its rows
    out2 = tmp_path / "v2"
    embed_dataset(changed, out2, encoder, part_size=50, show_progress_bar=False)
    df.to_parquet(changed, index=False)
    with pytest.raises(ValueError, match="the input changed since it was written"):
        embed_dataset(changed, out2, encoder, part_size=50, show_progress_bar=False)


def test_damaged_parts_and_bad_inputs_are_clear_errors(songs, encoder, tmp_path):
    df, path = songs
    out = tmp_path / "v"
    embed_dataset(path, out, encoder, part_size=50, show_progress_bar=False)
    part = out / "part-00001.parquet"
    part.write_bytes(part.read_bytes()[:100])
    with pytest.raises(ValueError, match="part-00001.parquet is damaged"):
        load_vectors(out)
    with pytest.raises(ValueError, match="part-00001.parquet is damaged.*run again"):
        embed_dataset(path, out, encoder, part_size=50, show_progress_bar=False)
    part.unlink()  # what the message says to do
    assert embed_dataset(path, out, encoder, part_size=50, show_progress_bar=False).written == 1
    table = pq.read_table(part)  # a part whose fingerprints are not 16-byte values
    pq.write_table(table.set_column(2, "text_hash", pa.array(["not a hash"] * table.num_rows)), part)
    with pytest.raises(ValueError, match="part-00001.parquet: its text_hash column is not one 16-byte fingerprint"):
        load_vectors(out)

    no_ids = tmp_path / "no-ids.parquet"
    df.drop(columns="song_id").to_parquet(no_ids, index=False)
    with pytest.raises(ValueError, match="lacks the column\\(s\\) \\['song_id'\\]"):
        embed_dataset(no_ids, tmp_path / "x", encoder, show_progress_bar=False)
    numbers = tmp_path / "numbers.parquet"
    df.assign(lyrics=np.arange(len(df)) / 2, words=df["lyrics"]).to_parquet(numbers, index=False)
    with pytest.raises(ValueError, match="numbers.parquet: the column 'lyrics' holds double, not text; its text "
                                         "columns are .*'words'.*--text-column"):
        embed_dataset(numbers, tmp_path / "w", encoder, show_progress_bar=False)
    assert not (tmp_path / "w").exists()  # refused before anything is written
    categories = tmp_path / "categories.parquet"  # pandas categories: text stored as a dictionary
    df.head(5).assign(lyrics=df["lyrics"].head(5).astype("category")).to_parquet(categories, index=False)
    assert embed_dataset(categories, tmp_path / "c", encoder, show_progress_bar=False).written == 1
    null_id = tmp_path / "null-id.parquet"
    df.assign(song_id=df["song_id"].where(df.index != 7, None)).to_parquet(null_id, index=False)
    with pytest.raises(ValueError, match="row 7 has no song_id"):
        embed_dataset(null_id, tmp_path / "y", encoder, show_progress_bar=False)
    (tmp_path / "songs.csv").write_text("song_id,lyrics\n1,la la\n")
    with pytest.raises(ValueError, match="reads Parquet"):
        embed_dataset(tmp_path / "songs.csv", tmp_path / "z", encoder)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        embed_dataset(tmp_path / "nowhere.parquet", tmp_path / "z", encoder)
    with pytest.raises(ValueError, match="the output .*songs.csv is a file: .* give a folder"):
        embed_dataset(path, tmp_path / "songs.csv", encoder)
    with pytest.raises(ValueError, match="part_size must be"):
        embed_dataset(path, tmp_path / "z", encoder, part_size=0)
    (tmp_path / "z").mkdir(exist_ok=True)
    (tmp_path / "z" / MANIFEST).write_text("{not json")
    with pytest.raises(ValueError, match="embed.json is damaged"):
        embed_dataset(path, tmp_path / "z", encoder, show_progress_bar=False)


def test_missing_and_repeated_song_ids_are_refused_before_any_part_is_written(songs, encoder, tmp_path):
    df, _ = songs
    null_id = tmp_path / "null-id.parquet"  # in the third part: the first two used to be embedded first
    df.assign(song_id=df["song_id"].where(df.index != 120, None)).to_parquet(null_id, index=False)
    with pytest.raises(ValueError, match="row 120 has no song_id"):
        embed_dataset(null_id, tmp_path / "a", encoder, part_size=50, show_progress_bar=False)
    assert not list((tmp_path / "a").glob("part-*"))
    twice = tmp_path / "folder"
    twice.mkdir()
    df.iloc[:100].to_parquet(twice / "a.parquet", index=False)
    df.iloc[[3, 101, 102]].to_parquet(twice / "b.parquet", index=False)  # row 100 repeats row 3's song
    with pytest.raises(ValueError, match=f"song_id {df.loc[3, 'song_id']!r} is at rows 3 and 100;.*unique"):
        embed_dataset(twice, tmp_path / "b", encoder, part_size=50, show_progress_bar=False)
    assert not list((tmp_path / "b").glob("part-*"))


def test_a_fitted_classifier_embeds_with_its_own_embed(songs, _tiny_bert_dir, tmp_path):
    from musemood.classifiers import SimpleBertClassifier

    df, path = songs
    labelled = load_demo(200, random_state=1)
    labelled = labelled[labelled["label"].notna()]
    model = SimpleBertClassifier(str(_tiny_bert_dir), max_length=32, stride=8, epochs=2, hidden_size=8,
                                 random_state=0).fit(labelled, labelled["label"])
    embed_dataset(path, tmp_path / "v", model, part_size=64, show_progress_bar=False)
    _, vectors = load_vectors(tmp_path / "v")
    np.testing.assert_allclose(vectors, model.embed(df.assign(lyrics=df["lyrics"].fillna(""))), rtol=1e-4, atol=1e-5)
    manifest = pd.read_json(tmp_path / "v" / MANIFEST, typ="series")
    assert manifest["model"]["kind"] == "classifier" and manifest["model"]["class"] == "SimpleBertClassifier"


def test_the_embed_command(songs, tmp_path, _tiny_bert_dir, capsys):
    _, path = songs
    code = main(["embed", str(path), "--out", str(tmp_path / "v"), "--model", str(_tiny_bert_dir), "--max-length",
                 "32", "--part-size", "60"])
    printed = capsys.readouterr().out
    assert code == 0 and "Embedded 130 songs into 3 parts" in printed and "32-dimensional" in printed
    assert main(["embed", str(path), "--out", str(tmp_path / "v"), "--model", str(_tiny_bert_dir),
                 "--max-length", "32", "--part-size", "60"]) == 0
    assert "3 already done" in capsys.readouterr().out
    assert main(["embed", str(tmp_path / "missing.parquet"), "--out", str(tmp_path / "w")]) == 2
    assert "missing.parquet does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:  # argparse refuses it before anything runs
        main(["embed", str(path), "--out", str(tmp_path / "w"), "--part-size", "0"])
    assert stop.value.code == 2 and "--part-size: must be 1 or more" in capsys.readouterr().err


@pytest.mark.slow
def test_the_ray_engine_writes_the_same_parts_as_the_local_one(songs, encoder, tmp_path):
    ray = pytest.importorskip("ray")
    df, path = songs
    local = embed_dataset(path, tmp_path / "local", encoder, part_size=30, show_progress_bar=False)
    # a run the local engine left half done is finished by Ray actors
    half = tmp_path / "ray"
    (half).mkdir()
    for name in ["embed.json"] + [f"part-{i:05d}.parquet" for i in range(2)]:
        (half / name).write_bytes((tmp_path / "local" / name).read_bytes())
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        result = embed_dataset(path, half, encoder, part_size=30, engine="ray", concurrency=2,
                               show_progress_bar=False)
        # songs another folder holds are left out by the actors too
        df.iloc[:70].to_parquet(tmp_path / "first.parquet", index=False)
        embed_dataset(tmp_path / "first.parquet", tmp_path / "first", encoder, part_size=30, show_progress_bar=False)
        rest = embed_dataset(path, tmp_path / "rest", encoder, part_size=30, skip=tmp_path / "first", engine="ray",
                             concurrency=2, show_progress_bar=False)
        marked = df.iloc[60:].copy()
        marked.loc[100, "lyrics"] = "[Instrumental]"
        marked.to_parquet(tmp_path / "marked.parquet", index=False)
        counted = embed_dataset(tmp_path / "marked.parquet", tmp_path / "marked", encoder, part_size=30, engine="ray",
                                concurrency=2, show_progress_bar=False)
    finally:
        ray.shutdown()
    assert (rest.songs, rest.left_out, rest.written, rest.without_lyrics) == (60, 70, 5, 0)
    assert result.without_lyrics == local.without_lyrics == 1  # song 4, in a part the local engine wrote
    assert (counted.parts, counted.without_lyrics) == (3, 1)  # counted by the actors too
    rest_ids, rest_vectors = load_vectors(tmp_path / "rest")
    assert rest_ids.tolist() == df["song_id"].iloc[70:].tolist()
    np.testing.assert_allclose(rest_vectors, load_vectors(tmp_path / "local")[1][70:], rtol=1e-4, atol=1e-5)
    assert (result.parts, result.skipped, result.written) == (local.parts, 2, local.parts - 2)
    ids_local, local_vectors = load_vectors(tmp_path / "local")
    ids_ray, ray_vectors = load_vectors(half)
    assert ids_ray.tolist() == ids_local.tolist()
    np.testing.assert_allclose(ray_vectors, local_vectors, rtol=1e-4, atol=1e-5)


def test_the_ray_engine_says_how_to_install_it(songs, encoder, tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ImportError, match='pip install "musemood\\[ray\\]"'):
        embed_dataset(songs[1], tmp_path / "v", encoder, part_size=50, engine="ray", show_progress_bar=False)
    with pytest.raises(ValueError, match="engine must be one of 'local', 'ray'"):
        embed_dataset(songs[1], tmp_path / "w", encoder, engine="spark")


def test_a_recommender_is_fitted_on_the_vectors_of_a_folder(songs, encoder, reference, tmp_path, tiny_bert):
    from musemood.recommender import Recommender

    df, path = songs
    embed_dataset(path, tmp_path / "v", encoder, part_size=40, show_progress_bar=False)
    with pytest.raises(ValueError, match=r"1 of the catalogue's 130 songs has no lyrics in 'lyrics' .*row 4"):
        Recommender(song_map=None).fit(df, encoder, vectors=tmp_path / "v")  # its vector: an empty text's
    df = df.drop(index=4)
    shuffled = df.sample(frac=1, random_state=3).reset_index(drop=True)  # matched by song_id, not by row
    rec = Recommender(song_map=None, n_candidates=20, weights={"lexical": 0.5}).fit(
        shuffled, encoder, vectors=tmp_path / "v")
    order = [df.index[df["song_id"] == s][0] for s in shuffled["song_id"]]
    expected = rec.vectorizer_.transform(reference[order], shuffled)
    np.testing.assert_allclose(rec.vectors_, expected, rtol=1e-4, atol=1e-5)
    assert len(rec.recommend(text="rain on the window", top_k=3)) == 3  # free text in the same space
    with pytest.raises(ValueError, match="2 of the catalogue's 3 songs have no vector"):
        Recommender(song_map=None).fit(df.head(3).assign(song_id=["x", "y", df.loc[2, "song_id"]]),
                                       vectors=tmp_path / "v")
    from transformers import BertModel

    model = BertModel.from_pretrained(str(tiny_bert))
    model.embeddings.word_embeddings.weight.data += 1  # another model: other weights in another folder
    model.save_pretrained(str(tiny_bert))
    other = BertEncoder(str(tiny_bert), max_length=16)
    with pytest.raises(ValueError, match="holds vectors of another model"):
        Recommender(song_map=None).fit(df, other, vectors=tmp_path / "v")


def test_a_ray_address_where_nothing_answers_is_refused_at_once(songs, encoder, tmp_path, monkeypatch, capsys,
                                                               _tiny_bert_dir):
    import socket
    import time

    from musemood.cli import main

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.perf_counter()
    with pytest.raises(ConnectionError, match=f"nothing answers at the Ray address 127.0.0.1:{port} .*ray start"):
        embed_dataset(songs[1], tmp_path / "v", encoder, engine="ray", address=f"127.0.0.1:{port}")
    assert time.perf_counter() - started < 30  # ray.init retried for minutes
    assert not (tmp_path / "v").exists()
    monkeypatch.setenv("RAY_ADDRESS", f"ray://127.0.0.1:{port}")  # Ray's own variable, the same check
    with pytest.raises(ConnectionError, match=f"ray://127.0.0.1:{port}"):
        embed_dataset(songs[1], tmp_path / "v", encoder, engine="ray")
    with pytest.raises(ValueError, match="'cluster-head' is not host:port"):
        embed_dataset(songs[1], tmp_path / "v", encoder, engine="ray", address="cluster-head")
    monkeypatch.delenv("RAY_ADDRESS")
    code = main(["embed", str(songs[1]), "--out", str(tmp_path / "w"), "--model", str(_tiny_bert_dir),
                 "--engine", "ray", "--address", f"127.0.0.1:{port}"])
    assert code == 3 and "nothing answers at the Ray address" in capsys.readouterr().err  # a service, not input


def test_gpu_choices_precision_batch_and_ray_resources(monkeypatch):
    import torch

    from musemood.embed import ray_resources
    from musemood.encoders import autocast, default_batch_size, inference_dtype

    # CPU: float32, no autocast, batches of 32
    assert inference_dtype("cpu") is None and default_batch_size("cpu") == 32
    with autocast("cpu"):
        assert not torch.is_autocast_enabled()
    # a CUDA GPU: bfloat16 where supported, else float16; batches of 256
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert inference_dtype("cuda") is torch.bfloat16 and inference_dtype("cuda:1") is torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert inference_dtype("cuda") is torch.float16 and default_batch_size("cuda") == 256
    # Ray: one actor per GPU holding one GPU, else one per CPU; never more actors than parts
    assert ray_resources({"CPU": 16.0, "GPU": 4.0}, pending=100) == {"concurrency": 4, "num_cpus": 1, "num_gpus": 1}
    assert ray_resources({"CPU": 2.0}, pending=100) == {"concurrency": 2, "num_cpus": 1}
    assert ray_resources({"CPU": 64.0}, pending=3) == {"concurrency": 3, "num_cpus": 1}
    assert ray_resources({"CPU": 64.0}, pending=100, concurrency=8)["concurrency"] == 8


def test_relative_paths_are_recorded_whole_and_the_output_stays_out_of_the_input(songs, encoder, tmp_path,
                                                                               monkeypatch):
    _, path = songs
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    (work / "data" / "songs.parquet").write_bytes(path.read_bytes())
    monkeypatch.chdir(work)
    embed_dataset("data", "vectors", encoder, part_size=50, show_progress_bar=False)
    monkeypatch.chdir(tmp_path)  # resumed from elsewhere with absolute paths: the same run
    again = embed_dataset(work / "data", work / "vectors", encoder, part_size=50, show_progress_bar=False)
    assert (again.written, again.skipped) == (0, 3)
    with pytest.raises(ValueError, match="inside the input folder"):
        embed_dataset(work / "data", work / "data" / "vectors", encoder, show_progress_bar=False)


def test_the_map_command_builds_a_recommender_on_the_embed_commands_vectors(songs, reference, tmp_path, tiny_bert,
                                                                              capsys, monkeypatch):
    from musemood.recommender import Recommender

    df, path = songs
    model = ["--model", str(tiny_bert), "--max-length", "32"]
    kept = df.drop(index=4)  # song 4 has no lyrics: map --drop-missing leaves it out
    assert main(["embed", str(path), "--out", str(tmp_path / "v"), *model, "--part-size", "60"]) == 0
    assert main(["embed", str(path), "--out", str(tmp_path / "m"), *model, "--part-size", "60"]) == 0
    capsys.readouterr()
    encoded = []
    monkeypatch.setattr(BertEncoder, "encode", lambda self, texts, **kw: encoded.append(len(texts)))
    code = main(["map", "--data", str(path), "--vectors", str(tmp_path / "v"), "--map-vectors", str(tmp_path / "m"),
                 *model, "--n-clusters", "3", "--drop-missing", "--recommender", str(tmp_path / "rec")])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert encoded == []  # not one song embedded again: hours per million songs
    rec = Recommender.load(tmp_path / "rec")
    np.testing.assert_allclose(rec.vectors_, rec.vectorizer_.transform(reference[kept.index], kept), rtol=1e-4,
                               atol=1e-5)
    assert rec.map_on_ == "given" and rec.map_.n_clusters_ == 3
    assert rec.map_source_ == f"tiny-bert vectors from {tmp_path / 'm'}"
    # --map-encoder names the model of --map-vectors: checked, not ignored
    code = main(["map", "--data", str(path), "--vectors", str(tmp_path / "v"), "--map-vectors", str(tmp_path / "m"),
                 "--map-encoder", str(tiny_bert), *model, "--n-clusters", "3", "--drop-missing", "--recommender",
                 str(tmp_path / "rec")])
    assert code == 0, capsys.readouterr().err
    assert main(["map", "--data", str(path), "--vectors", str(tmp_path / "v"), "--map-vectors", str(tmp_path / "m"),
                 "--map-encoder", "all-MiniLM-L6-v2", *model, "--drop-missing", "--recommender",
                 str(tmp_path / "rec-3")]) == 2
    err = capsys.readouterr().err
    assert "m holds vectors of another model (" in err and "give the model that made them (--map-encoder" in err, err
    monkeypatch.undo()
    assert main(["map", "--vectors", str(tmp_path / "v"), "--recommender", str(tmp_path / "rec")]) == 2
    assert "--vectors needs --data" in capsys.readouterr().err
    # the song ids may be in another column, as embed --id-column read them
    renamed = tmp_path / "renamed.parquet"
    df.rename(columns={"song_id": "track"}).to_parquet(renamed, index=False)
    assert main(["embed", str(renamed), "--out", str(tmp_path / "t"), *model, "--id-column", "track"]) == 0
    capsys.readouterr()
    assert main(["map", "--data", str(renamed), "--vectors", str(tmp_path / "t"), *model, "--n-clusters", "3",
                 "--drop-missing", "--recommender", str(tmp_path / "rec-t")]) == 0
    np.testing.assert_allclose(Recommender.load(tmp_path / "rec-t").vectors_, rec.vectors_, rtol=1e-5)
    # vectors of another model are refused, naming the option to give
    assert main(["map", "--data", str(path), "--vectors", str(tmp_path / "v"), "--max-length", "32",
                 "--drop-missing", "--recommender", str(tmp_path / "rec-2")]) == 2
    err = capsys.readouterr().err
    assert "holds vectors of another model" in err and "--model" in err and not (tmp_path / "rec-2").exists()


def test_a_catalogue_that_grew_takes_its_vectors_from_several_folders(songs, encoder, reference, tmp_path, tiny_bert,
                                                                      capsys):
    """The songs added since a catalogue was embedded are embedded on their own: the recommender takes the
    vectors of both folders, the later one winning for a song in both (embedded again after its lyrics changed)."""
    from musemood.embed import catalogue_vectors
    from musemood.recommender import Recommender

    df, _ = songs
    df.iloc[:100].to_parquet(tmp_path / "old.parquet", index=False)
    df = df.copy()
    df.loc[99, "lyrics"] = "new words for an old song"
    df.iloc[95:].to_parquet(tmp_path / "new.parquet", index=False)
    embed_dataset(tmp_path / "old.parquet", tmp_path / "v1", encoder, part_size=40, show_progress_bar=False)
    embed_dataset(tmp_path / "new.parquet", tmp_path / "v2", encoder, part_size=40, show_progress_bar=False)
    vectors = catalogue_vectors(df, [tmp_path / "v1", tmp_path / "v2"], encoder)
    expected = reference.copy()
    expected[99] = encoder.encode(["new words for an old song"])[0]
    np.testing.assert_allclose(vectors, expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r"30 of the catalogue's 130 songs have no vector in .*v1 "):
        catalogue_vectors(df, tmp_path / "v1")
    kept = df.drop(index=4)  # song 4 has no lyrics: the recommender refuses it
    rec = Recommender(song_map=None, n_candidates=20, weights={"lexical": 0.5}).fit(
        kept, encoder, vectors=[tmp_path / "v1", tmp_path / "v2"])
    np.testing.assert_allclose(rec.vectors_, rec.vectorizer_.transform(expected[kept.index], kept), rtol=1e-4,
                               atol=1e-5)
    # folders of two models are refused, even with no model to compare them with
    from transformers import BertModel

    model = BertModel.from_pretrained(str(tiny_bert))
    model.embeddings.word_embeddings.weight.data += 1
    model.save_pretrained(str(tiny_bert))
    embed_dataset(tmp_path / "new.parquet", tmp_path / "v3", BertEncoder(str(tiny_bert), max_length=32, stride=8),
                  part_size=40, show_progress_bar=False)
    with pytest.raises(ValueError, match=r"v3 holds vectors of another model .* than the model of .*v1"):
        catalogue_vectors(df, [tmp_path / "v1", tmp_path / "v3"])
    # on the command line, --vectors takes several folders
    df.to_parquet(tmp_path / "all.parquet", index=False)
    assert main(["map", "--data", str(tmp_path / "all.parquet"), "--vectors", str(tmp_path / "v1"),
                 str(tmp_path / "v2"), "--model", encoder.model_name_or_path, "--max-length", "32", "--drop-missing",
                 "--n-clusters", "3", "--map-on", "song", "--recommender", str(tmp_path / "rec")]) == 0, \
        capsys.readouterr().err
    np.testing.assert_allclose(Recommender.load(tmp_path / "rec").vectors_, rec.vectors_, rtol=1e-5)


def test_songs_already_in_other_folders_are_left_out(songs, encoder, reference, tmp_path, tiny_bert, capsys):
    """A catalogue that grew is embedded again from its whole table, skipping the songs an earlier run
    embedded: only the new songs are computed, and the two folders together give every song."""
    from musemood.embed import catalogue_vectors

    df, path = songs
    df.iloc[:100].to_parquet(tmp_path / "old.parquet", index=False)
    embed_dataset(tmp_path / "old.parquet", tmp_path / "v1", encoder, part_size=40, show_progress_bar=False)
    result = embed_dataset(path, tmp_path / "v2", encoder, part_size=40, skip=tmp_path / "v1",
                           show_progress_bar=False)
    assert (result.songs, result.left_out, result.parts, result.written) == (30, 100, 4, 4)
    ids, vectors = load_vectors(tmp_path / "v2")
    assert ids.tolist() == df["song_id"].iloc[100:].tolist()
    np.testing.assert_allclose(vectors, reference[100:], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(catalogue_vectors(df, [tmp_path / "v1", tmp_path / "v2"], encoder), reference,
                               rtol=1e-4, atol=1e-5)
    # a killed run resumes: written parts are kept, a missing one is computed
    (tmp_path / "v2" / "part-00002.parquet").unlink()
    again = embed_dataset(path, tmp_path / "v2", encoder, part_size=40, skip=[tmp_path / "v1"],
                          show_progress_bar=False)
    assert (again.written, again.skipped, again.songs) == (1, 3, 30)
    np.testing.assert_allclose(load_vectors(tmp_path / "v2")[1], reference[100:], rtol=1e-4, atol=1e-5)
    capsys.readouterr()
    embed_dataset(path, tmp_path / "v6", encoder, part_size=40, skip=tmp_path / "v1")
    assert "30/30" in capsys.readouterr().err  # the bar counts the songs to embed, not those left out
    nothing = embed_dataset(tmp_path / "old.parquet", tmp_path / "v7", encoder, part_size=40, skip=tmp_path / "v1",
                            show_progress_bar=False)  # every song already has its vector: empty parts, no error
    assert (nothing.songs, nothing.left_out, nothing.parts) == (0, 100, 3)
    assert load_vectors(tmp_path / "v7")[1].shape == (0, 32)
    # the same folder with other songs skipped is another run
    with pytest.raises(ValueError, match="another run \\(skip differs"):
        embed_dataset(path, tmp_path / "v2", encoder, part_size=40, show_progress_bar=False)
    with pytest.raises(ValueError, match="is one of the folders to skip"):
        embed_dataset(path, tmp_path / "v1", encoder, part_size=40, skip=tmp_path / "v1", show_progress_bar=False)
    # vectors of another model, or an unfinished folder, would leave songs without a vector of this one
    from transformers import BertModel

    model = BertModel.from_pretrained(str(tiny_bert))
    model.embeddings.word_embeddings.weight.data += 1
    model.save_pretrained(str(tiny_bert))
    other = BertEncoder(str(tiny_bert), max_length=32, stride=8)
    with pytest.raises(ValueError, match=r"v1 holds vectors of another model .*: its songs would have no vector "
                                         "of this one"):
        embed_dataset(path, tmp_path / "v3", other, part_size=40, skip=tmp_path / "v1", show_progress_bar=False)
    (tmp_path / "v1" / "part-00001.parquet").rename(tmp_path / "v1" / "aside.parquet")
    with pytest.raises(ValueError, match="part-00001.parquet is missing"):
        embed_dataset(path, tmp_path / "v4", encoder, part_size=40, skip=tmp_path / "v1", show_progress_bar=False)
    (tmp_path / "v1" / "aside.parquet").rename(tmp_path / "v1" / "part-00001.parquet")
    with pytest.raises(FileNotFoundError, match="no folder at .*v0: give a folder of vectors written by musemood "
                                                "embed"):
        embed_dataset(path, tmp_path / "v4", encoder, skip=tmp_path / "v0", show_progress_bar=False)
    # on the command line
    code = main(["embed", str(path), "--out", str(tmp_path / "v5"), "--model", str(encoder.model_name_or_path),
                 "--max-length", "32", "--part-size", "40", "--skip-vectors", str(tmp_path / "v1")])
    printed = capsys.readouterr().out
    assert code == 0 and "Embedded 30 songs" in printed and "100 left out: they have vectors in" in printed
    assert main(["embed", str(tmp_path / "old.parquet"), "--out", str(tmp_path / "v8"), "--model",
                 str(encoder.model_name_or_path), "--max-length", "32", "--part-size", "40", "--skip-vectors",
                 str(tmp_path / "v1")]) == 0
    assert f"Nothing to embed: {tmp_path / 'v1'} holds a vector of every song of {tmp_path / 'old.parquet'} (100), " \
           "of the same lyrics" in capsys.readouterr().out
    np.testing.assert_allclose(load_vectors(tmp_path / "v5")[1], reference[100:], rtol=1e-4, atol=1e-5)


def test_songs_whose_lyrics_changed_are_embedded_again_and_stale_vectors_refused(songs, encoder, reference, tmp_path,
                                                                                 caplog, capsys):
    """Each part records a fingerprint of each song's lyrics: `--skip-vectors` leaves out only the songs whose
    lyrics are those the folder embedded, a resumed run computes again a part whose lyrics changed, and a
    catalogue whose lyrics changed since its vectors were computed is refused rather than served stale vectors."""

    from musemood.embed import catalogue_vectors

    df, _ = songs
    df.iloc[:100].to_parquet(tmp_path / "old.parquet", index=False)
    embed_dataset(tmp_path / "old.parquet", tmp_path / "v1", encoder, part_size=40, show_progress_bar=False)
    assert pq.read_table(tmp_path / "v1" / "part-00000.parquet").column_names == ["song_id", "vector", "text_hash"]
    edited = df.copy()
    edited.loc[99, "lyrics"] = "new words for an old song"
    edited.loc[7, "lyrics"] = "  " + edited.loc[7, "lyrics"].replace("\n", "\r\n") + " \n"  # the same words
    edited.to_parquet(tmp_path / "all.parquet", index=False)
    expected = reference.copy()
    expected[99] = encoder.encode(["new words for an old song"])[0]
    with pytest.raises(ValueError, match=r"1 of the catalogue's 100 songs has other lyrics than those .*v1 "
                                         rf"embedded \(e\.g\. \['{df.song_id[99]}'\]\).*--skip-vectors"):
        catalogue_vectors(edited.iloc[:100], tmp_path / "v1")
    result = embed_dataset(tmp_path / "all.parquet", tmp_path / "v2", encoder, part_size=40, skip=tmp_path / "v1",
                           show_progress_bar=False)
    assert (result.songs, result.left_out, result.changed) == (31, 99, 1)  # song 7's spaces do not count
    ids, vectors = load_vectors(tmp_path / "v2")
    assert ids.tolist() == df["song_id"].iloc[99:].tolist()
    np.testing.assert_allclose(catalogue_vectors(edited, [tmp_path / "v1", tmp_path / "v2"], encoder), expected,
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="other lyrics than those"):  # the stale folder given last wins, and is refused
        catalogue_vectors(edited, [tmp_path / "v2", tmp_path / "v1"])
    # each folder's vectors are checked against the column it read: here the songs added read another one
    two = df.assign(alt="not these words")
    two.loc[100:, "alt"] = two.loc[100:, "lyrics"]
    two.iloc[100:].to_parquet(tmp_path / "alt.parquet", index=False)
    embed_dataset(tmp_path / "alt.parquet", tmp_path / "v-alt", encoder, text_column="alt", show_progress_bar=False)
    np.testing.assert_allclose(catalogue_vectors(two, [tmp_path / "v1", tmp_path / "v-alt"]), reference, rtol=1e-4,
                               atol=1e-5)
    two.loc[3, "lyrics"] = "changed after v1 read it"
    with pytest.raises(ValueError, match=r"1 of the catalogue's 130 songs has other lyrics than those .*v1 embedded"):
        catalogue_vectors(two, [tmp_path / "v1", tmp_path / "v-alt"])
    import shutil

    shutil.copytree(tmp_path / "v2", tmp_path / "v2-forged")
    manifest = json.loads((tmp_path / "v2-forged" / MANIFEST).read_text())
    (tmp_path / "v2-forged" / MANIFEST).write_text(json.dumps({**manifest, "dim": 16}))
    with pytest.raises(ValueError, match=r"hold vectors of \[16, 32\] dimensions: they cannot be of one model"):
        catalogue_vectors(edited, [tmp_path / "v1", tmp_path / "v2-forged"])
    # lyrics that change between a killed run and its resumption: the part that holds them is computed again
    embed_dataset(tmp_path / "old.parquet", tmp_path / "v3", encoder, part_size=40, show_progress_bar=False)
    edited.iloc[:100].to_parquet(tmp_path / "old.parquet", index=False)
    caplog.set_level("INFO", logger="musemood.embed")
    again = embed_dataset(tmp_path / "old.parquet", tmp_path / "v3", encoder, part_size=40, show_progress_bar=False)
    assert (again.written, again.skipped) == (1, 2)
    assert "part-00002.parquet: 1 song's lyrics changed since it was written" in caplog.text
    np.testing.assert_allclose(load_vectors(tmp_path / "v3")[1], expected[:100], rtol=1e-4, atol=1e-5)
    # on the command line, a recommender is not built on stale vectors
    code = main(["map", "--data", str(tmp_path / "old.parquet"), "--vectors", str(tmp_path / "v1"), "--model",
                 encoder.model_name_or_path, "--max-length", "32", "--n-clusters", "3", "--drop-missing",
                 "--recommender", str(tmp_path / "rec")])  # song 4, without lyrics, left out
    err = capsys.readouterr().err
    assert code != 0 and "1 of the catalogue's 99 songs has other lyrics than those" in err, err
    assert "Traceback" not in err and not (tmp_path / "rec").exists()
    assert main(["embed", str(tmp_path / "old.parquet"), "--out", str(tmp_path / "v5"), "--model",
                 encoder.model_name_or_path, "--max-length", "32", "--part-size", "40", "--skip-vectors",
                 str(tmp_path / "v1")]) == 0
    printed = capsys.readouterr().out
    assert "Embedded 1 song into 3 parts" in printed and "99 left out" in printed
    assert "; 1 embedded again: its lyrics changed" in printed
    # a folder from before fingerprints (format 1): its songs are still left out by id, with a warning
    old = tmp_path / "v1"
    manifest = json.loads((old / MANIFEST).read_text())
    (old / MANIFEST).write_text(json.dumps({**manifest, "format": 1}))
    for part in old.glob("part-*.parquet"):
        table = pq.read_table(part)
        pq.write_table(table.drop_columns(["text_hash"]).replace_schema_metadata(table.schema.metadata), part)
    (old / "part-00001.parquet").unlink()  # and is resumed in its own format
    resumed = embed_dataset(tmp_path / "old.parquet", old, encoder, part_size=40, show_progress_bar=False)
    assert (resumed.written, resumed.skipped) == (1, 2)
    assert pq.read_table(old / "part-00001.parquet").column_names == ["song_id", "vector"]
    caplog.clear()
    older = embed_dataset(tmp_path / "all.parquet", tmp_path / "v4", encoder, part_size=40, skip=old,
                          show_progress_bar=False)
    assert (older.songs, older.left_out) == (30, 100)
    assert "v1 was written by an older musemood" in caplog.text
    np.testing.assert_allclose(catalogue_vectors(df, [old, tmp_path / "v4"], encoder), reference, rtol=1e-4,
                               atol=1e-5)
    assert pa.types.is_fixed_size_list(pq.read_table(tmp_path / "v4" / "part-00000.parquet").schema.field(
        "vector").type)
