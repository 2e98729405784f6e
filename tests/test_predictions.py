"""A whole file's predictions in parts that a rerun resumes (`musemood predict --data FILE --out OUT`)."""

import numpy as np
import pandas as pd
import pytest

import musemood.predictions as predictions
from musemood.cli import main
from musemood.datasets import drop_duplicate_songs, load_demo
from musemood.predictions import predict_to_file, predictions_frame


@pytest.fixture(scope="module")
def songs():
    df = load_demo(300, random_state=2)
    return drop_duplicate_songs(df[df["label"].notna()]).reset_index(drop=True).head(40)


@pytest.fixture(scope="module")
def model(_tiny_bert_dir, songs):
    from musemood import SimpleBertClassifier

    return SimpleBertClassifier(encoder=str(_tiny_bert_dir), max_length=32, epochs=2, random_state=0).fit(
        songs, songs["label"])


def keys_of(songs):
    return songs[["song_id", "title", "artist"]]


def test_parts_give_the_predictions_of_one_pass_and_leave_nothing_behind(model, songs, tmp_path):
    out = tmp_path / "predictions.csv"
    whole = pd.concat([keys_of(songs), predictions_frame(model, songs)], axis=1)
    result = predict_to_file(model, songs, out, keys=keys_of(songs), part_size=7)  # 6 parts, the last of 5
    pd.testing.assert_frame_equal(result, whole, atol=1e-5)
    written = pd.read_csv(out)
    assert list(written.columns) == ["song_id", "title", "artist", "prediction", "p_happy", "p_sad"]
    assert written["song_id"].tolist() == songs["song_id"].tolist()
    assert not (tmp_path / "predictions.csv.parts").exists()  # removed once the file is whole
    small = predict_to_file(model, songs, tmp_path / "small.parquet", keys=keys_of(songs))  # one pass, no parts
    pd.testing.assert_frame_equal(small, whole, atol=1e-5)


def test_a_run_stopped_midway_resumes_where_it_stopped(model, songs, tmp_path, monkeypatch):
    out = tmp_path / "predictions.parquet"
    expected = predict_to_file(model, songs, tmp_path / "once.parquet", keys=keys_of(songs), part_size=7)
    computed = []
    real = predictions.predictions_frame

    def stops_at_the_fourth(model, rows):
        if len(computed) == 3:
            raise KeyboardInterrupt  # Ctrl-C in the fourth part
        computed.append(rows["song_id"].tolist())
        return real(model, rows)

    monkeypatch.setattr(predictions, "predictions_frame", stops_at_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        predict_to_file(model, songs, out, keys=keys_of(songs), part_size=7)
    parts = tmp_path / "predictions.parquet.parts"
    assert sorted(p.name for p in parts.glob("part-*")) == ["part-00000.parquet", "part-00001.parquet",
                                                           "part-00002.parquet"]
    assert not out.exists()  # no file until every part is there
    computed.clear()
    monkeypatch.setattr(predictions, "predictions_frame", lambda model, rows: computed.append(len(rows)) or real(
        model, rows))
    result = predict_to_file(model, songs, out, keys=keys_of(songs), part_size=7)
    assert computed == [7, 7, 5]  # the three parts left, not the three already written
    assert result.attrs["resumed"] == 21
    pd.testing.assert_frame_equal(result, expected)
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)
    assert not parts.exists()


def test_parts_of_another_run_are_refused_not_mixed_in(model, songs, tmp_path, monkeypatch, _tiny_bert_dir):
    from musemood import SimpleBertClassifier

    out = tmp_path / "p.csv"
    parts = tmp_path / "p.csv.parts"

    def stop_after_one_part():
        calls = []
        real = predictions.predictions_frame

        def frame(model, rows):
            if calls:
                raise KeyboardInterrupt
            calls.append(1)
            return real(model, rows)
        monkeypatch.setattr(predictions, "predictions_frame", frame)
        with pytest.raises(KeyboardInterrupt):
            predict_to_file(model, songs, out, part_size=10)
        monkeypatch.undo()

    stop_after_one_part()
    other = SimpleBertClassifier(encoder=str(_tiny_bert_dir), max_length=32, epochs=1, random_state=1).fit(
        songs, songs["label"])
    with pytest.raises(ValueError, match=f"{parts} holds the predictions of an earlier run with another model; "
                                         "delete it to start again, or write to another --out"):
        predict_to_file(other, songs, out, part_size=10)
    changed = songs.assign(lyrics=songs["lyrics"].str.upper())
    with pytest.raises(ValueError, match="an earlier run with other songs or lyrics"):
        predict_to_file(model, changed, out, part_size=10)
    with pytest.raises(ValueError, match="an earlier run with another part size"):
        predict_to_file(model, songs, out, part_size=20)
    (parts / "part-00000.parquet").write_bytes(b"PAR1 cut short")  # a damaged part is named, not read
    with pytest.raises(ValueError, match=r"part-00000.parquet is damaged .*delete it and run again"):
        predict_to_file(model, songs, out, part_size=10)
    assert not out.exists()


