"""The musemood command."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from musemood.cli import main
from musemood.datasets import load_dataset, load_demo, save_dataset


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys\n"
        "from musemood.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'transformers', 'pandas', 'sklearn') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "demo" in done.stdout and "label" in done.stdout


@pytest.mark.parametrize("module", ["musemood", "musemood.cli"])
def test_python_dash_m_runs_the_command(module):
    done = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("musemood ")


def test_import_musemood_is_light():
    code = "import sys, musemood; assert 'torch' not in sys.modules and 'pandas' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_demo_prints_summary_and_saves_corpus(tmp_path, capsys):
    assert main(["demo", "--n-songs", "300", "--out", str(tmp_path), "--models", "none"]) == 0
    out = capsys.readouterr().out
    for word in ("300 songs", "happy", "sad", "rejected", "too_few_tags", "not_dominant", "train"):
        assert word in out
    df = load_dataset(tmp_path / "demo.parquet")
    assert len(df) == 300 and {"label", "label_reason"} <= set(df.columns)
    # the printed counts are those of the saved file
    happy = int(out.split("\nhappy")[1].split()[0])
    assert happy == (df["label"] == "happy").sum()


def test_demo_four_moods_and_home_default(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MUSEMOOD_HOME", str(tmp_path))
    assert main(["demo", "--n-songs", "200", "--moods", "four", "--epsilon", "0.05", "--models", "none"]) == 0
    out = capsys.readouterr().out
    assert "calm" in out and "energetic" in out and "epsilon=0.05" in out
    assert (tmp_path / "demo" / "demo.parquet").exists()


def test_label_command(tmp_path, capsys):
    src = save_dataset(load_demo(200, random_state=2, label=False, tag_counts="lastfm"), tmp_path / "in.parquet")
    assert main(["label", str(src), "--out", str(tmp_path / "out.parquet"), "--k", "3"]) == 0
    out = capsys.readouterr().out
    assert "tag counts read as Last.fm weights (top tag 100)" in out and "k=3" in out
    labelled = load_dataset(tmp_path / "out.parquet")
    assert labelled["label"].notna().any()
    raw = load_demo(200, random_state=3, label=False)  # a WASABI dump's raw counts beside the API's weights
    mixed = pd.concat([labelled.assign(tags_source="lastfm"), raw.assign(tags_source="dump")], ignore_index=True)
    assert main(["label", str(save_dataset(mixed, tmp_path / "mixed.parquet"))]) == 0
    assert "tag counts read as each tag source's own (raw counts and Last.fm weights)" in capsys.readouterr().out


def test_label_command_with_mood_sets_of_ones_own(tmp_path, capsys):
    src = save_dataset(load_demo(200, random_state=2, label=False), tmp_path / "in.parquet")
    sets = {"bright": ["happy", "joy", "upbeat"], "blue": ["sad", "melancholy", "melancholic"]}
    (tmp_path / "moods.json").write_text(json.dumps(sets))
    assert main(["label", str(src), "--moods", str(tmp_path / "moods.json"), "--out", str(tmp_path / "o.csv")]) == 0
    assert "bright" in capsys.readouterr().out
    labels = set(load_dataset(tmp_path / "o.csv")["label"].dropna())
    assert labels and labels <= {"bright", "blue"}
    assert main(["label", str(src), "--moods", json.dumps(sets)]) == 0  # the same, inline
    assert "bright" in capsys.readouterr().out
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(sets).encode())  # as Notepad saves UTF-8
    assert main(["label", str(src), "--moods", str(tmp_path / "bom.json")]) == 0
    assert "bright" in capsys.readouterr().out
    (tmp_path / "bad.json").write_text('{"bright": ["happy"],\n "blue": sad}')
    (tmp_path / "latin.json").write_bytes('{"gl\u00fcck": ["happy"], "blue": ["sad"]}'.encode("cp1252"))
    for moods, message in [(str(tmp_path / "bad.json"), "bad.json is not JSON (line 2"),
                           (str(tmp_path / "latin.json"), "latin.json, line 1 (byte 4): b'\\xfc' is not UTF-8"),
                           (str(tmp_path / "none.json"), "no mood sets file at"),
                           ('["happy", "sad"]', "a JSON object mapping each mood to its tags"),
                           ('{"bright": ["happy"], "blue": ["happy"]}', "tag 'happy' is in both mood sets")]:
        try:
            code = main(["label", str(src), "--moods", moods])
        except SystemExit as exc:
            code = exc.code
        assert code == 2 and message in capsys.readouterr().err, moods


def test_errors_exit_2_with_a_message(tmp_path, capsys):
    pd.DataFrame({"title": ["x"]}).to_csv(tmp_path / "no_tags.csv", index=False)
    assert main(["label", str(tmp_path / "no_tags.csv")]) == 2
    assert "no 'tags' column" in capsys.readouterr().err
    assert main(["label", str(tmp_path / "missing.parquet")]) == 2
    with pytest.raises(SystemExit) as stop:  # argparse's own error: exit code 2
        main(["demo", "--n-songs", "50", "--moods", "nine", "--out", str(tmp_path)])
    assert stop.value.code == 2 and "unknown mood sets 'nine'" in capsys.readouterr().err


def test_a_mood_set_whose_tags_no_song_has_is_named(tmp_path, capsys):
    """A misspelt tag ("melancholly") leaves its mood with no song, said, not only as a row of zeros."""
    from musemood.labels import assign_moods, summarize

    df = load_demo(200, random_state=2, label=False)
    sets = {"bright": ["happy", "joy"], "blue": ["melancholly", "saad"]}
    result = assign_moods(df, mood_sets=sets)
    assert list(result.attrs["unused_moods"]) == ["blue"] and summarize(result)["unused_moods"] == \
        result.attrs["unused_moods"]
    assert {"melancholy", "sad"} <= set(result.attrs["unused_moods"]["blue"])  # the songs' closest tags
    assert assign_moods(df, mood_sets={"bright": ["happy"], "blue": ["sad"]}).attrs["unused_moods"] == {}
    untagged = df.assign(tags=[[] for _ in range(len(df))])  # no song has a tag: no mood set is to blame
    assert assign_moods(untagged, mood_sets=sets).attrs["unused_moods"] == {}
    src = save_dataset(df, tmp_path / "in.parquet")
    assert main(["label", str(src), "--moods", json.dumps(sets)]) == 0
    printed = capsys.readouterr().out
    assert "note: no song has a tag of the mood 'blue' (is one misspelt?); the songs' closest tags: " in printed
    assert main(["label", str(src), "--moods", json.dumps({"bright": ["happy"], "blue": ["sad"]})]) == 0
    assert "note:" not in capsys.readouterr().out
