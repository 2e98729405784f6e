"""The model comparison (Table 1), its checks and the train/predict commands, with a tiny BERT."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from musemood.cli import main
from musemood.evaluation import check_dataset, compare_models, mcnemar, score_predictions

FAST = ["--epochs", "1", "--max-length", "32", "--batch-size", "8", "--n-topics", "2"]


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    from musemood.datasets import drop_duplicate_songs, load_demo

    df = load_demo(400, random_state=1)
    df = drop_duplicate_songs(df[df["label"].notna()]).reset_index(drop=True)
    path = tmp_path_factory.mktemp("data") / "songs.csv"
    df.drop(columns=["tags"]).to_csv(path, index=False)
    return df, path


def test_mcnemar_exact():
    truth = np.array([1] * 10)
    a = np.array([1] * 8 + [0] * 2)  # a right on 8
    b = np.array([0] * 6 + [1] * 4)  # b right on 4
    # only a right: 6 (0-5), only b right: 2 (8, 9); p = P(X <= 2 | n=8) * 2
    bb, cc, p = mcnemar(truth, a, b)
    assert (bb, cc) == (6, 2)
    assert p == pytest.approx(2 * (1 + 8 + 28) / 256)
    assert mcnemar(truth, a, a)[2] == 1.0
    # two models far apart on thousands of songs: the exact p underflows to 0, and is said as below the floor
    truth = np.ones(6000)
    _, _, p = mcnemar(truth, np.ones(6000), np.r_[np.ones(1000), np.zeros(5000)])
    assert p == 0.0
    from musemood.evaluation import format_p

    assert format_p(p) == "< 1e-300" and format_p(0.00102) == "= 0.00102" and format_p(1.0) == "= 1"


def test_one_seed_comparison_gives_the_test_songs_noise_as_intervals(labelled, tmp_path):
    """With one seed, ± is 0: the table says how much the test songs alone could move each score."""
    df, _ = labelled
    result = compare_models(df, models=("majority", "tfidf"), seeds=(0,))
    intervals = result.intervals()
    assert list(intervals) == ["majority", "tfidf"]
    for name, runs in result.runs.set_index("model").iterrows():
        low, high = intervals[name]["accuracy"]
        assert low <= runs["accuracy"] <= high
    text = result.to_markdown()
    n_test = result.info["n_test"]
    low, high = intervals["tfidf"]["accuracy"]
    f1_low, f1_high = intervals["tfidf"]["f1"]
    assert (f"One seed, so every ± is 0. How far the scores could move with other test songs, as 95% bootstrap "
            f"intervals over these {n_test}:") in text
    assert f"- TF-IDF + logistic regression: accuracy {low:.3f} to {high:.3f}, macro-F1 {f1_low:.3f} to {f1_high:.3f}" \
        in text
    result.save(tmp_path)
    assert json.loads((tmp_path / "table.json").read_text())["intervals"] == intervals
    # several seeds: the ± says it
    assert "bootstrap" not in compare_models(df, models=("majority",), seeds=(0, 1)).to_markdown()


def test_compare_models_table(tiny_bert, labelled, tmp_path):
    df, _ = labelled
    result = compare_models(
        df, seeds=(0, 1), encoder=str(tiny_bert), epochs=1, max_length=32, batch_size=8,
        n_topics=2,
    )
    table = result.table()
    assert list(table.index) == ["Majority class", "TF-IDF + logistic regression", "Simple BERT",
                                 "Fine-tuned BERT", "tBERT"]
    assert ((table[("mean", "accuracy")] >= 0) & (table[("mean", "accuracy")] <= 1)).all()
    accuracy = ("mean", "accuracy")
    assert table.loc["TF-IDF + logistic regression", accuracy] > table.loc["Majority class", accuracy]
    assert len(result.runs) == 10 and set(result.runs["seed"]) == {0, 1}
    pooled = result.tests[result.tests["seed"] == "pooled"]
    assert list(zip(pooled["a"], pooled["b"])) == [("majority", "tfidf"), ("tfidf", "simple"),
                                                   ("simple", "finetuned"), ("finetuned", "tbert")]
    # tBERT builds on the fine-tuned model: its time includes the fine-tuning
    runs = result.runs.set_index(["seed", "model"])
    assert runs.loc[(0, "tbert"), "train_seconds"] > runs.loc[(0, "finetuned"), "train_seconds"]
    paths = result.save(tmp_path)
    names = {p.name for p in paths}
    assert {"table.json", "table.md", "loss_curves.png", "confusion.png"} <= names
    payload = json.loads((tmp_path / "table.json").read_text())
    assert "tBERT" in payload["table"] and payload["info"]["seeds"] == [0, 1]
    assert "± " in (tmp_path / "table.md").read_text()


def test_compare_on_a_given_test_file_trains_on_all_the_data_and_scores_that_file(labelled, tmp_path, capsys):
    """Benchmarks come with their own test split (Poem Sentiment, GoEmotions): compare drew its own 20%."""
    df, path = labelled
    train, test = df.iloc[:100], df.iloc[100:].reset_index(drop=True)
    result = compare_models(train, test_data=test, models=("majority", "tfidf"), seeds=(0, 1))
    assert result.info["n_songs"] == 100 and result.info["n_test"] == len(test) == 43
    assert result.test_rows == list(test.index)
    from musemood.classifiers import make_model

    tfidf = make_model("tfidf").fit(train, train["label"].astype(str))
    expected = float((tfidf.predict(test) == test["label"].astype(str)).mean())
    runs = result.runs.set_index(["seed", "model"])
    assert runs.loc[(0, "tfidf"), "accuracy"] == pytest.approx(expected)
    assert runs.loc[(1, "tfidf"), "accuracy"] == pytest.approx(expected)  # the same data: the same baseline
    with pytest.raises(KeyError, match="the test data's text column 'lyrics' is not in it"):
        compare_models(train, test_data=test.rename(columns={"lyrics": "words"}), models=("majority",))
    with pytest.raises(ValueError, match=r"the test data: rows without a label \(no value in 'label': .* in a "
                       r"CSV\): 1, with an empty text \(in 'lyrics'\): 0, the first at row 0 \(song_id '.+'\)"):
        compare_models(train, test_data=test.assign(label=[None] + list(test["label"][1:])), models=("majority",))
    # the command: --test-data FILE, read like --data
    train_path, test_path = tmp_path / "train.csv", tmp_path / "test.tsv"
    train.drop(columns=["tags"]).to_csv(train_path, index=False)
    test.drop(columns=["tags"]).to_csv(test_path, index=False, sep="\t")
    assert main(["compare", "--data", str(train_path), "--test-data", str(test_path), "--models", "majority,tfidf",
                 "--seeds", "1", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert f"trained on all 100 songs, scored on the {len(test)} test songs of the test data" in out
    assert f"{expected:.3f}" in out
    assert main(["compare", "--data", str(train_path), "--test-data", str(tmp_path / "missing.csv"),
                 "--models", "majority"]) == 2
    assert "missing.csv" in capsys.readouterr().err


def test_compare_use_split_tests_on_the_data_s_own_test_songs(labelled, tmp_path, capsys):
    """A file `musemood label` wrote has a split column; `train` and `evaluate` follow it, and compare draws its
    own test songs unless told to follow it too (--use-split)."""
    from musemood.classifiers import make_model

    df, path = labelled
    counts = df["split"].value_counts()
    assert counts["train"] and counts["valid"] and counts["test"]
    run = ["compare", "--data", str(path), "--models", "majority,tfidf", "--seeds", "1"]
    assert main([*run, "--use-split", "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert (f"Testing every seed on the {counts['test']} labelled 'test' songs of {path}'s split column, training on "
            f"its {counts['train']} 'train' songs (its {counts['valid']} 'valid' songs left out") in out
    train, test = df[df["split"] == "train"], df[df["split"] == "test"]
    expected = float((make_model("tfidf").fit(train, train["label"].astype(str)).predict(test)
                      == test["label"].astype(str)).mean())
    assert f"trained on all {len(train)} songs, scored on the {len(test)} test songs" in out
    assert f"{expected:.3f}" in out
    # without it: each seed's own test songs, and a word that the split column is not used
    assert main([*run, "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert f"The split column of {path} is not used" in out and "--use-split tests every seed" in out
    # what it cannot do
    no_split, no_test = tmp_path / "no-split.csv", tmp_path / "no-test.csv"
    df.drop(columns=["tags", "split"]).to_csv(no_split, index=False)
    df.drop(columns=["tags"]).assign(split="train").to_csv(no_test, index=False)
    for args, message in [(["--data", str(no_split)], "has no 'split' column"),
                          (["--data", str(no_test)], "has 0 labelled 'test' and"),
                          (["--data", str(path), "--test-data", str(path)], "--use-split and --test-data both")]:
        assert main(["compare", *args, "--use-split", "--models", "majority", "--seeds", "1",
                     "--out", str(tmp_path / "c")]) == 2
        assert message in capsys.readouterr().err
    assert main(["compare", "--data", str(no_split), "--models", "majority", "--seeds", "1",
                 "--out", str(tmp_path / "d")]) == 0
    assert "split column" not in capsys.readouterr().out


@pytest.mark.parametrize("strategy", ["finetune", "contrastive"])
def test_compare_passes_the_strategy_and_builds_tbert_on_that_encoder(tiny_bert, labelled, strategy):
    df, _ = labelled
    result = compare_models(df, models=("simple", "finetuned", "tbert"), seeds=(0,), encoder=str(tiny_bert),
                            epochs=1, max_length=32, batch_size=8, n_topics=2, strategy=strategy,
                            keep_models=True)
    kept = result.models
    assert kept["simple"].strategy_ == "frozen" and kept["finetuned"].strategy_ == strategy
    assert kept["tbert"].strategy_ == "finetune" and kept["tbert"].encoder_ is kept["finetuned"].encoder_
    assert result.info["strategy"] == strategy


@pytest.mark.parametrize(
    "frame, message",
    [
        (pd.DataFrame({"lyrics": ["a", "b"], "label": ["x", None]}), r"without a label .*: 1, .*the first at row 1 \("),
        (pd.DataFrame({"lyrics": ["a", ""], "label": ["x", "y"]}), "empty text"),
        (pd.DataFrame({"lyrics": ["a", "b"], "label": ["x", "x"]}), "single class"),
        (pd.DataFrame({"lyrics": list("abcde"), "label": ["sad", "happy", "happy ", "sad", "happy"]}),
         r"label column 'label': the labels 'happy' \(2 songs\) and 'happy ' \(1 song\) differ only in case"),
        (pd.DataFrame({"lyrics": ["a", "b", "c"], "label": ["x", "x", "y"]}), "single song"),
        (pd.DataFrame({"words": ["a"], "label": ["x"]}), "--text-column"),
        (pd.DataFrame({"lyrics": ["a"], "mood": ["x"]}), "--label-column"),
    ],
)
def test_check_dataset_errors(frame, message):
    with pytest.raises((ValueError, KeyError), match=message):
        check_dataset(frame, "lyrics", "label")


def test_a_file_read_without_its_header_line_is_named_as_such():
    """Poem Sentiment's TSVs have no header: pandas names the columns after the first row ('0', 'with pale
    blue berries...', '1') and the error listed those names as if they were columns."""
    frame = pd.DataFrame({"0": [1, 2], "with pale blue berries. in these peaceful shades--": ["a", "b"], "1": [0, 1]})
    with pytest.raises(KeyError) as error:
        check_dataset(frame, "lyrics", "label")
    message = str(error.value)
    assert "first row looks like data, not a header" in message and "no header line" in message
    assert "add one" in message and "--text-column" in message
    # a real header with a numbered column is not taken for data
    with pytest.raises(KeyError) as error:
        check_dataset(pd.DataFrame({"id": [1], "words": ["a"], "2024": [1], "label": ["x"]}), "lyrics", "label")
    assert "header" not in str(error.value)


