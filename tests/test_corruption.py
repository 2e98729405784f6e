"""A corruption matrix over every saved folder type: each file deleted, truncated, overwritten with
garbage of the same size, or replaced by a well-formed file that disagrees with the others (its
checksum recorded again, as a hand edit or a bad copy would leave it).  Loading must fail with an
error that names the file (or the folder's config.json), never load into wrong answers."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from musemood import schema
from musemood.classifiers import SimpleBertClassifier, TBertClassifier, load_model
from musemood.clustering import SongMap
from musemood.encoders import BertEncoder
from musemood.persistence import CONFIG, manifest

from test_classifiers import FAST, make_songs

CLEAR = (ValueError, FileNotFoundError)


@pytest.fixture(scope="module")
def saved(_tiny_bert_dir, tmp_path_factory):
    """One saved folder of each type, with a function that loads it and answers a query."""
    from sklearn.datasets import make_blobs

    from musemood.datasets import drop_duplicate_songs, load_demo
    from musemood.recommender import Recommender

    root = tmp_path_factory.mktemp("saved")
    train, y = make_songs(80, 0, "text")
    test, _ = make_songs(4, 1, "text")
    encoder = BertEncoder(str(_tiny_bert_dir), max_length=32)
    simple = SimpleBertClassifier(encoder, epochs=2, **FAST).fit(train, y)
    tbert = TBertClassifier(str(_tiny_bert_dir), epochs=1, n_topics=2, head_epochs=3, hidden_size=8, batch_size=16,
                            topic_params={"passes": 1, "evaluate": False, "max_df": 1.0}, **FAST).fit(train, y)
    X, _ = make_blobs(120, n_features=6, centers=3, random_state=0)
    X = X.astype(np.float32)
    song_map = SongMap(k_range=(2, 4), pca_components=4).fit(X.astype(np.float32))
    df = drop_duplicate_songs(load_demo(120, random_state=0)).reset_index(drop=True)
    rec = Recommender(n_candidates=20).fit(df, encoder)
    title, artist = df.loc[3, schema.TITLE], df.loc[3, schema.ARTIST]
    return {
        "encoder": (encoder.save(root / "encoder"), lambda p: BertEncoder.load(p).encode(["a song"])),
        "simple": (simple.save(root / "simple"), lambda p: load_model(p).predict_proba(test)),
        "tbert": (tbert.save(root / "tbert"), lambda p: load_model(p).predict_proba(test)),
        "map": (song_map.save(root / "map"), lambda p: SongMap.load(p).predict(X[:5])),
        "recommender": (rec.save(root / "rec"), lambda p: Recommender.load(p).recommend(title, 3, artist=artist)),
    }


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _record_again(file):
    """Rewrite the manifest of the part that owns ``file``, as if the change had been saved."""
    folder = file.parent
    while not (folder / CONFIG).exists():
        folder = folder.parent
    config = json.loads((folder / CONFIG).read_text())
    config["files"] = manifest(folder)
    (folder / CONFIG).write_text(json.dumps(config))


FREE_LENGTH = ("tune_queries.npy", "eval_queries.npy")  # lists of query rows: any length is consistent


def _inconsistent(file):
    """A well-formed file that disagrees with the rest of its part; False when there is no such edit."""
    if file.name in FREE_LENGTH:
        return False
    if file.suffix == ".npy":
        array = np.load(file, allow_pickle=False)
        if array.ndim == 0 or len(array) < 2:
            return False
        np.save(file, array[:-1])
    elif file.suffix == ".safetensors":
        from safetensors.numpy import load_file, save_file

        tensors = load_file(file)
        name = max(tensors, key=lambda k: tensors[k].size)
        tensors[name] = tensors[name][:-1] if tensors[name].ndim else tensors[name]
        save_file(tensors, file)
    elif file.suffix in (".txt",) or file.name == "vocab.txt":
        lines = file.read_text().splitlines()
        file.write_text("\n".join(lines[: len(lines) // 2]) + "\n")
    else:
        return False
    if file.name != CONFIG:
        _record_again(file)
    return True


CASES = ["delete", "truncate", "garbage", "inconsistent"]


def _cases():
    return [(kind, case) for kind in ("encoder", "simple", "tbert", "map", "recommender") for case in CASES]


@pytest.mark.parametrize("kind, case", _cases())
def test_every_file_of_every_saved_folder(saved, kind, case, tmp_path):
    folder, load = saved[kind]
    expected = load(folder)
    checked, problems = 0, []
    for name in _files(folder):
        copy = Path(shutil.copytree(folder, tmp_path / f"{checked}"))
        file = copy / name
        if case == "delete":
            file.unlink()
        elif case == "truncate":
            data = file.read_bytes()
            file.write_bytes(data[: len(data) // 2])
        elif case == "garbage":
            data = file.read_bytes()
            file.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, max(len(data), 1), dtype=np.uint8)))
        elif not _inconsistent(file):
            shutil.rmtree(copy)
            continue
        checked += 1
        try:
            answer = load(copy)
        except CLEAR as exc:
            message = str(exc)
            where = {name.split("/")[-1], CONFIG, file.parent.name}
            if not any(w in message for w in where):
                problems.append(f"{name}: the error does not name the file: {message}")
            continue
        except Exception as exc:  # noqa: BLE001 (the point: which errors are not clear)
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        finally:
            shutil.rmtree(copy)
        problems.append(f"{name} loaded (same answer: {_same(answer, expected)})")
    assert checked or case == "inconsistent"
    assert not problems, f"{kind}, {case}:\n" + "\n".join(problems)


def _same(a, b):
    try:
        return bool(np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float)))
    except (TypeError, ValueError):
        return a.equals(b) if hasattr(a, "equals") else a == b


EDITS = [  # (folder, path inside config.json, value): hand edits that would give wrong answers
    ("simple", ("classes",), ["happy"]),
    ("simple", ("classes",), ["happy", "happy"]),
    ("simple", ("classes",), "happy,sad"),
    ("simple", ("head", "n_out"), 3),
    ("simple", ("head", "in_dim"), 5),
    ("simple", ("head",), None),
    ("simple", ("params", "max_length"), -1),
    ("simple", ("params", "batch_size"), "many"),
    ("simple", ("params", "pooling"), "median"),
    ("encoder", ("params", "max_length"), 0),
    ("encoder", ("params", "stride"), 10_000),
    ("encoder", ("params", "pooling"), "median"),
    ("tbert", ("params", "n_topics"), 7),
    ("map", ("n_clusters_",), 7),
    ("map", ("n_features_in_",), 3),
    ("map", ("params",), ["not", "a", "dict"]),
    ("recommender", ("weights_",), {"lexical": float("nan"), "cluster": 0.1}),
    ("recommender", ("weights_",), {"lexical": 5, "cluster": 0.1}),
    ("recommender", ("params", "n_candidates"), -1),
    ("recommender", ("params", "weights"), {"lexical": "x"}),
    ("recommender/retriever/lexical", ("n_songs",), 5),
    ("recommender/retriever/vectors", ("backend_",), "annoy"),
    ("recommender/catalogue", ("params", "min_title_score"), 900),
]


@pytest.mark.parametrize("where, key, value", EDITS, ids=lambda v: str(v)[:30])
def test_hand_edited_config_values_are_reported(saved, where, key, value, tmp_path):
    kind, _, sub = where.partition("/")
    folder, load = saved[kind]
    copy = Path(shutil.copytree(folder, tmp_path / "copy"))
    config_file = copy / sub / CONFIG
    config = json.loads(config_file.read_text())
    node = config
    for part in key[:-1]:
        node = node[part]
    node[key[-1]] = value
    config_file.write_text(json.dumps(config))
    with pytest.raises(CLEAR) as caught:
        load(copy)
    assert CONFIG in str(caught.value) or key[-1] in str(caught.value), caught.value


def test_a_save_killed_mid_file_leaves_the_old_file_and_no_manifest_entry(tmp_path):
    from musemood.persistence import read_config, replacing, write_config
    from musemood.retrieval import VectorIndex

    folder = VectorIndex("exact").build(np.eye(4, dtype=np.float32)).save(tmp_path / "vec")
    before = (folder / "vectors.npy").read_bytes()
    with pytest.raises(KeyboardInterrupt), replacing(folder / "vectors.npy") as tmp:
        tmp.write_bytes(b"half a file")
        raise KeyboardInterrupt
    assert (folder / "vectors.npy").read_bytes() == before and not list(folder.glob(".*.tmp"))
    (folder / ".vectors.npy.123.tmp").write_bytes(b"left by a killed process")  # no finally ran
    write_config(folder, VectorIndex("exact"), {}, backend_="exact")
    assert ".vectors.npy.123.tmp" not in manifest(folder)
    read_config(folder, VectorIndex)
    VectorIndex.load(folder)
