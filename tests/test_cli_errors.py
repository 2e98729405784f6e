"""Bad command lines, tried systematically: every one ends with one clear line on stderr that names
what was wrong, exit code 2 (bad input), and no traceback."""

import json

import numpy as np
import pytest

from musemood.cli import main
from musemood.datasets import load_demo


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    from musemood.datasets import save_dataset

    demo = load_demo(60, random_state=0)
    save_dataset(demo, root / "good.parquet")
    save_dataset(demo.drop(columns=["label_reason"]), root / "unexplained.parquet")  # labels missing, no reason
    save_dataset(demo[demo["label"].notna()], root / "labelled.parquet")
    demo.drop(columns=["tags"]).to_csv(root / "notags.csv", index=False)
    save_dataset(demo.drop(columns=["lyrics"]), root / "nolyrics.parquet")
    (root / "empty.csv").write_text("")
    (root / "empty.parquet").write_bytes(b"")
    (root / "headeronly.csv").write_text("title,artist,lyrics,tags\n")
    # a labelled file without a header line, as Poem Sentiment's TSVs come: pandas takes the first row as names
    rows = (f"{i}\tline {i} of a verse about the sea\t{i % 3 - 1}\n" for i in range(30))
    (root / "noheader.tsv").write_text("".join(rows))
    garbage = bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8))
    (root / "garbage.parquet").write_bytes(garbage)
    (root / "garbage.csv").write_bytes(garbage)
    (root / "garbage.sqlite").write_bytes(garbage)
    (root / "data.txt").write_text("some lyrics")
    (root / "folder").mkdir()
    (root / "model").mkdir()
    (root / "model" / "config.json").write_text("{not json")
    (root / "params.json").write_text("[1, 2")
    (root / "params-list.json").write_text(json.dumps([1, 2]))
    (root / "params-unknown.json").write_text(json.dumps({"not_a_parameter": 3}))
    return root


