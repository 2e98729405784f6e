"""The other contenders: the DNN on TF-IDF, the BiLSTM, audio-only models and tBERT's ablations."""

import numpy as np
import pandas as pd
import pytest

from musemood import schema
from musemood.classifiers import LstmClassifier, TfidfDnnClassifier, make_model
from musemood.evaluation import compare_models

WORDS = {"happy": "sun dance smile bright summer gold shine", "sad": "rain grey tears cold alone dark winter"}


def _texts(n, seed=0, share_happy=0.5):
    """Short texts from two word pools with some shared filler: separable, not trivially."""
    rng = np.random.default_rng(seed)
    filler = "the road home night heart time".split()
    labels = np.where(rng.random(n) < share_happy, "happy", "sad")
    texts = [" ".join(rng.choice(WORDS[y].split(), 4).tolist() + rng.choice(filler, 4).tolist()) for y in labels]
    return texts, labels


@pytest.mark.parametrize("cls", [TfidfDnnClassifier, LstmClassifier])
def test_the_networks_learn_and_follow_the_estimator_contract(cls, tmp_path):
    texts, y = _texts(240)
    model = cls(epochs=15, random_state=0, min_df=1) if cls is TfidfDnnClassifier else cls(epochs=15, random_state=0)
    model.fit(texts[:200], y[:200])
    assert model.score(texts[200:], y[200:]) >= 0.95
    proba = model.predict_proba(texts[200:])
    assert proba.shape == (40, 2) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert list(model.classes_) == ["happy", "sad"]
    assert model.predict("sun dance smile bright") == "happy"  # one text in, one answer out
    assert model.history_ and {"train_loss", "valid_loss"} <= set(model.history_[0])
    again = cls(**model.get_params()).fit(texts[:200], y[:200])  # seeded: the same model
    np.testing.assert_allclose(again.predict_proba(texts[200:]), proba, rtol=1e-5, atol=1e-6)
    frame = pd.DataFrame({"lyrics": texts[200:]})
    assert (model.predict(frame) == model.predict(texts[200:])).all()
    # the texts it trained on, after a save too
    probe = texts[190:210]
    np.testing.assert_array_equal(model.trained_on(probe), [True] * 10 + [False] * 10)
    np.testing.assert_array_equal(cls.load(model.save(tmp_path / "m")).trained_on(probe), [True] * 10 + [False] * 10)


def test_balanced_class_weights_lift_the_rare_class():
    texts, y = _texts(300, seed=1, share_happy=0.08)
    rare = np.flatnonzero(y == "happy")
    test_texts, test_y = _texts(200, seed=2)
    recall = {}
    for weight in (None, "balanced"):
        model = LstmClassifier(epochs=6, random_state=0, class_weight=weight, early_stopping_patience=None)
        pred = model.fit(texts, y).predict(test_texts)
        recall[weight] = np.mean(pred[test_y == "happy"] == "happy")
    assert len(rare) < 40 and recall["balanced"] >= recall[None]


@pytest.mark.parametrize("params, message", [
    ({"cell": "rnn"}, "cell must be one of 'lstm', 'gru'"),
    ({"class_weight": "auto"}, "class_weight must be one of 'balanced'"),
    ({"max_tokens": 0}, "max_tokens must be"),
])
def test_bad_network_parameters_are_clear_errors(params, message):
    texts, y = _texts(20)
    with pytest.raises(ValueError, match=message):
        LstmClassifier(**params).fit(texts, y)


def test_gru_and_regression_work_too():
    texts, y = _texts(120)
    target = (y == "happy").astype(float) * 2 - 1
    model = LstmClassifier(cell="gru", epochs=8, random_state=0, objective="regression").fit(texts, target)
    pred = model.predict(texts)
    assert pred.dtype.kind == "f" and np.corrcoef(pred, target)[0, 1] > 0.8
    with pytest.raises(AttributeError, match="regression"):
        model.predict_proba(texts)


def test_make_model_knows_every_contender():
    audio = list(schema.AUDIO_FEATURES)
    for name in schema.MODELS:
        model = make_model(name, audio_columns=audio, epochs=3, batch_size=16, encoder=None, n_topics=3,
                           random_state=0, max_length=64)
        assert model is not None
    assert make_model("tbert_topics", audio_columns=audio).audio_columns is None
    assert make_model("tbert_audio", n_topics=3).n_topics is None
    assert make_model("dnn", epochs=3, batch_size=16).epochs == TfidfDnnClassifier().epochs  # BERT's settings
    with pytest.raises(ValueError, match="audio features alone, and this data has none"):
        make_model("audio_gb", audio_columns=None)


@pytest.fixture(scope="module")
def songs():
    from musemood.datasets import drop_duplicate_songs, load_demo

    df = load_demo(500, random_state=3)
    return drop_duplicate_songs(df[df["label"].notna()]).reset_index(drop=True)


def test_compare_runs_the_baselines_with_times_and_device(songs, tmp_path):
    models = ("majority", "tfidf", "dnn", "lstm", "audio_mlp", "audio_gb")
    result = compare_models(songs, models=models, seeds=(0,))
    table = result.table()
    assert list(table.index) == ["Majority class", "TF-IDF + logistic regression", "DNN on TF-IDF", "BiLSTM",
                                 "Audio only: MLP", "Audio only: gradient boosting"]
    runs = result.runs.set_index("model")
    assert (runs["predict_seconds"] > 0).all() and (runs["train_seconds"] > 0).all()
    assert set(runs["device"]) == {"cpu"}
    # the demo's moods follow the audio too: the audio-only models beat the majority class
    assert runs.loc["audio_gb", "accuracy"] > runs.loc["majority", "accuracy"]
    markdown = result.to_markdown()
    assert "| device |" in markdown and "prediction time (s)" in markdown and "| cpu |" in markdown
    result.save(tmp_path)


