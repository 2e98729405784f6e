"""The three song estimators with a tiny random BERT: contract, alignment, persistence."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from musemood import FineTunedBertClassifier, SimpleBertClassifier, TBertClassifier, schema

HAPPY = "sunshine smile laugh dance golden joy glad".split()
SAD = "tears cold grey broken lonely cry sorrow".split()
NEUTRAL = "the road river window table street clock train door kitchen porch".split()


def make_songs(n, seed, signal):
    """Songs whose label shows in the lyrics only ("text") or in valence only ("audio")."""
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.5, "happy", "sad")
    texts = []
    for label in y:
        words = list(rng.choice(NEUTRAL, 30))
        if signal == "text":
            words += list(rng.choice(HAPPY if label == "happy" else SAD, 6))
        rng.shuffle(words)
        texts.append(" ".join(words))
    df = pd.DataFrame({schema.LYRICS: texts})
    for f in schema.AUDIO_FEATURES:
        df[f] = rng.random(n)
    df[schema.KEY] = rng.integers(0, 12, n).astype(float)
    df[schema.MODE] = rng.integers(0, 2, n).astype(float)
    df[schema.TIME_SIGNATURE] = 4.0
    if signal == "audio":
        df[schema.VALENCE] = np.where(y == "happy", rng.uniform(0.6, 1, n), rng.uniform(0, 0.4, n))
    df.loc[df.index[:3], list(schema.AUDIO_FEATURES)] = np.nan  # some songs without audio
    return df, y


FAST = dict(max_length=32, stride=8, random_state=0, validation_fraction=0.2, min_steps=None)


def fine_tuned(path, **kw):
    # min_validation_songs=None: these small sets keep their validation split, to test early stopping
    params = dict(epochs=6, batch_size=8, learning_rate=2e-3, strategy="finetune", min_validation_songs=None, **FAST)
    params.update(kw)
    return FineTunedBertClassifier(path, **params)


def tbert(path, **kw):
    params = dict(epochs=6, batch_size=8, learning_rate=2e-3, n_topics=3, head_epochs=30, strategy="finetune",
                  min_validation_songs=None,
                  topic_params={"passes": 2, "evaluate": False, "max_df": 1.0}, hidden_size=16, **FAST)
    params.update(kw)
    return TBertClassifier(path, **params)


@pytest.fixture(scope="module")
def text_data():
    return make_songs(160, 0, "text"), make_songs(80, 1, "text")


@pytest.fixture(scope="module")
def audio_data():
    return make_songs(160, 2, "audio"), make_songs(80, 3, "audio")


def test_simple_bert_learns_from_lyrics(tiny_bert, text_data):
    (X, y), (Xt, yt) = text_data
    model = SimpleBertClassifier(tiny_bert, hidden_size=32, **FAST).fit(X, y)
    assert model.score(Xt, yt) > 0.85
    assert list(model.classes_) == ["happy", "sad"]
    assert model.embed(Xt).shape == (80, 32)
    assert model.history_ and "valid_loss" in model.history_[0]


def test_training_keeps_the_epoch_of_the_best_validation_accuracy_ties_broken_by_the_loss():
    import torch

    from musemood.classifiers._nn import train_loop

    torch.manual_seed(0)
    model = torch.nn.Linear(2, 2)
    x, y = torch.randn(8, 2), torch.tensor([0, 1] * 4)
    # loss falls all along, accuracy peaks at epoch 3, where epoch 4 ties with a higher loss
    scripted = iter([(0.9, 0.5), (0.8, 0.6), (0.7, 0.8), (0.75, 0.8), (0.5, 0.7), (0.4, 0.7), (0.3, 0.6)])
    weights = []

    def evaluate():
        weights.append(model.weight.detach().clone())
        loss, accuracy = next(scripted)
        return {"valid_loss": loss, "valid_accuracy": accuracy}

    history = train_loop(model, lambda epoch: [({"input": x}, y)], torch.nn.CrossEntropyLoss(), epochs=7,
                         learning_rate=0.1, evaluate=evaluate, patience=3)
    assert [r["valid_accuracy"] for r in history] == [0.5, 0.6, 0.8, 0.8, 0.7, 0.7]  # stopped: 3 without better
    torch.testing.assert_close(model.weight.detach(), weights[2])  # epoch 3, not the lower losses after it


def test_only_a_head_with_balanced_class_weights_is_judged_by_its_validation_accuracy(tiny_bert):
    X, y = make_songs(60, 0, "text")
    balanced = SimpleBertClassifier(tiny_bert, hidden_size=8, epochs=3, class_weight="balanced", **FAST).fit(X, y)
    assert all(0 <= r["valid_accuracy"] <= 1 and "valid_loss" in r for r in balanced.history_)
    plain = SimpleBertClassifier(tiny_bert, hidden_size=8, epochs=3, **FAST).fit(X, y)
    regression = SimpleBertClassifier(tiny_bert, hidden_size=8, epochs=3, objective="regression",
                                      class_weight="balanced", **FAST).fit(X, np.random.default_rng(0).random(len(X)))
    for model in (plain, regression):
        assert all("valid_accuracy" not in r and "valid_loss" in r for r in model.history_)


def test_fine_tuned_bert_learns_from_lyrics_with_long_texts_chunked(tiny_bert, text_data):
    (X, y), (Xt, yt) = text_data
    model = fine_tuned(tiny_bert).fit(X, y)
    assert len(model.encoder_.chunk(list(X[schema.LYRICS][:5]))["input_ids"]) > 5  # several windows
    assert model.score(Xt, yt) > 0.85
    proba = model.predict_proba(Xt)
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-5)


@pytest.mark.parametrize("mode", ["two_stage", "joint"])
def test_tbert_uses_each_block_from_the_right_song(tiny_bert, text_data, audio_data, mode):
    # Labels in the lyrics only, then in valence only: a model whose lyrics and audio
    # rows are shuffled against each other (the study's code) fails one of the two.
    # Shuffled blocks score about 0.5.
    extra = {"two_stage": {"head_learning_rate": 1e-2}, "joint": {"epochs": 15}}[mode]
    for (X, y), (Xt, yt) in (text_data, audio_data):
        model = tbert(tiny_bert, mode=mode, **extra).fit(X, y)
        assert model.score(Xt, yt) > 0.8, (mode, model.history_[-3:])


@pytest.mark.parametrize("make", ["simple", "finetuned", "tbert"])
def test_contrastive_strategy_tunes_the_encoder_then_trains_a_head(tiny_bert, text_data, audio_data, make):
    (X, y), (Xt, yt) = text_data
    build = {"simple": lambda **kw: SimpleBertClassifier(tiny_bert, hidden_size=32, **FAST, **kw),
             "finetuned": lambda **kw: fine_tuned(tiny_bert, **kw),
             "tbert": lambda **kw: tbert(tiny_bert, head_learning_rate=1e-2, **kw)}[make]
    model = build(strategy="contrastive", contrastive_epochs=4, contrastive_learning_rate=2e-3).fit(X, y)
    assert model.strategy_ == "contrastive"
    stages = [r["stage"] for r in model.history_]
    assert stages[:4] == ["contrastive"] * 4 and set(stages[4:]) == {"head"}
    assert model.score(Xt, yt) > 0.85
    # The encoder moved: a frozen one gives other vectors.
    frozen = build(strategy="frozen" if make == "simple" else "finetune", epochs=0).fit(X, y)
    assert not np.allclose(model.encoder_.encode(["sunshine smile"]), frozen.encoder_.encode(["sunshine smile"]))
    assert model._label_trained_vectors and (make != "simple" or not frozen._label_trained_vectors)


def test_simple_bert_head_takes_the_width_of_given_embeddings(tiny_bert, text_data, tmp_path):
    (X, y), _ = text_data
    vectors = np.random.default_rng(0).normal(size=(len(X), 5)).astype(np.float32)  # not the encoder's width
    model = SimpleBertClassifier(tiny_bert, hidden_size=8, epochs=2, **FAST).fit(X, y, embeddings=vectors)
    assert model.head_config_["in_dim"] == 5
    model.save(tmp_path / "m")
    assert SimpleBertClassifier.load(tmp_path / "m").head_config_["in_dim"] == 5


def test_contrastive_pairs_pull_same_labels_together():
    import torch

    from musemood.classifiers._training import pair_loss

    labels = torch.tensor([0, 0, 1, 1])
    apart = torch.tensor([[1.0, 0], [1, 0], [0, 1], [0, 1]])  # same class: cosine 1, other: 0
    assert float(pair_loss(apart, labels)) == pytest.approx(0.0)
    assert float(pair_loss(torch.ones(4, 2), labels)) == pytest.approx(8 / 12)  # 8 of 12 pairs should be 0


def test_auto_strategy_is_contrastive_below_few_shot_below(tiny_bert, text_data):
    (X, y), _ = text_data  # 160 songs, 128 for training
    small = fine_tuned(tiny_bert, strategy="auto", few_shot_below=129, contrastive_epochs=1, epochs=1).fit(X, y)
    large = fine_tuned(tiny_bert, strategy="auto", few_shot_below=128, contrastive_epochs=1, epochs=1).fit(X, y)
    assert (small.strategy_, large.strategy_) == ("contrastive", "finetune")
    assert SimpleBertClassifier(tiny_bert, strategy="auto", few_shot_below=100, **FAST).fit(X, y).strategy_ == "frozen"
    # Regression has no pairs of labels: auto fine-tunes, contrastive says why it cannot.
    values = np.linspace(0, 1, len(X))
    reg = fine_tuned(tiny_bert, strategy="auto", objective="regression", epochs=1).fit(X, values)
    assert reg.strategy_ == "finetune"
    with pytest.raises(ValueError, match="needs objective='classification'"):
        fine_tuned(tiny_bert, strategy="contrastive", objective="regression").fit(X, values)
    with pytest.raises(ValueError, match="strategy"):
        fine_tuned(tiny_bert, strategy="setfit").fit(X, y)
    with pytest.raises(ValueError, match="contrastive_epochs"):
        fine_tuned(tiny_bert, contrastive_epochs=0).fit(X, y)


def test_min_steps_raises_the_epochs_of_a_small_training_set(tiny_bert, text_data):
    from musemood.classifiers._training import epochs_for_steps

    assert epochs_for_steps(4, 200, 16, 100) == 8  # 13 batches an epoch
    assert epochs_for_steps(4, 2000, 16, 100) == 4
    assert epochs_for_steps(4, 200, 16, None) == 4 and epochs_for_steps(0, 200, 16, 100) == 0
    (X, y), _ = text_data  # 128 training songs in batches of 8: 16 steps an epoch
    model = fine_tuned(tiny_bert, epochs=1, min_steps=40, early_stopping_patience=None).fit(X, y)
    assert len(model.history_) == 3


def _record_training_loops(monkeypatch):
    """Each training loop run from now on, as ``(desc, training songs, evaluate)``."""
    from musemood.classifiers import _training

    seen = []
    real = _training.train_loop

    def recording(model, batches, loss_fn, **kwargs):
        seen.append((kwargs["desc"], sum(len(targets) for _, targets in batches(0)), kwargs["evaluate"]))
        return real(model, batches, loss_fn, **kwargs)

    monkeypatch.setattr(_training, "train_loop", recording)
    return seen


def test_fine_tuning_trains_on_every_song_when_the_validation_split_would_be_too_small(tiny_bert, text_data,
                                                                                     monkeypatch):
    seen = _record_training_loops(monkeypatch)
    (X, y), _ = text_data
    n_valid = int(np.ceil(0.2 * len(X)))
    assert n_valid < 50
    model = fine_tuned(tiny_bert, epochs=2, min_steps=None, min_validation_songs=50).fit(X, y)
    assert seen[-1][1:] == (len(X), None)  # every song trains, no early stopping
    assert len(model.history_) == 2 and all("valid_loss" not in r for r in model.history_)
    fine_tuned(tiny_bert, epochs=2, min_steps=None, min_validation_songs=n_valid).fit(X, y)
    assert seen[-1][1] == len(X) - n_valid and seen[-1][2] is not None  # a split of that size is kept


def test_tbert_text_block_leaves_a_small_validation_split_to_its_head(tiny_bert, text_data, monkeypatch):
    # the two-stage head stops early on the validation songs: the encoder must not train on them,
    # even when they are too few to stop the encoder itself
    seen = _record_training_loops(monkeypatch)
    (X, y), _ = text_data
    n_valid = int(np.ceil(0.2 * len(X)))
    model = tbert(tiny_bert, epochs=1, min_steps=None, min_validation_songs=50, audio_columns=None).fit(X, y)
    (stage, tuned, tuned_eval), (head_stage, head, head_eval) = seen
    assert (stage, head_stage) == ("Fine-tuning", "Head")
    assert tuned == head == len(X) - n_valid  # neither stage trains on the validation songs
    assert tuned_eval is None and head_eval is not None  # the encoder trains all its epochs; the head stops early
    assert {r["stage"] for r in model.history_} == {"fine_tuning", "head"}


def test_predictions_follow_row_order(tiny_bert, audio_data):
    (X, y), (Xt, _) = audio_data
    model = tbert(tiny_bert, epochs=1).fit(X, y)
    perm = np.random.default_rng(0).permutation(len(Xt))
    np.testing.assert_allclose(model.predict_proba(Xt.iloc[perm]), model.predict_proba(Xt)[perm], atol=1e-5)
    one = model.predict_proba(Xt.iloc[[5]])
    np.testing.assert_allclose(one[0], model.predict_proba(Xt)[5], atol=1e-5)
    # lyrics without audio columns (a lyrics-only file): as the same texts alone, the medians stand in
    lyrics_only = model.predict_proba(Xt[[schema.LYRICS]])
    np.testing.assert_allclose(lyrics_only, model.predict_proba(list(Xt[schema.LYRICS])), atol=1e-5)


def test_tbert_without_audio_or_topics(tiny_bert, text_data):
    (X, y), (Xt, yt) = text_data
    texts_only = tbert(tiny_bert, audio_columns=None, n_topics=None).fit(list(X[schema.LYRICS]), y)
    assert texts_only.topics_ is None and texts_only.audio_ is None
    assert texts_only.score(list(Xt[schema.LYRICS]), yt) > 0.85
    assert texts_only.embed(list(Xt[schema.LYRICS][:4])).shape == (4, 16)


def test_random_state_makes_runs_repeatable(tiny_bert, text_data):
    (X, y), (Xt, _) = text_data
    a = fine_tuned(tiny_bert, epochs=2).fit(X, y).predict_proba(Xt)
    b = fine_tuned(tiny_bert, epochs=2).fit(X, y).predict_proba(Xt)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_multiclass(tiny_bert):
    rng = np.random.default_rng(0)
    words = {"a": HAPPY, "b": SAD, "c": ["river", "train", "clock", "porch"]}
    y = rng.choice(list("abc"), 150)
    X = [" ".join(rng.choice(words[label], 6)) for label in y]
    model = SimpleBertClassifier(tiny_bert, hidden_size=32, **FAST).fit(X, y)
    assert list(model.classes_) == ["a", "b", "c"]
    assert model.predict_proba(X).shape == (150, 3)
    assert model.score(X, y) > 0.9


def test_numbered_classes_are_scored_whatever_type_the_test_labels_come_in(tiny_bert):
    """`musemood train` keeps numbered labels as text ('-1', '0', '1'), while a test file read with pandas
    gives numbers (or floats, when a value is missing): score() refused ints against the model's strings."""
    rng = np.random.default_rng(0)
    words = {0: HAPPY, 1: SAD, -1: ["river", "train", "clock", "porch"]}
    y = rng.choice([-1, 0, 1], 150)
    X = [" ".join(rng.choice(words[label], 6)) for label in y]
    as_text = SimpleBertClassifier(tiny_bert, hidden_size=32, **FAST).fit(X, y.astype(str))
    expected = as_text.score(X, y.astype(str))
    assert expected > 0.9
    assert as_text.score(X, y) == expected and as_text.score(X, y.astype(float)) == expected
    as_numbers = SimpleBertClassifier(tiny_bert, hidden_size=32, **FAST).fit(X, y)
    assert as_numbers.score(X, y.astype(str)) == as_numbers.score(X, y)
    # a model saved with float-like classes ('1.0', from a label column with a missing value) still matches
    assert as_text.score(X, [f"{v:.1f}" for v in y]) == expected
    # a label the model never learned counts as wrong, of whatever type
    assert as_text.score(X[:10], ["happy"] * 10) == 0.0 and as_numbers.score(X[:10], ["x"] * 10) == 0.0