def cases(r):
    missing = str(r / "missing.parquet")
    return [
        # label: the data file
        (["label", missing], "missing.parquet"),
        (["label", str(r / "empty.csv")], "empty.csv"),
        (["label", str(r / "empty.parquet")], "empty.parquet"),
        (["label", str(r / "headeronly.csv")], "headeronly.csv"),
        (["label", str(r / "garbage.parquet")], "garbage.parquet"),
        (["label", str(r / "garbage.csv")], "garbage.csv"),
        (["label", str(r / "notags.csv")], "tags"),
        (["label", str(r / "noheader.tsv")], "no header line"),
        (["label", str(r / "data.txt")], "data.txt"),
        (["label", str(r / "folder")], "folder"),
        (["label", str(r / "good.parquet"), "--k", "0"], "k"),
        (["label", str(r / "good.parquet"), "--epsilon", "-1"], "epsilon"),
        (["label", str(r / "good.parquet"), "--epsilon", "nan"], "epsilon"),
        (["label", str(r / "good.parquet"), "--moods", "nine"], "nine"),
        (["label", str(r / "good.parquet"), "--out", str(r / "out.xlsx")], "xlsx"),
        (["label", str(r / "good.parquet"), "--out", str(r / "folder")], "folder"),
        (["label", str(r / "good.parquet"), "--k", "many"], "--k"),
        # predict: the model folder and the data
        (["predict", str(r / "no-model"), "--text", "hello"], "no-model"),
        (["predict", str(r / "folder"), "--text", "hello"], "folder"),
        (["predict", str(r / "model"), "--text", "hello"], "config.json"),
        (["predict", str(r / "good.parquet"), "--text", "hello"], "good.parquet"),
        (["predict", str(r / "model"), "--data", missing], "config.json"),  # the model is read first
        # evaluate: the plot file before the model, the model, the data
        (["evaluate", str(r / "no-model"), "--data", str(r / "good.parquet"), "--plot", str(r / "c.jpg2")], "c.jpg2"),
        (["evaluate", str(r / "no-model"), "--data", str(r / "good.parquet")], "no-model"),
        (["evaluate", str(r / "model"), "--data", missing], "config.json"),
        (["evaluate", str(r / "model")], "--data"),
        # recommend / evaluate-recommender / map: the recommender folder
        (["recommend", "some song", "--recommender", str(r / "no-rec")], "no-rec"),
        (["recommend", "some song", "--recommender", str(r / "good.parquet")], "good.parquet"),
        (["recommend", "some song", "--recommender", str(r / "model")], "config.json"),
        (["recommend", "some song", "--top-k", "0", "--recommender", str(r / "no-rec")], "top"),
        (["recommend", "some song", "--top-k", "-5", "--recommender", str(r / "no-rec")], "top"),
        (["recommend", "--recommender", str(r / "no-rec")], "title"),
        (["recommend", "some song", "--text", "rain", "--recommender", str(r / "no-rec")], "not both"),
        (["recommend", "a", "b", "--artist", "x", "--recommender", str(r / "no-rec")],
         "--artist given 1 time for 2 titles"),
        (["recommend", "--text", "rain", "--artist", "x", "--recommender", str(r / "no-rec")], "--artist narrows"),
        (["evaluate-recommender", "--recommender", str(r / "no-rec")], "no-rec"),
        (["evaluate-recommender", "--top-k", "0", "--recommender", str(r / "no-rec")], "top"),
        (["map", "--recommender", str(r / "no-rec")], "no-rec"),
        (["map", "--data", missing], "missing.parquet"),
        (["map", "--data", str(r / "good.parquet"), "--n-clusters", "abc"], "'abc' is not a whole"),
        (["map", "--data", str(r / "good.parquet"), "--n-clusters", "0"], "--n-clusters: must be 1 or more"),
        (["map", "--data", str(r / "good.parquet"), "--label-column", "mood"], "--label-column 'mood' is not a column"),
        (["map", "--data", str(r / "good.parquet"), "--text-column", "words"], "--text-column 'words' is not a column"),
        (["map", "--data", str(r / "noheader.tsv"), "--text-column", "lyrics"], "no header line"),
        (["map", "--data", str(r / "noheader.tsv")], "--text-column 'lyrics' is not a column"),  # the default's
        # build-dataset / scrape: the store
        (["build-dataset", "--store", str(r / "typo.sqlite")], "typo.sqlite"),
        (["build-dataset", "--store", str(r / "garbage.sqlite")], "garbage.sqlite"),
        (["build-dataset", "--store", str(r / "folder")], "folder"),
        (["scrape", "lastfm", "--store", str(r / "typo.sqlite")], "typo.sqlite"),
        (["scrape", "lyrics", "--store", str(r / "garbage.sqlite")], "garbage.sqlite"),
        (["scrape", "wasabi", "--store", str(r / "new.sqlite"), "--songs", missing], "missing.parquet"),
        (["scrape", "wasabi", "--store", str(r / "new2.sqlite"), "--songs", str(r / "garbage.csv")], "garbage.csv"),
        (["scrape", "lastfm", "--store", str(r / "typo.sqlite"), "--limit", "-3"], "limit"),
        (["scrape", "lastfm", "--store", str(r / "typo.sqlite"), "--workers", "0"], "workers"),
        (["scrape", "lastfm", "--store", str(r / "typo.sqlite"), "--max-retry-after", "-1"], "retry"),
        # compare / train / tune: data and parameters
        (["train", "--resume", str(r / "no-run")], "no-run: no such folder"),
        (["train", "--resume", str(r / "folder")], "folder is not a run folder (it has no params.json)"),
        (["compare", "--data", missing], "missing.parquet"),
        (["compare", "--data", str(r / "nolyrics.parquet"), "--models", "majority"], "lyrics"),
        (["compare", "--data", str(r / "labelled.parquet"), "--models", "bogus"], "bogus"),
        (["compare", "--data", str(r / "unexplained.parquet"), "--models", "majority"], "--drop-missing"),
        (["compare", "--data", str(r / "labelled.parquet"), "--models", ""], "models"),
        (["compare", "--data", str(r / "labelled.parquet"), "--models", "tfidf,majority,tfidf"], "more than once"),
        (["compare", "--data", str(r / "labelled.parquet"), "--models", "majority", "--seeds", "0"], "--seeds"),
        (["compare", "--data", str(r / "labelled.parquet"), "--models", "majority", "--batch-size", "-1"],
         "--batch-size"),
        (["compare", "--data", str(r / "labelled.parquet"), "--models", "majority", "--n-topics", "-3"], "--n-topics"),
        (["train", "--demo", "--seed", "-1", "--out", str(r / "m6")], "--seed"),
        (["compare", "--n-songs", "-4", "--models", "majority"], "n-songs"),
        (["compare", "--data", str(r / "good.parquet"), "--limit", "0", "--models", "majority"], "limit"),
        (["train", "--data", missing, "--out", str(r / "m1")], "missing.parquet"),
        (["train", "--data", str(r / "noheader.tsv"), "--out", str(r / "m7")], "no header line"),
        (["compare", "--data", str(r / "noheader.tsv"), "--models", "majority"], "no header line"),
        (["train", "--demo", "--params", str(r / "params.json"), "--out", str(r / "m2")], "params.json"),
        (["train", "--demo", "--params", str(r / "params-list.json"), "--out", str(r / "m3")], "params-list.json"),
        (["train", "--demo", "--params", str(r / "params-unknown.json"), "--out", str(r / "m4")], "not_a_parameter"),
        (["train", "--demo", "--params", missing, "--out", str(r / "m5")], "missing.parquet"),
        (["tune", "--data", missing], "missing.parquet"),
        (["tune", "--trials", "0", "--data", str(r / "good.parquet")], "trials"),
        (["demo", "--n-songs", "3", "--out", str(r / "d")], "n-songs"),
    ]