def test_numeric_labels_with_single_songs_suggest_regression():
    frame = pd.DataFrame({"lyrics": list("abcde"), "valence": [0.811, 0.2, 0.2, 0.35, 0.35]})
    with pytest.raises(ValueError) as error:
        check_dataset(frame, "lyrics", "valence")
    message = str(error.value)
    assert "class 0.811 of 'valence' has a single song" in message and "np.float64" not in message
    assert "3 different numbers among 5 songs" in message and "--objective regression" in message
    with pytest.raises(ValueError, match="single song") as error:  # text classes: no regression hint
        check_dataset(pd.DataFrame({"lyrics": list("abc"), "label": ["x", "x", "y"]}), "lyrics", "label")
    assert "regression" not in str(error.value)


def test_songs_the_label_rule_rejected_are_left_out_with_a_note(caplog):
    """`musemood label --out` keeps every song, the rejected ones with a reason: train on it as it is."""
    frame = pd.DataFrame({"lyrics": list("abcdef"), "label": ["x", "y", None, "x", "y", None],
                          "label_reason": [None, None, "not_dominant", None, None, "too_few_tags"]})
    with caplog.at_level("WARNING", logger="musemood.evaluation"):
        kept = check_dataset(frame, "lyrics", "label")
    assert kept["lyrics"].tolist() == list("abde")
    assert "left out 2 of 6 songs that the k/epsilon rule did not label ('label_reason' says why)" in caplog.text
    with pytest.raises(ValueError, match="rows without a label .*: 1,"):  # a label missing without a reason
        check_dataset(frame.assign(label_reason=[None] * 5 + ["too_few_tags"]), "lyrics", "label")
    with pytest.raises(ValueError, match="rows without a label"):  # another label column: the reason is not its
        check_dataset(frame.rename(columns={"label": "mood"}), "lyrics", "mood")


