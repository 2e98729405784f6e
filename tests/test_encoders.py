"""The BERT encoder: a tiny random BERT offline, and (slow) the real packaged model."""

import numpy as np
import pytest
import torch

from musemood.encoders import BertEncoder, default_model_path, pad_batch, pool, resolve_model

LONG = " ".join(["the river runs beside the mill and the wind blows from the west"] * 12)
TEXTS = ["oh yeah", LONG, "I walk the same old street", "", "the moon sits low above the roofs"]


@pytest.fixture
def encoder(tiny_bert):
    return BertEncoder(tiny_bert, max_length=32, stride=8)


def test_shape_dtype_and_single_string(encoder):
    out = encoder.encode(TEXTS)
    assert out.shape == (len(TEXTS), 32) and out.dtype == np.float32
    assert np.isfinite(out).all()
    single = encoder.encode(TEXTS[2])
    assert single.shape == (32,)
    np.testing.assert_allclose(single, out[2], atol=1e-5)
    assert encoder.embedding_dim_ == 32


def test_text_with_half_a_character_is_encoded_as_with_the_replacement_character(encoder):
    """A lone surrogate (JSON's "\\ud83d" decodes to one) made the tokenizer fail with a TypeError."""
    out = encoder.encode(["cut \ud83d here", "pair \ud83d\ude00"])
    np.testing.assert_allclose(out, encoder.encode(["cut \ufffd here", "pair 😀"]), atol=1e-6)
    assert encoder.chunk(["cut \ud83d"])["input_ids"] == encoder.chunk(["cut \ufffd"])["input_ids"]