def test_regression_mode(tiny_bert, audio_data):
    (X, _), (Xt, _) = audio_data
    model = tbert(tiny_bert, objective="regression", epochs=2, n_topics=None)
    model.fit(X, X[schema.VALENCE].fillna(0.5))
    pred = model.predict(Xt)
    assert pred.dtype.kind == "f" and pred.shape == (80,)
    assert model.score(Xt, Xt[schema.VALENCE].fillna(0.5)) > 0.5  # R²
    with pytest.raises(AttributeError, match="regression"):
        model.predict_proba(Xt)


@pytest.mark.parametrize("optimizer", ["adagrad", "sgd"])
def test_other_optimizers(tiny_bert, text_data, optimizer):
    (X, y), _ = text_data
    model = fine_tuned(tiny_bert, epochs=1, optimizer=optimizer, learning_rate=1e-3).fit(X[:40], y[:40])
    assert np.isfinite(model.history_[0]["train_loss"])


def test_lora_trains_adapters_and_saves_a_plain_encoder(tiny_bert, text_data, tmp_path):
    (X, y), (Xt, yt) = text_data
    model = fine_tuned(tiny_bert, lora=True, lora_r=8, learning_rate=1e-2, epochs=10).fit(X, y)
    assert type(model.encoder_.model_).__name__ == "BertModel"  # adapters merged
    assert model.score(Xt, yt) > 0.85
    model.save(tmp_path / "lora")
    loaded = FineTunedBertClassifier.load(tmp_path / "lora")
    np.testing.assert_allclose(loaded.predict_proba(Xt), model.predict_proba(Xt), atol=1e-5)