def test_every_bad_command_line_gets_one_clear_line_and_exit_code_2(files, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("MUSEMOOD_HOME", str(tmp_path / "home"))
    problems = []
    for argv, named in cases(files):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
        out, err = capsys.readouterr()
        if code != 2 or "Traceback" in err or named not in err:
            problems.append(f"{' '.join(argv)} -> exit {code}: {err.strip()[-300:] or out.strip()[-300:]}")
    assert not problems, f"{len(problems)} of {len(cases(files))}:\n" + "\n".join(problems)


def test_an_output_of_unknown_type_is_refused_before_the_work(files, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("MUSEMOOD_HOME", str(tmp_path / "home"))
    assert main(["label", str(files / "good.parquet"), "--out", str(tmp_path / "labels.json")]) == 2
    out, err = capsys.readouterr()
    assert "labels.json: unknown file type '.json'; use .parquet, .csv or .tsv" in err and not out  # no summary
    assert main(["predict", str(files / "no-model"), "--text", "x", "--out", str(tmp_path / "p.xlsx")]) == 2
    assert "p.xlsx: unknown file type '.xlsx'" in capsys.readouterr().err  # before the model is loaded
    assert main(["build-dataset", "--store", str(files / "typo.sqlite"), "--out", str(tmp_path / "d.txt")]) == 2
    assert "d.txt: unknown file type '.txt'" in capsys.readouterr().err  # before the store is opened
    store = tmp_path / "new.sqlite"
    assert main(["scrape", "all", "--store", str(store), "--out", str(tmp_path / "d.xlsx")]) == 2
    assert "d.xlsx: unknown file type '.xlsx'" in capsys.readouterr().err and not store.exists()  # before scraping
    assert main(["label", str(files / "folder")]) == 2
    assert "is a folder without Parquet files; give a dataset file" in capsys.readouterr().err


def test_an_output_folder_that_is_a_file_is_refused_before_the_work(files, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("MUSEMOOD_HOME", str(tmp_path / "home"))
    taken = tmp_path / "afile"
    taken.write_text("mine")
    for argv, option in [
        (["train", "--data", str(files / "labelled.parquet"), "--model", "dnn", "--out", str(taken)], "--out"),
        (["compare", "--data", str(files / "labelled.parquet"), "--models", "majority", "--out", str(taken)], "--out"),
        (["demo", "--n-songs", "60", "--models", "none", "--out", str(taken)], "--out"),
        (["demo", "--n-songs", "60", "--models", "none", "--recommender", str(taken)], "--recommender"),
        (["map", "--data", str(files / "good.parquet"), "--recommender", str(taken)], "--recommender"),  # fitted, lost
        (["map", "--recommender", str(files / "no-rec"), "--out", str(taken)], "--out"),
    ]:
        assert main(argv) == 2, argv
        out, err = capsys.readouterr()
        assert f"{option} {taken} is a file; give a folder" in err, (argv, err)
        assert "Run folder" not in out and "Demo corpus" not in out, argv
    assert taken.read_text() == "mine"
    for storage, what in [(files / "folder", "is a folder"), (files / "garbage.csv", "is not an SQLite file"),
                          (files / "scrape.sqlite", "holds no Optuna study")]:
        if what == "holds no Optuna study":
            __import__("musemood.sources", fromlist=["x"]).ScrapeStore(storage)  # an SQLite file of another kind
        argv = ["tune", "--data", str(files / "labelled.parquet"), "--trials", "1", "--storage", str(storage)]
        assert main(argv) == 2
        assert f"--storage {storage} {what}" in capsys.readouterr().err


def test_serve_refuses_an_address_it_cannot_listen_on_before_loading(capsys, tmp_path):
    import socket

    pytest.importorskip("uvicorn")
    missing = str(tmp_path / "no-recommender")  # never read: the address is checked first
    for workers in ("1", "2"):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = str(taken.getsockname()[1])
            assert main(["serve", "--recommender", missing, "--port", port, "--workers", workers]) == 2
        err = capsys.readouterr().err
        assert f"port {port} on 127.0.0.1 is in use (another server?)" in err and "--port" in err
        assert "Serving" not in err and "no-recommender" not in err
    assert main(["serve", "--recommender", missing, "--host", "no-such-host.invalid"]) == 2
    assert "--host 'no-such-host.invalid' is not an address of this machine" in capsys.readouterr().err


def test_a_reader_that_goes_away_is_not_an_error(monkeypatch, capsys):
    import musemood.cli as cli

    def closed_pipe(args):  # what print() raises under `musemood ... | head -3`
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli._parser, "_label", closed_pipe)  # the handler the parser gives `label`
    assert cli.main(["label", "x.parquet"]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_a_bug_says_how_to_report_it(monkeypatch, capsys):
    import musemood.cli as cli

    def bug(args):
        raise RuntimeError("an invariant broke")

    monkeypatch.setattr(cli._parser, "_label", bug)
    assert cli.main(["label", "x.parquet"]) == cli.EXIT_BUG
    err = capsys.readouterr().err
    assert "error: RuntimeError: an invariant broke" in err and "again with -v" in err
    assert "please report it" in err and "musemood info" in err and "Traceback" not in err
    monkeypatch.setattr(cli._parser, "_label", lambda args: (_ for _ in ()).throw(ValueError("bad input")))
    assert cli.main(["label", "x.parquet"]) == cli.EXIT_BAD_INPUT
    assert "report" not in capsys.readouterr().err  # the user's to fix, not a bug


def test_exit_codes_tell_bad_input_from_a_failing_service():
    from musemood.cli import EXIT_BAD_INPUT, EXIT_BUG, EXIT_SERVICE, exit_code
    from musemood.sources.http import CredentialError, FatalSourceError, SourceError
    from musemood.sources.store import StoreBusy

    assert {exit_code(e) for e in (ValueError("x"), KeyError("x"), FileNotFoundError("x"), CredentialError("x"),
                                   IsADirectoryError("x"), TypeError("x"))} == {EXIT_BAD_INPUT}
    assert {exit_code(e) for e in (SourceError("x"), FatalSourceError("x"), StoreBusy("x"), ImportError("x"),
                                   OSError(28, "No space left on device"), MemoryError())} == {EXIT_SERVICE}
    assert exit_code(RuntimeError("x")) == exit_code(AssertionError()) == EXIT_BUG


def test_a_damaged_model_folder_through_the_real_command(_tiny_bert_dir, tmp_path):
    """The installed entry point, in its own process: one line naming the file, exit 2, no traceback."""
    import subprocess
    import sys

    from musemood.classifiers import SimpleBertClassifier

    from test_classifiers import FAST, make_songs

    train, y = make_songs(40, 0, "text")
    folder = SimpleBertClassifier(str(_tiny_bert_dir), epochs=1, **FAST).fit(train, y).save(tmp_path / "model")
    head = folder / "head.safetensors"
    head.write_bytes(head.read_bytes()[:50])
    done = subprocess.run([sys.executable, "-m", "musemood.cli", "predict", str(folder), "--text", "rain"],
                          capture_output=True, text=True)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "head.safetensors" in lines[0] and "Traceback" not in done.stderr, done.stderr


def test_a_key_error_reads_as_a_sentence_not_a_quoted_key(files, capsys, monkeypatch):
    from musemood.cli import _parser

    def missing_column(args):
        raise KeyError("text column 'lyrics' is not in the data; columns are ['words']")

    monkeypatch.setattr(_parser, "_label", missing_column)
    assert main(["label", str(files / "good.parquet")]) == 2
    err = capsys.readouterr().err  # str(KeyError) would wrap the sentence in quotes
    assert err == "musemood label: error: text column 'lyrics' is not in the data; columns are ['words']\n"


def test_an_error_about_the_files_contents_points_to_musemood_check(files, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("MUSEMOOD_HOME", str(tmp_path / "home"))
    good = str(files / "unexplained.parquet")  # songs without a label: refused without --drop-missing
    assert main(["compare", "--data", good, "--models", "majority"]) == 2
    assert capsys.readouterr().err.rstrip().endswith(f"(`musemood check {good}` lists every problem of the file "
                                                     "at once)")
    assert main(["compare", "--data", str(files / "labelled.parquet"), "--models", "bogus"]) == 2
    assert "musemood check" not in capsys.readouterr().err  # an option, not the file
    assert main(["check", good]) == 2
    assert "songs have no label in 'label'" in capsys.readouterr().out


def test_a_data_file_given_without_data_is_pointed_to_the_option(files, capsys):
    """`musemood train songs.csv` (as `check` and `label` take it) is refused with the option that takes the
    file, whichever error argparse finds first; unknown arguments are refused by the command's own usage."""
    good = str(files / "good.parquet")
    with pytest.raises(SystemExit) as exc:
        main(["train", good, "--model", "simple"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith("usage: musemood train ")
    assert err.strip().endswith(f"musemood train: error: unrecognized arguments: {good}\n(a data file goes after "
                                f"--data: musemood train --data {good})")
    with pytest.raises(SystemExit):  # argparse's first complaint is another one: the hint still comes
        main(["predict", str(files / "no-model"), "songs.csv", "--out", "p.csv"])
    assert capsys.readouterr().err.strip().endswith("musemood predict: error: one of the arguments --data --text is "
                                                    "required\n(a data file goes after --data: musemood predict "
                                                    "--data songs.csv)")
    with pytest.raises(SystemExit):  # an option's value is not a bare file
        main(["predict", str(files / "no-model"), "--out", "p.csv"])
    assert "a data file" not in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--demo", "-o", "m3"])
    err = capsys.readouterr().err
    assert err.startswith("usage: musemood train ") and err.strip().endswith("error: unrecognized arguments: -o m3")


def test_a_misspelt_option_is_answered_with_the_nearest_one(files, capsys):
    """`musemood tune --n-trials 3` (Optuna's name) gave "unrecognized arguments" alone: the nearest option of the
    command now comes with it."""
    for argv, unknown, nearest in ((["tune", "--demo", "--n-trials", "3"], "--n-trials", "--trials"),
                                   (["map", "--data", "songs.csv", "--nclusters=14"], "--nclusters", "--n-clusters"),
                                   (["recommend", "A song", "--topk", "5"], "--topk", "--top-k")):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        err = capsys.readouterr().err
        assert exc.value.code == 2 and err.startswith(f"usage: musemood {argv[0]} ")
        assert err.strip().endswith(f"({unknown} is not an option of musemood {argv[0]}; did you mean {nearest}?)"), err
    with pytest.raises(SystemExit):  # nothing near: argparse's words alone
        main(["train", "--demo", "--colour", "red"])
    assert capsys.readouterr().err.strip().endswith("error: unrecognized arguments: --colour red")