def test_drop_missing():
    frame = pd.DataFrame({"lyrics": ["a", "b", "c", "d", ""], "label": ["x", "y", "x", "y", "x"]})
    assert len(check_dataset(frame, "lyrics", "label", drop_missing=True)) == 4


def test_cli_compare_on_a_user_csv(tiny_bert, labelled, tmp_path, capsys):
    _, path = labelled
    code = main(["compare", "--data", str(path), "--encoder", str(tiny_bert), "--seeds", "1",
                 "--models", "majority,tfidf,finetuned", "--optimizers", "adamw,sgd",
                 "--out", str(tmp_path), *FAST])
    assert code == 0
    out = capsys.readouterr().out
    assert "Table 1" in out and "Fine-tuned BERT" in out and "McNemar" in out
    assert (tmp_path / "optimizers.png").exists() and (tmp_path / "table.md").exists()


def test_cli_compare_errors_are_clear(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"text": ["a", "b"], "mood": ["x", "y"]}).to_csv(path, index=False)
    assert main(["compare", "--data", str(path), "--models", "majority"]) == 2
    assert "--text-column" in capsys.readouterr().err
    assert main(["compare", "--data", str(path), "--text-column", "text", "--label-column", "mood",
                 "--models", "majority,bogus"]) == 2
    assert "unknown models" in capsys.readouterr().err