def test_lora_adapters_are_added_without_peft_s_deprecation_warning(tiny_bert):
    import warnings

    from transformers import AutoModel

    from musemood.classifiers._training import _add_lora

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = _add_lora(AutoModel.from_pretrained(tiny_bert), FineTunedBertClassifier(lora=True))
    assert type(model).__name__ == "PeftModel"
    assert not [w for w in caught if "is_gradient_checkpointing" in str(w.message)]


@pytest.mark.parametrize("make", ["simple", "fine_tuned", "tbert"])
def test_save_load_predicts_exactly_as_before(tiny_bert, audio_data, tmp_path, make):
    (X, y), (Xt, _) = audio_data
    tiny_bert = str(tiny_bert)
    model = {
        "simple": lambda: SimpleBertClassifier(tiny_bert, hidden_size=8, epochs=3, **FAST),
        "fine_tuned": lambda: fine_tuned(tiny_bert, epochs=1),
        "tbert": lambda: tbert(tiny_bert, epochs=1, head_epochs=3),
    }[make]().fit(X, y)
    model.save(tmp_path / "m")
    assert not list((tmp_path / "m").rglob("*.pkl")) and not list((tmp_path / "m").rglob("*.bin"))
    loaded = type(model).load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(Xt), model.predict_proba(Xt))
    from musemood.classifiers import load_model

    assert type(load_model(tmp_path / "m")) is type(model)
    np.testing.assert_array_equal(loaded.embed(Xt), model.embed(Xt))
    assert list(loaded.classes_) == list(model.classes_)
    assert loaded.get_params() == model.get_params()
    assert loaded.strategy_ == model.strategy_ and loaded._label_trained_vectors == model._label_trained_vectors
    with pytest.raises(ValueError, match="not a"):
        (SimpleBertClassifier if make != "simple" else TBertClassifier).load(tmp_path / "m")
    # the texts it trained on are known after loading too: scores on them would flatter it
    both = pd.concat([X.iloc[:5], Xt.iloc[:5]])
    np.testing.assert_array_equal(loaded.trained_on(both), [True] * 5 + [False] * 5)
    assert model.trained_on(X).all() and not model.trained_on(Xt).any()