def test_songs_without_words_are_said_once_by_the_files_rows(model, songs, tmp_path, caplog):
    gaps = songs.copy()
    gaps.loc[[9, 23], "lyrics"] = ["[Instrumental]", "[Chorus]"]
    with caplog.at_level("WARNING", logger="musemood.classifiers"):
        predict_to_file(model, gaps, tmp_path / "p.csv", part_size=7)
    said = [r.getMessage() for r in caplog.records if "empty after cleaning" in r.getMessage()]
    assert said == [f"2 of 40 texts are empty after cleaning (the first at row 9 (song_id {gaps.loc[9, 'song_id']!r}); "
                    "none, or nothing but 'Instrumental' or section headers): their predictions come from no words"]
    caplog.clear()
    with caplog.at_level("WARNING", logger="musemood.classifiers"):
        model.predict(gaps.iloc[7:14])  # outside a file's run the models still warn
    assert "1 of 7 texts are empty after cleaning (the first at row 2" in caplog.text


def test_cli_predict_out_resumes_and_shows_progress(model, songs, tmp_path, capsys, monkeypatch):
    """`musemood predict --out` stopped by Ctrl-C keeps its parts; the same command again finishes the job."""
    from musemood.datasets import save_dataset

    folder, data, out = tmp_path / "model", save_dataset(songs, tmp_path / "songs.csv"), tmp_path / "p.csv"
    model.save(folder)
    monkeypatch.setattr(predictions, "PART_SIZE", 8)
    real, calls = predictions.predictions_frame, []

    def interrupted(model, rows):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(len(rows))
        return real(model, rows)

    monkeypatch.setattr(predictions, "predictions_frame", interrupted)
    assert main(["predict", str(folder), "--data", str(data), "--out", str(out)]) == 130
    assert "interrupted" in capsys.readouterr().err and not out.exists()
    calls.clear()
    monkeypatch.setattr(predictions, "predictions_frame", lambda model, rows: calls.append(len(rows)) or real(
        model, rows))
    assert main(["predict", str(folder), "--data", str(data), "--out", str(out), "-v"]) == 0
    printed, err = capsys.readouterr()
    assert calls == [8, 8, 8] and "predicting: 100%" in err  # parts 3 to 5 of 5, with a progress bar
    assert f"Wrote 40 predictions to {out} (16 of them from the parts of an earlier run)" in printed
    assert f"Resuming: 2 of 5 parts are in {out}.parts from an earlier run" in err
    written = pd.read_csv(out)
    assert written.columns.tolist() == ["song_id", "title", "artist", "prediction", "p_happy", "p_sad"]
    assert written["song_id"].tolist() == songs["song_id"].tolist()
    np.testing.assert_allclose(written[["p_happy", "p_sad"]].sum(axis=1), 1, atol=1e-5)


def test_a_second_run_on_the_same_output_waits_its_turn(model, songs, tmp_path):
    """Two runs writing one file: the second is refused while the first holds the parts folder (the first
    removes the folder when it ends, under the second's feet)."""
    from filelock import FileLock

    from musemood.cli._common import EXIT_SERVICE, exit_code
    from musemood.predictions import PredictionsBusy

    out = tmp_path / "p.parquet"
    (tmp_path / "p.parquet.parts").mkdir()
    with FileLock(tmp_path / "p.parquet.parts" / ".lock"):  # as the first run holds it
        with pytest.raises(PredictionsBusy, match="another process is writing these predictions") as caught:
            predict_to_file(model, songs, out, part_size=10)
    assert exit_code(caught.value) == EXIT_SERVICE and not out.exists()
    result = predict_to_file(model, songs, out, part_size=10)  # once it is free
    assert len(result) == len(songs) and not (tmp_path / "p.parquet.parts").exists()