def test_cli_train_holds_out_the_valid_and_test_songs_of_a_split_column(tiny_bert, labelled, tmp_path, capsys):
    from musemood.classifiers import load_model

    df, path = labelled
    held = df["split"].isin(["valid", "test"])
    argv = ["train", "--data", str(path), "--model", "simple", "--encoder", str(tiny_bert), *FAST]
    assert main([*argv, "--out", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    assert (f"Held out the {held.sum()} labelled songs of {path} whose split is 'valid' or 'test' (of {len(df)}): "
            "musemood evaluate scores them and the recommender tunes and is evaluated on them; --all-splits trains on "
            "them too") in out
    model = load_model(tmp_path / "m")
    np.testing.assert_array_equal(model.trained_on(df), ~held.to_numpy())
    # the same file then scores the songs held out, alone
    assert main(["evaluate", str(tmp_path / "m"), "--data", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_songs"] == held.sum() and result["trained_on"] == (~held).sum()
    assert main([*argv, "--all-splits", "--out", str(tmp_path / "all")]) == 0
    assert "Held out" not in capsys.readouterr().out
    assert load_model(tmp_path / "all").trained_on(df).all()
    # nothing left to train on
    only = tmp_path / "held.csv"
    df[held].to_csv(only, index=False)
    assert main(["train", "--data", str(only), "--model", "simple", "--encoder", str(tiny_bert), *FAST,
                 "--out", str(tmp_path / "none")]) == 2
    assert (f"every labelled song of {only} is in the 'valid' or 'test' split, held out from training: give a file "
            "with 'train' songs, or --all-splits to train on these") in capsys.readouterr().err


def test_a_train_run_started_before_splits_were_held_out_resumes_on_every_song(tmp_path):
    import argparse

    from musemood.cli._models import _resumed

    (tmp_path / "params.json").write_text(json.dumps({"command": "train", "data": "songs.csv", "model": "tbert"}))
    args = _resumed(argparse.Namespace(resume=str(tmp_path), data=None, model=None, all_splits=False, verbose=0,
                                       report_to=None, tracking_uri=None))
    assert args.all_splits is True and args.data == "songs.csv"


def test_cli_train_and_predict(tiny_bert, labelled, tmp_path, capsys, caplog):
    _, path = labelled
    model_dir = tmp_path / "model"
    assert main(["train", "--data", str(path), "--model", "tbert", "--encoder", str(tiny_bert),
                 "--out", str(model_dir), *FAST]) == 0
    assert "Saved TBertClassifier" in capsys.readouterr().out
    assert main(["predict", str(model_dir), "--data", str(path), "--out", str(tmp_path / "p.csv")]) == 0
    predictions = pd.read_csv(tmp_path / "p.csv")
    songs = pd.read_csv(path)
    assert list(predictions.columns[:3]) == ["song_id", "title", "artist"]  # which song each prediction is of
    pd.testing.assert_frame_equal(predictions[["song_id", "title", "artist"]], songs[["song_id", "title", "artist"]])
    assert {"prediction", "p_happy", "p_sad"} <= set(predictions.columns)
    np.testing.assert_allclose(predictions[["p_happy", "p_sad"]].sum(axis=1), 1, atol=1e-5)
    assert (predictions["prediction"] == np.where(predictions["p_happy"] > predictions["p_sad"], "happy", "sad")).all()
    capsys.readouterr()
    # tags the models do not use are not read: a file whose tags cannot be read is predicted and scored
    broken = tmp_path / "broken-tags.csv"
    songs.assign(tags="happy, sad").to_csv(broken, index=False)  # a plain list: refused where tags are used
    assert main(["predict", str(model_dir), "--data", str(broken), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == len(songs)
    assert main(["evaluate", str(model_dir), "--data", str(broken), "--json"]) == 0
    assert main(["train", "--data", str(broken), "--model", "simple", "--encoder", str(tiny_bert),
                 "--out", str(tmp_path / "simple"), *FAST]) == 0
    assert main(["label", str(broken)]) == 2 and "tags are neither JSON" in capsys.readouterr().err
    # a lone lyric, and a file of lyrics alone: tBERT takes its training medians for the audio features
    with caplog.at_level("WARNING", logger="musemood.features"):
        assert main(["predict", str(model_dir), "--text", "tears in the rain", "--json"]) == 0
        [row] = json.loads(capsys.readouterr().out)
        assert not caplog.records  # a text alone has no audio columns to miss
        lyrics_only = tmp_path / "lyrics.csv"
        pd.read_csv(path)[["lyrics"]].head(3).to_csv(lyrics_only, index=False)
        assert main(["predict", str(model_dir), "--data", str(lyrics_only), "--json"]) == 0
        assert "are not in the data" in caplog.text  # a file may have misnamed them: said once
    assert row["prediction"] == max(("happy", "sad"), key=lambda mood: row[f"p_{mood}"])
    assert len(json.loads(capsys.readouterr().out)) == 3
    assert main(["predict", str(model_dir), "--text", " "]) == 2
    assert "--text is empty" in capsys.readouterr().err
    # --text again and again: a prediction for each, next to its text (not only the last one's)
    assert main(["predict", str(model_dir), "--text", "tears in the rain", "--text", "dancing all night",
                 "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["text"] for r in rows] == ["tears in the rain", "dancing all night"]
    assert rows[0] == pytest.approx(row, abs=1e-6)  # batched with another text: padding moves the last digits
    assert main(["predict", str(model_dir), "--text", "tears", "--text", ""]) == 2
    assert "the 2nd --text is empty" in capsys.readouterr().err
    # a song without lyrics in a file still gets its row, and a warning: its prediction is not of its lyrics
    gaps = tmp_path / "gaps.csv"
    pd.read_csv(path).head(3).assign(lyrics=["la la", " ", "[Instrumental]"]).to_csv(gaps, index=False)
    with caplog.at_level("WARNING", logger="musemood.classifiers"):
        caplog.clear()
        assert main(["predict", str(model_dir), "--data", str(gaps), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3
    first = pd.read_csv(path)["song_id"][1]
    assert (f"2 of 3 texts are empty after cleaning (the first at row 1 (song_id {first!r}); none, or nothing but "
            "'Instrumental' or section headers): their predictions come from no words") in caplog.text
    # --text-column names the texts to read, even beside a lyrics column; a column not in the file is an error
    frame = pd.read_csv(path).head(4)
    both, titles_as_lyrics = tmp_path / "both.csv", tmp_path / "titles.csv"
    frame.to_csv(both, index=False)
    frame.assign(lyrics=frame["title"]).to_csv(titles_as_lyrics, index=False)
    assert main(["predict", str(model_dir), "--data", str(both), "--text-column", "title", "--json"]) == 0
    by_title = json.loads(capsys.readouterr().out)
    assert main(["predict", str(model_dir), "--data", str(titles_as_lyrics), "--json"]) == 0
    assert by_title == json.loads(capsys.readouterr().out) and len(by_title) == 4
    assert main(["predict", str(model_dir), "--data", str(both), "--text-column", "words"]) == 2
    assert "--text-column 'words' is not a column of" in capsys.readouterr().err
    frame.rename(columns={"lyrics": "words"}).to_csv(both, index=False)
    assert main(["predict", str(model_dir), "--data", str(both)]) == 2
    assert "the model's text column 'lyrics' is not a column of" in capsys.readouterr().err
    assert main(["predict", str(model_dir), "--data", str(both), "--text-column", "words", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4
    # numbered labels in a column with a missing value (pandas reads floats) are named as numbers: '1', not '1.0'
    numbered = tmp_path / "numbered.csv"
    frame = pd.read_csv(path).head(60)
    frame.assign(label=np.where(frame["label"] == "happy", 1, -1)).astype({"label": float}).to_csv(numbered,
                                                                                                     index=False)
    assert main(["train", "--data", str(numbered), "--model", "simple", "--encoder", str(tiny_bert),
                 "--out", str(tmp_path / "numbered"), *FAST]) == 0
    assert json.loads((tmp_path / "numbered" / "config.json").read_text())["classes"] == ["-1", "1"]
    assert main(["train", "--data", str(path), "--model", "finetuned", "--encoder", str(tiny_bert),
                 "--out", str(tmp_path / "ft"), "--strategy", "contrastive", *FAST]) == 0
    assert json.loads((tmp_path / "ft" / "config.json").read_text())["strategy"] == "contrastive"
    assert main(["predict", str(tmp_path / "ft"), "--text", "the sun is shining and we dance"]) == 0
    assert "prediction" in capsys.readouterr().out
    assert main(["predict", str(tmp_path), "--text", "x"]) == 2


def test_scores_match_labels_by_text_and_count_unknown_ones_as_wrong():
    classes = np.array(["-1", "0", "1"])  # as `musemood train` keeps numbered labels
    y = [0, 1.0, -1, 1, 7, 0]  # a test file's numbers (a float after a missing value); 7 is no class
    pred = ["0", "1", "0", "1", "1", "0"]
    result = score_predictions(y, pred, classes=classes)
    assert result["n_songs"] == 6 and result["metrics"]["accuracy"] == pytest.approx(4 / 6)
    assert result["unknown"] == {"7": 1}
    assert result["confusion"]["labels"] == ["-1", "0", "1", "7"]
    assert result["confusion"]["matrix"] == [[0, 1, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0], [0, 0, 1, 0]]
    assert result["per_class"]["0"] == {"precision": pytest.approx(2 / 3), "recall": 1.0, "f1": pytest.approx(0.8),
                                        "support": 2}
    from sklearn.metrics import f1_score

    expected = f1_score(["0", "1", "-1", "1", "7", "0"], pred, average="macro", zero_division=0)
    assert result["metrics"]["f1"] == pytest.approx(expected)  # as compare reports it
    regression = score_predictions([0.5, 0.25, 1.0], [0.5, 0.5, 0.5])
    assert regression["objective"] == "regression" and regression["metrics"]["mae"] == pytest.approx(0.25)
    with pytest.raises(ValueError, match="label 1 is 'high'"):
        score_predictions([0.5, "high"], [0.5, 0.5])
    with pytest.raises(ValueError, match="3 labels for 2 songs"):
        score_predictions([1, 2, 3], [1, 2], classes=[1, 2])


def test_scores_come_with_95_percent_bootstrap_intervals():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    y = rng.choice(["joy", "sadness", "fear"], 400, p=[0.5, 0.4, 0.1])
    pred = np.where(rng.random(400) < 0.8, y, rng.choice(["joy", "sadness", "fear"], 400))
    result = score_predictions(y, pred, classes=["fear", "joy", "sadness"])
    intervals = result["intervals"]
    assert set(intervals) == {"accuracy", "f1"}
    for name in ("accuracy", "f1"):
        low, high = intervals[name]
        assert low < result["metrics"][name] < high
    # the interval of a proportion: ±1.96 standard errors, about
    accuracy = result["metrics"]["accuracy"]
    half = 1.96 * np.sqrt(accuracy * (1 - accuracy) / 400)
    assert intervals["accuracy"] == pytest.approx([accuracy - half, accuracy + half], abs=0.012)
    # the same as resampling the songs: the macro-F1 of 1,000 resamples of them
    draws = [f1_score(y[rows], pred[rows], average="macro", zero_division=0)
             for rows in rng.integers(0, 400, (1000, 400))]
    assert intervals["f1"] == pytest.approx(np.percentile(draws, [2.5, 97.5]), abs=0.012)
    assert score_predictions(y, pred, classes=["fear", "joy", "sadness"])["intervals"] == intervals  # seeded
    small = score_predictions(y[:40], pred[:40], classes=["fear", "joy", "sadness"])["intervals"]
    assert small["accuracy"][1] - small["accuracy"][0] > 2 * (intervals["accuracy"][1] - intervals["accuracy"][0])
    # regression: RMSE and R²
    truth = rng.random(300)
    regression = score_predictions(truth, truth + rng.normal(0, 0.1, 300))
    assert set(regression["intervals"]) == {"rmse", "r2"}
    assert regression["intervals"]["rmse"][0] < 0.1 < regression["intervals"]["rmse"][1]
    assert regression["intervals"]["r2"][0] < regression["metrics"]["r2"] < regression["intervals"]["r2"][1]
    # the plots' titles give them too
    from musemood.evaluation import _span

    low, high = intervals["accuracy"]
    assert _span(result, "accuracy") == f" (95%: {low:.3f}-{high:.3f})" and _span({}, "accuracy") == ""


def test_cli_evaluate_scores_a_saved_model_on_a_held_out_file(tiny_bert, tmp_path, capsys):
    from musemood import SimpleBertClassifier

    rng = np.random.default_rng(0)
    words = {-1: "tears cold grey broken".split(), 0: "river train clock porch".split(),
             1: "sunshine smile laugh dance".split()}
    y = rng.choice([-1, 0, 1], 120)
    texts = [" ".join(rng.choice(words[label], 6)) + f" {i}" for i, label in enumerate(y)]  # no two alike
    # as `musemood train` fits numbered labels: as text; the first 40 songs are held out
    model = SimpleBertClassifier(tiny_bert, hidden_size=32, max_length=32, random_state=0).fit(
        texts[40:], y[40:].astype(str))
    model.save(tmp_path / "model")
    test = pd.DataFrame({"id": range(40), "verse": texts[:40], "label": y[:40].astype(float)})
    test.loc[3, "label"] = np.nan  # a row without a label: refused, or left out with --drop-missing
    path = tmp_path / "test.csv"
    test.to_csv(path, index=False)
    assert main(["evaluate", str(tmp_path / "model"), "--data", str(path), "--text-column", "verse"]) == 2
    err = capsys.readouterr().err
    assert (f"{path}: rows without a label (no value in 'label': an empty field, or NA, N/A, None, NULL or NaN in a "
            "CSV): 1, with an empty text (in 'verse'): 0, the first at row 3 (counting from 0 after the header)") in err
    assert err.rstrip().endswith(f"(`musemood check {path}` lists every problem of the file at once)")
    argv = ["evaluate", str(tmp_path / "model"), "--data", str(path), "--text-column", "verse", "--drop-missing"]
    assert main([*argv, "--json", "--plot", str(tmp_path / "confusion.png")]) == 0
    result = json.loads(capsys.readouterr().out)
    kept = test.drop(index=3)
    assert result["n_songs"] == 39 and result["dropped"] == 1 and result["unknown"] == {}
    assert result["metrics"]["accuracy"] == pytest.approx(model.score(list(kept["verse"]), kept["label"]))
    assert result["metrics"]["accuracy"] > 0.8
    assert sum(map(sum, result["confusion"]["matrix"])) == 39 and (tmp_path / "confusion.png").stat().st_size > 0
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"accuracy {result['metrics']['accuracy']:.3f}" in out and "confusion" in out and "left out: 1" in out
    low, high = result["intervals"]["accuracy"]
    assert f"95% bootstrap intervals over the 39 songs: accuracy {low:.3f} to {high:.3f}, macro-F1 " in out
    # the wrong label column: none of its values is a class, and the text says so
    test.assign(label=rng.choice(["happy", "sad"], 40)).to_csv(path, index=False)
    assert main(argv) == 0
    assert "no class for, counted as wrong" in capsys.readouterr().out
    assert main([*argv, "--label-column", "mood"]) == 2
    assert "--label-column 'mood' is not a column" in capsys.readouterr().err
    assert main([*argv, "--plot", str(tmp_path / "confusion.jpg2")]) == 2
    assert "give a .png, .svg or .pdf file" in capsys.readouterr().err
    # a larger file shows the encoder's progress with -v (on a terminal without it); it had none
    pd.DataFrame({"verse": texts, "label": y}).to_csv(path, index=False)
    assert main(["evaluate", str(tmp_path / "model"), "--data", str(path), "--text-column", "verse", "-v",
                 "--include-trained"]) == 0
    assert "Encoding: 100%" in capsys.readouterr().err


def test_cli_evaluate_leaves_out_the_songs_the_model_trained_on(tiny_bert, tmp_path, capsys):
    from musemood import SimpleBertClassifier

    rng = np.random.default_rng(1)
    words = {"happy": "sunshine smile laugh dance".split(), "sad": "tears cold grey broken".split()}
    y = rng.choice(["happy", "sad"], 80)
    texts = [" ".join(rng.choice(words[label], 5)) + f" song {i}" for i, label in enumerate(y)]
    SimpleBertClassifier(tiny_bert, hidden_size=16, max_length=32, random_state=0).fit(
        texts[:60], y[:60]).save(tmp_path / "model")
    path = tmp_path / "songs.csv"
    # a file that holds 20 songs it trained on (one with a section header it does not read) and 20 new ones
    held_out = pd.DataFrame({"lyrics": ["[Verse 1]\n" + texts[0], *texts[1:20], *texts[60:]],
                             "label": [*y[:20], *y[60:]]})
    held_out.to_csv(path, index=False)
    argv = ["evaluate", str(tmp_path / "model"), "--data", str(path)]
    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_songs"] == 20 and result["trained_on"] == 20 and result["trained_on_scored"] is False
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert ("20 labelled songs of" in out and "songs the model trained on left out: 20 (their scores would flatter "
            "it; --include-trained scores them too)" in out)
    assert main([*argv, "--include-trained", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_songs"] == 40 and result["trained_on"] == 20 and result["trained_on_scored"] is True
    assert main([*argv, "--include-trained"]) == 0
    assert "20 of them are songs the model trained on: these scores flatter it" in capsys.readouterr().out
    # a file of training songs only: nothing new to score
    held_out.iloc[:20].to_csv(path, index=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert (f"every one of the 20 songs of {path} is one the model trained on" in err
            and "--include-trained" in err)
    # in Python alike, a list of texts or a frame
    from musemood.evaluation import evaluate_model

    model = SimpleBertClassifier.load(tmp_path / "model")
    result = evaluate_model(model, texts[50:], y[50:])
    assert result["n_songs"] == 20 and result["trained_on"] == 10 and not result["trained_on_scored"]
    assert evaluate_model(model, held_out, held_out["label"], include_trained=True)["n_songs"] == 40
    with pytest.raises(ValueError, match="every one of the 10 songs is one the model trained on"):
        evaluate_model(model, texts[:10], y[:10])


def test_cli_demo_runs_the_comparison(tiny_bert, tmp_path, capsys):
    assert main(["demo", "--n-songs", "400", "--out", str(tmp_path), "--encoder", str(tiny_bert), *FAST]) == 0
    out = capsys.readouterr().out
    assert "Table 1" in out and "tBERT" in out
    assert (tmp_path / "compare" / "confusion.png").exists()
    from musemood.recommender import Recommender

    # its query songs are the comparison's test songs, which tBERT, whose vectors it takes, never learnt
    assert Recommender.load(tmp_path / "recommender").trained_queries_ == {"tune": 0, "eval": 0}


def test_tune_resumes_from_its_storage(tiny_bert, labelled, tmp_path, capsys, caplog):
    _, path = labelled
    db = tmp_path / "study.db"
    args = ["tune", "--data", str(path), "--model", "finetuned", "--lora", "--encoder", str(tiny_bert),
            "--storage", str(db), "--max-length", "32", "--batch-size", "8", "--limit", "80"]
    assert main([*args, "--trials", "2"]) == 0
    first = capsys.readouterr().out
    assert "Best validation accuracy" in first and "lora_r=" in first
    shown = re.search(r"learning_rate=([^,\s]+)", first).group(1)
    assert shown == f"{float(shown):.3g}"  # 3 significant digits; all of them in the JSON file
    import optuna

    study = optuna.load_study(study_name="musemood", storage=f"sqlite:///{db}")
    assert len(study.trials) == 2
    assert main([*args, "--trials", "3"]) == 0  # one more, not three
    study = optuna.load_study(study_name="musemood", storage=f"sqlite:///{db}")
    assert len(study.trials) == 3
    # before, each run seeded a new sampler alike, so a resumed run tried the first run's parameters again
    assert study.trials[2].params not in (study.trials[0].params, study.trials[1].params)
    capsys.readouterr()
    assert main([*args, "--trials", "3"]) == 0  # nothing left to do
    assert len(optuna.load_study(study_name="musemood", storage=f"sqlite:///{db}").trials) == 3
    captured = capsys.readouterr()
    # before: "run again to add trials", and the same command ran none
    assert (f"Study 'musemood' stored in {db}: 3 finished trials, as many as --trials 3 asks, so none ran; "
            "--trials counts every finished trial: --trials 13 adds 10") in captured.out
    assert "ExperimentalWarning" not in captured.err  # the Optuna features we chose on purpose
    # as train, it searches on the 'train' songs: the file's 'valid' and 'test' songs are held out
    assert "whose split is 'valid' or 'test'" in captured.out
    # other songs would make the trials' accuracies incomparable: refused, not mixed into the study
    assert main([*args, "--limit", "70", "--trials", "4"]) == 2
    err = capsys.readouterr().err
    assert (f"study 'musemood' in {db} was started on other songs (80 songs; these are 70 songs): the accuracies of "
            "its trials and of new ones would not compare" in err and "--study" in err)
    assert main([*args, "--all-splits", "--trials", "4"]) == 2
    assert "was started on other songs" in capsys.readouterr().err
    assert len(optuna.load_study(study_name="musemood", storage=f"sqlite:///{db}").trials) == 3
    # a study an earlier musemood started has no record of its songs: said, then recorded
    study.set_user_attr("data", None)
    with caplog.at_level("WARNING", logger="musemood.tuning"):
        assert main([*args, "--limit", "70", "--trials", "3"]) == 0
    assert "has no record of the songs it was started on" in caplog.text
    assert optuna.load_study(study_name="musemood", storage=f"sqlite:///{db}").user_attrs["data"]["songs"] == 70


def test_cli_compare_regression_on_valence(tiny_bert, labelled, tmp_path, capsys):
    _, path = labelled
    code = main(["compare", "--data", str(path), "--objective", "regression", "--label-column", "valence",
                 "--drop-missing", "--encoder", str(tiny_bert), "--seeds", "2",
                 "--models", "majority,tfidf,simple,finetuned,tbert", "--out", str(tmp_path), *FAST])
    assert code == 0
    out = capsys.readouterr().out
    assert "| model | MSE | RMSE | MAE | R² |" in out and "Mean baseline" in out and "McNemar" not in out
    runs = pd.read_csv(tmp_path / "runs.csv")
    np.testing.assert_allclose(runs["rmse"], np.sqrt(runs["mse"]))
    # tBERT sees valence among its audio features: it must beat the mean baseline clearly
    table = runs.groupby("model")["r2"].mean()
    assert table["majority"] <= 0.0 < table["tbert"]


def test_regression_needs_numbers(labelled):
    df, _ = labelled
    with pytest.raises(ValueError, match="numeric targets"):
        compare_models(df, label_column="artist", objective="regression", models=("majority",), seeds=(0,))


def test_cli_shows_training_progress_with_verbose(tiny_bert, labelled, tmp_path, capsys):
    _, path = labelled
    assert main(["train", "--data", str(path), "--model", "finetuned", "--encoder", str(tiny_bert),
                 "--limit", "60", "--out", str(tmp_path / "m"), "-v", *FAST]) == 0
    err = capsys.readouterr().err  # 54 training songs: strategy="auto" is contrastive, then a head
    assert "Contrastive epoch 1/" in err and "Head epoch 1/" in err
    assert main(["train", "--data", str(path), "--model", "finetuned", "--encoder", str(tiny_bert), "--limit", "60",
                 "--out", str(tmp_path / "f"), "-v", "--strategy", "finetune", *FAST]) == 0
    # a validation split of 6 songs is below min_validation_songs: all 60 train, 8 batches of 8 an epoch;
    # --epochs 1 raised by min_steps (100) -> 13 epochs
    assert "Fine-tuning epoch 1/13" in capsys.readouterr().err


def test_train_needs_data_or_demo_and_honours_seed(tiny_bert, labelled, tmp_path, capsys):
    _, path = labelled
    assert main(["train", "--model", "simple", "--out", str(tmp_path / "x")]) != 0
    assert "train needs --data FILE or --demo (or --resume RUN_FOLDER" in capsys.readouterr().err
    runs = []
    for seed in ("0", "1"):
        assert main(["train", "--data", str(path), "--model", "finetuned", "--encoder", str(tiny_bert), "--limit",
                     "60", "--seed", seed, "--out", str(tmp_path / seed), *FAST]) == 0
        runs.append(json.loads((tmp_path / seed / "config.json").read_text()))
    assert [r["params"]["random_state"] for r in runs] == [0, 1]
    assert runs[0]["history"][0]["train_loss"] != runs[1]["history"][0]["train_loss"]


def test_tune_writes_best_params_that_train_uses(tiny_bert, labelled, tmp_path, capsys, monkeypatch):
    _, path = labelled
    monkeypatch.setenv("MUSEMOOD_HOME", str(tmp_path / "home"))
    best = tmp_path / "best.json"
    assert main(["tune", "--data", str(path), "--model", "finetuned", "--encoder", str(tiny_bert), "--storage",
                 str(tmp_path / "s.db"), "--max-length", "32", "--batch-size", "8", "--limit", "60", "--trials", "2",
                 "--epochs", "1", "--seed", "3", "--best-params", str(best)]) == 0
    saved = json.loads(best.read_text())
    assert saved["model"] == "finetuned" and saved["params"]["epochs"] == 1  # --epochs bounds the search
    (run,) = (tmp_path / "home" / "runs").glob("tune-*")  # the run's own record: trials, best, scores
    assert json.loads((run / "best_params.json").read_text()) == saved
    assert len(pd.read_csv(run / "trials.csv")) == 2 and len(pd.read_csv(run / "metrics.csv")) == 2
    assert json.loads((run / "params.json").read_text())["trials"] == 2
    assert {"learning_rate", "weight_decay", "dropout", "max_length"} <= set(saved["params"])
    assert main(["train", "--data", str(path), "--params", str(best), "--encoder", str(tiny_bert),
                 "--limit", "60", "--out", str(tmp_path / "m")]) == 0
    params = json.loads((tmp_path / "m" / "config.json").read_text())["params"]
    assert params["learning_rate"] == saved["params"]["learning_rate"] and params["max_length"] == 32
    assert main(["train", "--data", str(path), "--params", str(best), "--model", "simple",
                 "--out", str(tmp_path / "s")]) == 2
    assert "parameters for 'finetuned'" in capsys.readouterr().err


def test_json_outputs_and_out_by_suffix(tiny_bert, labelled, tmp_path, capsys):
    _, path = labelled
    assert main(["train", "--data", str(path), "--model", "finetuned", "--encoder", str(tiny_bert), "--limit", "60",
                 "--out", str(tmp_path / "m"), *FAST]) == 0
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "m"), "--text", "tears in the rain", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["prediction"] in ("happy", "sad") and abs(row["p_happy"] + row["p_sad"] - 1) < 1e-5
    assert main(["predict", str(tmp_path / "m"), "--data", str(path), "--out", str(tmp_path / "p.parquet")]) == 0
    assert len(pd.read_parquet(tmp_path / "p.parquet")) == len(pd.read_csv(path))
    from musemood.datasets import load_dataset, load_demo, save_dataset

    src = save_dataset(load_demo(120, random_state=0, label=False), tmp_path / "songs.parquet")
    assert main(["label", str(src), "--out", str(tmp_path / "labelled.csv")]) == 0
    text = (tmp_path / "labelled.csv").read_text()
    assert text.startswith("song_id,") and "PAR1" not in text[:10]  # CSV, not Parquet under a .csv name
    back = load_dataset(tmp_path / "labelled.csv")
    assert {"label", "split"} <= set(back.columns) and isinstance(back["tags"].iloc[0], list)


def test_cli_evaluate_a_regression_model_with_its_plot(tiny_bert, tmp_path, capsys):
    from musemood import SimpleBertClassifier

    rng = np.random.default_rng(1)
    words = "sunshine smile laugh dance tears cold grey broken".split()
    texts = [" ".join(rng.choice(words, 6)) for _ in range(80)]
    valence = np.array([sum(w in words[:4] for w in t.split()) / 6 for t in texts])
    model = SimpleBertClassifier(tiny_bert, hidden_size=32, max_length=32, random_state=0, objective="regression")
    model.fit(texts[30:], valence[30:]).save(tmp_path / "model")  # the first 30 songs held out
    pd.DataFrame({"lyrics": texts[:30], "valence": valence[:30]}).to_csv(tmp_path / "test.csv", index=False)
    argv = ["evaluate", str(tmp_path / "model"), "--data", str(tmp_path / "test.csv"), "--label-column", "valence"]
    assert main([*argv, "--json", "--plot", str(tmp_path / "scatter.svg")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["objective"] == "regression" and result["n_songs"] == 30
    assert result["metrics"]["r2"] == pytest.approx(model.score(texts[:30], valence[:30]))
    assert (tmp_path / "scatter.svg").read_text().startswith("<?xml")
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "RMSE" in out and "95% bootstrap intervals over the 30 songs: RMSE " in out and ", R² " in out
    pd.DataFrame({"lyrics": texts[:3], "valence": ["high", "low", "0.5"]}).to_csv(tmp_path / "words.csv", index=False)
    assert main([*argv[:3], str(tmp_path / "words.csv"), "--label-column", "valence"]) == 2
    assert "a regression model is scored on numbers; label 0 is 'high'" in capsys.readouterr().err


def test_compare_warns_about_imbalanced_classes_without_class_weights(caplog):
    from musemood.evaluation import compare_models

    labels = ["joy"] * 40 + ["fear"] * 6
    df = pd.DataFrame({"lyrics": [f"{label} words {i}" for i, label in enumerate(labels)], "label": labels})
    with caplog.at_level("WARNING", logger="musemood.evaluation"):
        compare_models(df, models=("majority",), seeds=(0,))
    assert "imbalanced classes: joy has 40 songs and fear 6 (6.7 to 1)" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="musemood.evaluation"):
        compare_models(df, models=("majority",), seeds=(0,), class_weight="balanced")
    assert "imbalanced" not in caplog.text


def test_compare_says_how_many_test_songs_share_their_lyrics_with_a_training_song(caplog):
    from musemood.evaluation import compare_models

    labels = ["joy", "sadness"] * 30
    texts = [f"{label} words {i}" for i, label in enumerate(labels)]
    texts[1] = texts[3] = texts[5] = "[Chorus]\nthe same sad words"  # one song three times: a copy may be tested
    df = pd.DataFrame({"lyrics": texts, "label": labels})
    with caplog.at_level("WARNING", logger="musemood.evaluation"):
        result = compare_models(df, models=("majority",), seeds=(0, 1, 2, 3))
    shared = result.info["shared_texts"]
    assert len(shared) == 4 and set(shared) <= {0, 1, 2} and any(shared)  # per seed: 12 test songs of 60
    seed, n = next((seed, n) for seed, n in enumerate(shared) if n)
    assert (f"seed {seed}: {n} of the 12 test songs have the same lyrics as a training song (a song twice in the "
            "data?): their scores flatter the models" in caplog.text)
    assert f"12 test songs per seed ({min(shared)} to {max(shared)} of them with the lyrics of a training song)" in \
        result.to_markdown()
    caplog.clear()
    # an instrumental in both is no one's copy: no words, as the models read it
    df.loc[7, "lyrics"] = "[Instrumental]"
    test = pd.DataFrame({"lyrics": ["the same  sad words", "new words", "[Instrumental]"],
                         "label": ["sadness", "joy", "joy"]})
    with caplog.at_level("WARNING", logger="musemood.evaluation"):
        result = compare_models(df, test_data=test, models=("majority",), seeds=(0,))
    assert result.info["shared_texts"] == [1]
    assert "1 of the 3 test songs have the same lyrics as a training song" in caplog.text
    assert "scored on the 3 test songs of the test data (1 of them with the lyrics of a training song)" in \
        result.to_markdown()


def test_cli_train_warns_about_imbalanced_classes(tmp_path, caplog):
    labels = ["joy"] * 40 + ["fear"] * 6
    path = tmp_path / "imbalanced.csv"
    pd.DataFrame({"lyrics": [f"{label} words {i}" for i, label in enumerate(labels)], "label": labels}).to_csv(
        path, index=False)
    argv = ["train", "--data", str(path), "--model", "dnn", "--epochs", "1", "--out", str(tmp_path / "m")]
    with caplog.at_level("WARNING", logger="musemood.cli"):
        assert main(argv) == 0
    assert "imbalanced classes: joy has 40 songs and fear 6" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="musemood.cli"):
        assert main([*argv[:-1], str(tmp_path / "m2"), "--class-weight", "balanced"]) == 0
    assert "imbalanced" not in caplog.text


def test_cli_predict_reads_standard_input(tiny_bert, labelled, tmp_path, capsys, monkeypatch):
    """`--text -` predicts the lyrics piped in (`< song.txt`), `--data -` a CSV or TSV piped in; errors name
    standard input, not the file it was copied to."""
    import io

    _, path = labelled
    model_dir = tmp_path / "model"
    assert main(["train", "--data", str(path), "--model", "simple", "--encoder", str(tiny_bert),
                 "--out", str(model_dir), *FAST]) == 0
    capsys.readouterr()

    def piped(text):
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode()), encoding="utf-8"))

    def predict(*args):
        code = main(["predict", str(model_dir), *args, "--json"])
        out, err = capsys.readouterr()
        return code, (json.loads(out) if code == 0 else err)

    song = "tears in the rain\nI walk alone tonight"
    code, [given] = predict("--text", song)
    piped(song + "\n")
    code, rows = predict("--text", "-", "--text", "dancing all night")
    assert code == 0 and [r["text"] for r in rows] == [song, "dancing all night"]
    assert rows[0] == pytest.approx(given, abs=1e-6)  # the lyric itself, not the word "-"
    songs = pd.read_csv(path).head(5)
    code, from_file = predict("--data", str(path))
    for sep in (",", "\t"):
        piped(songs.to_csv(index=False, sep=sep))
        code, rows = predict("--data", "-")
        assert code == 0 and [r["song_id"] for r in rows] == list(songs["song_id"])
        assert rows == [pytest.approx(r, abs=1e-6) for r in from_file[:5]]
    parquet = io.BytesIO()
    songs.to_parquet(parquet, index=False)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(parquet.getvalue()), encoding="utf-8"))
    code, rows = predict("--data", "-")
    assert code == 0 and rows == [pytest.approx(r, abs=1e-6) for r in from_file[:5]]
    piped("a,b\n1,2\n")
    code, err = predict("--data", "-")
    assert code == 2 and "the model's text column 'lyrics' is not a column of standard input" in err
    piped("")
    code, err = predict("--data", "-")
    assert code == 2 and "standard input is empty (0 bytes)" in err and "musemood-stdin" not in err
    piped("  \n")
    code, err = predict("--text", "-")
    assert code == 2 and "--text - read no text from standard input" in err
    code, err = predict("--text", "-", "--text", "-")
    assert code == 2 and "--text - is given twice" in err
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"caf\xe9 au lait"), encoding="utf-8"))  # Latin-1
    code, err = predict("--text", "-")
    assert code == 2 and "standard input, line 1 (byte 3): b'\\xe9' is not UTF-8" in err and "reads as 'é'" in err
    piped("\ufeffcaf\u00e9 au lait")  # UTF-8 with a byte-order mark, as some editors write it
    code, rows = predict("--text", "-")
    assert code == 0 and rows[0]["text"] == "caf\u00e9 au lait"


def test_a_row_without_text_is_named_by_its_row_in_the_file_after_the_rules_unlabelled_songs_are_left_out():
    """A file `musemood label` wrote holds songs the rule left unlabelled, which training leaves out; a song
    after them with no lyrics was named by its position among the labelled songs ("row 0" for the file's
    row 2), where `musemood check` and `map` named row 2."""
    from musemood.evaluation import _usable_rows, check_dataset

    df = pd.DataFrame({"song_id": ["a", "b", "c", "d", "e"], "lyrics": ["la", "lo", None, "li", "lu"],
                       "label": [None, None, "happy", "sad", "happy"],
                       "label_reason": ["no_mood_tag", "not_dominant", None, None, None]},
                      index=[10, 11, 12, 13, 14])  # as pandas reads back a Parquet file of a filtered table
    with pytest.raises(ValueError, match=r"with an empty text \(in 'lyrics'\): 1, the first at row 2 \(song_id "
                                         r"'c'\) \(counting from 0 after the header\)"):
        check_dataset(df, "lyrics", "label")
    df.loc[13, "label"] = None  # a labelled song's label missing: counted, the rule's own left out of the count
    with pytest.raises(ValueError, match=r"rows without a label .*: 1, with an empty text \(in 'lyrics'\): 1, the "
                                         r"first at row 2 "):
        check_dataset(df, "lyrics", "label")
    assert _usable_rows(df, "lyrics", "label", drop_missing=True)["song_id"].tolist() == ["e"]


def test_texts_that_share_no_word_are_an_error_that_names_the_text_column():
    """An id column named as the text (each text one word of its own) stopped compare with scikit-learn's
    "After pruning, no terms remain. Try a lower min_df", an option the command line does not have."""
    df = pd.DataFrame({"song_id": [f"id{i:03d}" for i in range(40)], "label": ["a", "b"] * 20})
    with pytest.raises(ValueError, match=r"TF-IDF \+ logistic regression: no word is in two or more of the 3\d "
                                         r"training texts of 'song_id'; does that column hold the lyrics"):
        compare_models(df, models=("tfidf",), text_column="song_id", seeds=(0,))


def test_labels_with_dollar_signs_are_drawn_as_written(tmp_path):
    """Two dollar signs start matplotlib's mathtext: classes "$" / "$$" / "$$$" (price levels, say) stopped
    the confusion plots with a ValueError, and "5$ and 6$" would have been drawn as math."""
    from musemood.clustering._plots import plot_points
    from musemood.evaluation import plot_confusion, plot_evaluation

    labels = ["$", "$$", "$$$", "5$ and 6$"]
    matrix = [[3, 1, 0, 0], [0, 2, 1, 0], [1, 0, 4, 0], [0, 0, 0, 2]]
    assert plot_confusion({"tfidf": (labels, matrix)}, tmp_path / "c.png").stat().st_size > 0
    result = {"objective": "classification", "confusion": {"labels": labels, "matrix": matrix},
              "metrics": {"accuracy": 0.79, "f1": 0.7}}
    assert plot_evaluation(result, tmp_path / "e.png", title="model $v$2").stat().st_size > 0
    points = np.random.default_rng(0).normal(size=(8, 2))
    values = pd.Series(["$$", "$x^$", "unlabelled", "$$", "a", "a", "$x^$", "unlabelled"])
    assert plot_points(points, values, tmp_path / "p.png", title="moods $$").stat().st_size > 0