def test_trained_on_reads_texts_as_the_model_does(tiny_bert, text_data, tmp_path, capsys):
    (X, y), _ = text_data
    model = SimpleBertClassifier(tiny_bert, hidden_size=8, epochs=2, **FAST).fit(X.iloc[:60], y[:60])
    first = X[schema.LYRICS].iloc[0]
    # cleaned as for training: a section header and other line breaks do not make another song
    same = ["[Chorus]\n" + first.replace(" ", "\n", 3), first + "  "]
    np.testing.assert_array_equal(model.trained_on([*same, "a song it never saw", "", None]),
                                  [True, True, False, False, False])
    assert model.trained_on(first) is True  # one text in, one answer out, as predict
    assert model.trained_on(X.iloc[:80]).sum() == 60
    # a model saved before musemood recorded them cannot tell; it says so
    model.save(tmp_path / "m")
    (tmp_path / "m" / "training_texts.npy").unlink()
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    del config["files"]["training_texts.npy"], config["training_texts"]
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    old = SimpleBertClassifier.load(tmp_path / "m")
    assert old.training_texts_ is None
    with pytest.raises(ValueError, match="saved without the fingerprints of the texts it trained on"):
        old.trained_on(["a song"])
    from musemood.cli import main

    X.iloc[:70].assign(label=y[:70]).to_csv(tmp_path / "songs.csv", index=False)
    assert main(["evaluate", str(tmp_path / "m"), "--data", str(tmp_path / "songs.csv")]) == 0
    out = capsys.readouterr().out
    assert "70 labelled songs" in out and "it cannot tell whether some of these songs are among them" in out
    with pytest.raises(NotFittedError):
        SimpleBertClassifier().trained_on(["a song"])