def test_length_sorting_restores_input_order(encoder):
    together = encoder.encode(TEXTS, batch_size=2)
    alone = np.stack([encoder.encode(t) for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_allclose(together, encoder.encode(TEXTS, batch_size=64), atol=1e-5)


def test_long_lyrics_are_averaged_over_overlapping_windows(encoder):
    tok, model = encoder.tokenizer_, encoder.model_
    windows = tok(LONG, truncation=True, max_length=32, stride=8, return_overflowing_tokens=True)["input_ids"]
    assert len(windows) > 3
    # consecutive windows share `stride` tokens (special tokens excluded)
    assert windows[0][-1 - 8 : -1] == windows[1][1 : 1 + 8]
    with torch.inference_mode():
        vectors = [model(input_ids=torch.tensor([w])).last_hidden_state.mean(1)[0] for w in windows]
    expected = torch.stack(vectors).mean(0).numpy()
    np.testing.assert_allclose(encoder.encode(LONG), expected, atol=1e-5)


def test_chunk_maps_windows_to_songs_and_max_chunks(tiny_bert):
    enc = BertEncoder(tiny_bert, max_length=32, stride=8, max_chunks=2)
    chunks = enc.chunk(["short one", LONG, "short two"])
    assert chunks["song"].tolist() == [0, 1, 1, 2]
    first_two = BertEncoder(tiny_bert, max_length=32, stride=8)
    ids = first_two.chunk([LONG])["input_ids"][:2]
    assert chunks["input_ids"][1:3] == ids


def test_no_chunking_truncates(tiny_bert):
    enc = BertEncoder(tiny_bert, max_length=32, stride=None)
    assert len(enc.chunk([LONG])["input_ids"]) == 1
    words = LONG.split()
    np.testing.assert_allclose(enc.encode(LONG), enc.encode(" ".join(words[:60])), atol=1e-5)


def test_cls_pooling_and_normalisation(tiny_bert):
    mean = BertEncoder(tiny_bert).encode(TEXTS[:3])
    cls = BertEncoder(tiny_bert, pooling="cls").encode(TEXTS[:3])
    assert not np.allclose(mean, cls)
    unit = BertEncoder(tiny_bert, normalize_embeddings=True).encode(TEXTS[:3])
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(unit, mean / np.linalg.norm(mean, axis=1, keepdims=True), atol=1e-5)


def test_pool_ignores_padding():
    hidden = torch.tensor([[[1.0, 1.0], [3.0, 3.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert pool(hidden, mask).tolist() == [[2.0, 2.0]]
    assert pool(hidden, mask, "cls").tolist() == [[1.0, 1.0]]
    batch = pad_batch([[5, 6, 7], [5]], pad_token_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [5, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_max_length_capped_by_model_and_tensor_output(tiny_bert, caplog):
    enc = BertEncoder(tiny_bert, max_length=10_000)
    with caplog.at_level("WARNING", logger="musemood.encoders"):
        assert enc.max_length == 10_000 and enc.max_length_ == 128 and enc.stride_ == 32
    assert "max_length=10000 is more than the model's 128 positions" in caplog.text  # said, not clamped silently
    caplog.clear()
    with caplog.at_level("WARNING", logger="musemood.encoders"):
        assert BertEncoder(tiny_bert, max_length=128).max_length_ == 128 and not caplog.records
    out = enc.encode(["a", "b"], convert_to_numpy=False)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 32)


def test_progress_bar(tiny_bert, capsys):
    BertEncoder(tiny_bert).encode(TEXTS, show_progress_bar=True)
    assert "Encoding" in capsys.readouterr().err


def test_loading_and_saving_print_no_bar_of_transformers_and_leave_its_setting(_tiny_bert_dir, tmp_path, capfd):
    from transformers.utils import logging as hf_logging

    for enabled in (True, False):
        (hf_logging.enable_progress_bar if enabled else hf_logging.disable_progress_bar)()
        encoder = BertEncoder(str(_tiny_bert_dir), max_length=16)
        encoder.encode(["one song"], show_progress_bar=False)
        encoder.save(tmp_path / f"saved-{enabled}")
        err = capfd.readouterr().err  # one bar per model loaded or saved, before
        assert "Loading weights" not in err and "Writing model shards" not in err
        assert hf_logging.is_progress_bar_enabled() is enabled
    hf_logging.enable_progress_bar()


def test_bad_arguments_fail_on_first_use_with_a_clear_message(tiny_bert, tmp_path):
    bad = BertEncoder(tiny_bert, pooling="median")  # __init__ only stores
    with pytest.raises(ValueError, match="pooling"):
        bad.encode("a")
    with pytest.raises(ValueError, match="stride"):
        BertEncoder(tiny_bert, max_length=16, stride=20).load_weights()
    with pytest.raises(FileNotFoundError, match="no model folder at .*no-such-model"):
        BertEncoder(tmp_path / "no-such-model").load_weights()
    with pytest.raises(ValueError, match="max_length must be int in \\[8, 100000\\], got 4"):
        BertEncoder(tiny_bert, max_length=4).load_weights()
    with pytest.raises(TypeError, match="encode takes one text or a list of texts, got NoneType"):
        BertEncoder(tiny_bert).encode(None)


def test_init_is_pure_and_stride_follows_max_length(tiny_bert):
    enc = BertEncoder(tiny_bert, max_length=64)
    assert "_loaded" not in vars(enc)  # nothing loaded yet
    assert enc.get_params()["stride"] == "auto"
    assert enc.stride_ == 16 and enc.max_length_ == 64  # a quarter of the window
    assert len(enc.encode(LONG)) == 32  # max_length=64 alone works (it failed with a fixed stride of 64)
    from sklearn.base import clone

    assert clone(enc).get_params() == enc.get_params()


def test_max_pooling_and_sentence_transformers_folder_pooling(tiny_bert):
    import json

    hidden = torch.tensor([[[1.0, 5.0], [3.0, 2.0], [100.0, 100.0]]])
    assert pool(hidden, torch.tensor([[1, 1, 0]]), "max").tolist() == [[3.0, 5.0]]
    assert BertEncoder(tiny_bert).pooling_ == "mean"  # a plain Hugging Face folder
    (tiny_bert / "1_Pooling").mkdir()
    (tiny_bert / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    (tiny_bert / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    enc = BertEncoder(tiny_bert)
    assert enc.pooling_ == "cls"
    np.testing.assert_allclose(enc.encode(TEXTS[:2]), BertEncoder(tiny_bert, pooling="cls").encode(TEXTS[:2]))
    assert BertEncoder(tiny_bert, pooling="mean").pooling_ == "mean"  # an explicit choice wins


def test_save_load_round_trip_in_a_fresh_process(tiny_bert, tmp_path):
    import json
    import subprocess
    import sys

    enc = BertEncoder(tiny_bert, max_length=32, pooling="cls", max_chunks=3)
    expected = enc.encode(TEXTS)
    folder = enc.save(tmp_path / "enc")
    config = json.loads((folder / "config.json").read_text())
    assert config["class"] == "BertEncoder" and config["format"] == 2
    assert {"musemood", "torch", "transformers", "numpy"} <= set(config["versions"])
    code = ("import sys, json, numpy as np; from musemood.encoders import BertEncoder; "
            "e = BertEncoder.load(sys.argv[1]); print(json.dumps(e.encode(json.loads(sys.argv[2])).tolist()))")
    out = subprocess.run([sys.executable, "-c", code, str(folder), json.dumps(TEXTS)], capture_output=True,
                         text=True, check=True)
    np.testing.assert_allclose(np.asarray(json.loads(out.stdout)), expected, atol=1e-6)
    loaded = BertEncoder.load(folder)
    assert (loaded.pooling_, loaded.max_length_, loaded.stride_, loaded.max_chunks) == ("cls", 32, 8, 3)


def test_copy_has_its_own_weights(tiny_bert):
    enc = BertEncoder(tiny_bert)
    twin = enc.copy()
    with torch.no_grad():
        next(twin.model_.parameters()).add_(1.0)
    assert not torch.equal(next(twin.model_.parameters()), next(enc.model_.parameters()))


def test_default_model_resolves_to_the_packaged_weights():
    path = default_model_path()
    assert (path / "config.json").exists() and (path / "model.safetensors").exists()
    assert resolve_model(None) == resolve_model("sentence-transformers/all-MiniLM-L6-v2") == str(path)
    assert resolve_model("bert-base-uncased") == "bert-base-uncased"


@pytest.fixture(scope="module")
def minilm():
    return BertEncoder(normalize_embeddings=True)


@pytest.mark.slow
def test_packaged_model_shape_and_determinism(minilm):
    a = minilm.encode(TEXTS)
    assert a.shape == (len(TEXTS), 384)
    np.testing.assert_array_equal(a, minilm.encode(TEXTS))


@pytest.mark.slow
def test_packaged_model_puts_similar_sentences_closer(minilm):
    v = minilm.encode(
        [
            "I am so happy today, I could dance all night",
            "Joy fills my heart and I can't stop smiling",
            "The tax office closes at five on weekdays",
        ]
    )
    sim = v @ v.T
    assert sim[0, 1] > sim[0, 2] + 0.2
    assert sim[0, 1] > sim[1, 2] + 0.2


@pytest.mark.slow
def test_packaged_model_matches_sentence_transformers(minilm):
    st = pytest.importorskip("sentence_transformers")
    reference = st.SentenceTransformer(str(default_model_path()), device="cpu")
    texts = TEXTS[:1] + TEXTS[2:]  # texts within one window, where both must agree
    np.testing.assert_allclose(minilm.encode(texts), reference.encode(texts), atol=1e-5)


@pytest.mark.parametrize("damage, message", [
    ("specials_only", "maps every word of .* to \\[UNK\\]"),
    ("bigger_vocab", "tokenizer has .* tokens but the model's embedding table has .* rows"),
    ("garbage_weights", "does not hold a loadable Hugging Face model"),
    ("garbage_config", "does not hold a loadable Hugging Face model"),
])
def test_a_plain_folder_with_a_lost_or_swapped_tokenizer_or_broken_files_is_refused(tiny_bert, damage, message):
    """Folders without a musemood manifest (a plain Hugging Face folder) are checked by what they hold."""
    vocab = tiny_bert / "vocab.txt"
    if damage in ("specials_only", "bigger_vocab"):
        (tiny_bert / "tokenizer.json").unlink()
        extra = "".join(f"extra{i}\n" for i in range(5000)) if damage == "bigger_vocab" else ""
        vocab.write_text(("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n" if damage == "specials_only" else vocab.read_text())
                         + extra)
    elif damage == "garbage_weights":
        (tiny_bert / "model.safetensors").write_bytes(b"garbage" * 100)
    else:
        (tiny_bert / "config.json").write_text("{")
    with pytest.raises(ValueError, match=message):
        BertEncoder(tiny_bert).load_weights()