def test_audio_models_on_text_only_data_fail_before_training(songs):
    text_only = songs[["lyrics", "label"]]
    with pytest.raises(ValueError, match="audio_gb, tbert_audio need audio features"):
        compare_models(text_only, models=("tfidf", "audio_gb", "tbert_audio"), seeds=(0,))


def test_tbert_ablations_build_on_the_fine_tuned_encoder(songs, tiny_bert):
    models = ("finetuned", "tbert_topics", "tbert_audio", "tbert")
    result = compare_models(songs.head(160), models=models, seeds=(0,), encoder=str(tiny_bert), epochs=1,
                            max_length=32, batch_size=8, n_topics=2, keep_models=True)
    kept = result.models
    assert kept["tbert_topics"].audio_ is None and kept["tbert_topics"].topics_ is not None
    assert kept["tbert_audio"].topics_ is None and kept["tbert_audio"].audio_ is not None
    assert kept["tbert"].topics_ is not None and kept["tbert"].audio_ is not None
    runs = result.runs.set_index("model")
    for name in models[1:]:  # each includes the fine-tuning it starts from
        assert runs.loc[name, "train_seconds"] > runs.loc["finetuned", "train_seconds"]
    assert list(result.table().index) == ["Fine-tuned BERT", "tBERT: text + topics", "tBERT: text + audio", "tBERT"]


def test_balanced_weights_follow_the_training_counts():
    model = LstmClassifier(class_weight="balanced")
    model.classes_ = np.array(["happy", "sad"])
    loss = model._loss(np.array([0, 0, 0, 1, 1]), np.arange(4), "cpu")  # the 5th song is not a training song
    np.testing.assert_allclose(loss.weight.numpy(), [4 / (2 * 3), 4 / (2 * 1)])
    assert LstmClassifier()._loss(np.array([0, 1]), np.arange(2), "cpu").weight is None


def test_compare_command_on_text_only_data_with_class_weights(tmp_path, capsys):
    from musemood.cli import main

    texts, y = _texts(150, seed=4, share_happy=0.3)
    path = tmp_path / "comments.csv"
    pd.DataFrame({"text": texts, "label": y}).to_csv(path, index=False)
    code = main(["compare", "--data", str(path), "--text-column", "text", "--models", "tfidf,dnn,lstm",
                 "--class-weight", "balanced", "--seeds", "1", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code in (0, None)
    assert "| DNN on TF-IDF |" in out and "| BiLSTM |" in out and "macro-F1" in out and "| cpu |" in out
    assert (tmp_path / "out" / "table.json").exists()
    code = main(["compare", "--data", str(path), "--text-column", "text", "--models", "audio_mlp"])
    assert code != 0 and "need audio features" in capsys.readouterr().err


@pytest.mark.parametrize("cls", [TfidfDnnClassifier, LstmClassifier])
def test_the_networks_save_and_load_without_pickles(cls, tmp_path):
    from musemood.classifiers import load_model

    texts, y = _texts(120)
    kwargs = {"min_df": 1} if cls is TfidfDnnClassifier else {}
    model = cls(epochs=3, random_state=0, **kwargs).fit(texts, y)
    folder = model.save(tmp_path / "model")
    assert {p.name for p in folder.iterdir()} >= {"config.json", "net.safetensors"}
    again = load_model(folder)
    assert type(again) is cls and again.get_params() == model.get_params()
    np.testing.assert_allclose(again.predict_proba(texts[:30]), model.predict_proba(texts[:30]), rtol=1e-6)
    vocabulary = folder / ("terms.json" if cls is TfidfDnnClassifier else "vocabulary.json")
    vocabulary.write_text('["sun", "sun"]')
    with pytest.raises(ValueError, match=vocabulary.name):
        cls.load(folder)


def test_train_and_predict_commands_take_the_baselines(tmp_path, capsys):
    from musemood.cli import main

    texts, y = _texts(100, seed=5)
    data = tmp_path / "songs.csv"
    pd.DataFrame({"lyrics": texts, "label": y}).to_csv(data, index=False)
    assert main(["train", "--data", str(data), "--model", "lstm", "--out", str(tmp_path / "lstm")]) in (0, None)
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "lstm"), "--text", "sun dance smile bright gold", "--json"]) in (0, None)
    assert "happy" in capsys.readouterr().out


def test_a_network_is_identified_by_its_trained_weights():
    """The identity that keeps runs apart (embed's and predict's resumable parts) tells apart two DNNs with the
    same settings trained on other texts: it used to hash only the BERT models' head_, so their parts mixed."""
    from musemood.embed import model_identity

    texts, y = _texts(120)
    other_texts, other_y = _texts(120, seed=1)
    first = TfidfDnnClassifier(epochs=3, random_state=0, min_df=1).fit(texts, y)
    second = TfidfDnnClassifier(epochs=3, random_state=0, min_df=1).fit(other_texts, other_y)
    assert model_identity(first)["sha256"] != model_identity(second)["sha256"]
    assert model_identity(first) == model_identity(TfidfDnnClassifier(**first.get_params()).fit(texts, y))