def test_sklearn_contract():
    model = TBertClassifier(n_topics=5, lora=True, random_state=3)
    params = model.get_params()
    assert params["n_topics"] == 5 and params["lora"] is True and params["random_state"] == 3
    assert params["audio_columns"] == schema.AUDIO_FEATURES
    copy = clone(model)
    assert copy.get_params() == params
    assert copy.set_params(mode="joint").mode == "joint"
    assert not hasattr(copy, "head_")


@pytest.mark.parametrize(
    "X, y, error, message",
    [
        (["a b", "c d"], ["x", None], ValueError, "missing labels"),
        (["a b", "c d"], ["x", "x"], ValueError, "single class"),
        (["a b", "c d", "e f"], ["sad", "happy", "Happy "], ValueError,
         r"^y: the labels 'Happy ' \(1 song\) and 'happy' \(1 song\) differ only in case or spaces"),
        (["", "  "], ["x", "y"], ValueError, "empty"),
        (["a b"], ["x", "y"], ValueError, "2 labels"),
        (pd.DataFrame({"text": ["a", "b"]}), ["x", "y"], KeyError, "text_column"),
        ("just one string", ["x"], TypeError, "single string"),  # fit only; predict takes one string
    ],
)
def test_bad_input_gets_a_clear_error(tiny_bert, X, y, error, message):
    with pytest.raises(error, match=message):
        SimpleBertClassifier(tiny_bert).fit(X, y)


