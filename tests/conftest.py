"""Shared fixtures: offline mode and a tiny randomly initialised BERT."""

import os
import shutil

import pytest

# Tests never reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# W&B records offline, never asks for a login.
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")


@pytest.fixture(autouse=True, scope="session")
def _private_home(tmp_path_factory):
    """Run folders and everything else musemood keeps go to a temporary MUSEMOOD_HOME, never the user's
    (a test that needs its own sets it with monkeypatch), and the keys file is the one there (none), never
    the file a user's MUSEMOOD_KEYS names."""
    old = {name: os.environ.get(name) for name in ("MUSEMOOD_HOME", "MUSEMOOD_KEYS")}
    os.environ["MUSEMOOD_HOME"] = str(tmp_path_factory.mktemp("musemood-home"))
    os.environ.pop("MUSEMOOD_KEYS", None)
    yield
    for name, value in old.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def _tiny_bert_dir(tmp_path_factory):
    """A 2-layer, hidden-32 BERT with a word-level vocabulary from the demo corpus."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from musemood.datasets import load_demo

    path = tmp_path_factory.mktemp("tiny-bert")
    words = set()
    for text in load_demo(300, random_state=0, label=False)["lyrics"]:
        words.update(text.lower().replace(",", " , ").replace("'", " ' ").split())
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *".,'![]()?:-", *letters]
    vocab += [f"##{c}" for c in letters] + sorted(words - set(vocab))
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    if len(tokenizer) != len(vocab):  # transformers 4.x takes a file
        tokenizer = BertTokenizerFast(vocab_file=str(path / "vocab.txt"), do_lower_case=True)
    assert tokenizer.tokenize("the road") == ["the", "road"], "tiny BERT vocabulary not loaded"
    tokenizer.save_pretrained(path)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(path)
    return path


@pytest.fixture
def tiny_bert(_tiny_bert_dir, tmp_path):
    """Path of a private copy of the tiny BERT (tests may modify it)."""
    return shutil.copytree(_tiny_bert_dir, tmp_path / "tiny-bert")