def test_topics_that_cannot_be_fitted_say_which_tbert_parameters_help(tiny_bert):
    X = pd.DataFrame({"lyrics": ["alpha beta", "gamma delta", "epsilon zeta", "eta theta"]})  # no word twice
    with pytest.raises(ValueError, match="tBERT's topics on \\d+ training songs: every word was filtered out.*"
                                         "topic_params=.*n_topics=None"):
        tbert(tiny_bert, n_topics=2, audio_columns=None).fit(X, ["x", "y", "x", "y"])


def test_tbert_audio_needs_a_dataframe(tiny_bert):
    with pytest.raises(TypeError, match="audio_columns=None"):
        tbert(tiny_bert, n_topics=None).fit(["a b", "c d", "e f", "g h"], ["x", "y", "x", "y"])
    with pytest.raises(KeyError, match="audio_columns=None"):
        tbert(tiny_bert, n_topics=None).fit(pd.DataFrame({"lyrics": ["a b", "c d"]}), ["x", "y"])


@pytest.mark.slow
def test_packaged_encoder_learns_demo_moods():
    from musemood.datasets import drop_duplicate_songs, load_demo

    df = load_demo(1200, random_state=5)
    df = drop_duplicate_songs(df[df["label"].notna()])
    train, test = df[df["split"] != "test"], df[df["split"] == "test"]
    model = SimpleBertClassifier(max_length=128, stride=32, random_state=0).fit(train, train["label"])
    majority = test["label"].value_counts(normalize=True).iloc[0]
    assert model.score(test, test["label"]) > majority + 0.1


def test_predicting_a_song_without_words_says_so(tiny_bert, caplog):
    """A song whose lyrics are empty once cleaned ("[Instrumental]") gets a prediction all the same (one row
    per song), and a warning that names it: that prediction comes from no words."""
    from musemood.classifiers import SimpleBertClassifier

    train, y = make_songs(40, 0, "text")
    model = SimpleBertClassifier(str(tiny_bert), epochs=2, **FAST).fit(train, y)
    songs = train.head(4).assign(song_id=list("abcd"))
    songs.loc[2, schema.LYRICS] = "[Instrumental]"
    caplog.clear()
    with caplog.at_level("WARNING", logger="musemood.classifiers"):
        assert len(model.predict(songs)) == 4
    assert ("1 of 4 texts are empty after cleaning (the first at row 2 (song_id 'c'); none, or nothing but "
            "'Instrumental' or section headers): their predictions come from no words") in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="musemood.classifiers"):
        model.predict_proba(["la la", ""])
        model.embed(songs)  # song vectors for a catalogue: instrumentals are common there, and not an error
    assert caplog.text.count("empty after cleaning") == 1 and "the first at text 1" in caplog.text
