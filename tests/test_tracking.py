"""Experiment tracking: a folder per run, nothing overwritten, the same record in MLflow and W&B."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musemood import tracking
from musemood.cli import main
from musemood.tracking import Tracker, check_report_to, new_run_dir


def test_run_folders_are_new_every_time(tmp_path):
    folders = [new_run_dir("compare", tmp_path) for _ in range(3)]  # within one second
    assert len(set(folders)) == 3 and all(f.is_dir() and not any(f.iterdir()) for f in folders)
    assert folders[0].name.startswith("compare-") and folders[1].name == folders[0].name + "-2"


def test_report_to_names_are_checked_before_anything_runs(monkeypatch):
    assert check_report_to("none") == () and check_report_to(None) == ()
    assert check_report_to("mlflow,wandb") == ("mlflow", "wandb")
    with pytest.raises(ValueError, match="unknown service tensorboard"):
        check_report_to("tensorboard")
    monkeypatch.setattr(tracking, "_installed", lambda name: name != "wandb")
    with pytest.raises(ValueError, match=r"wandb, which is not installed: pip install 'musemood\[track\]'"):
        check_report_to(["mlflow", "wandb"])
    assert check_report_to("all") == ("mlflow",)


def test_tracker_writes_params_scores_and_epochs(tmp_path):
    history = [{"epoch": 1, "train_loss": 0.9, "valid_loss": 0.8, "seconds": 1.0},
               {"epoch": 2, "train_loss": 0.5, "valid_loss": float("nan"), "seconds": 1.0}]
    with Tracker(tmp_path / "run", {"command": "compare", "seeds": [0, 1]}) as tracker:
        tracker.log_model_run("dnn", 0, {"accuracy": 0.75, "device": "cpu"}, history)
        tracker.log_model_run("dnn", 1, {"accuracy": 0.80, "device": "cpu"}, history[:1])
    assert json.loads((tmp_path / "run" / "params.json").read_text())["seeds"] == [0, 1]
    scores = pd.read_csv(tmp_path / "run" / "metrics.csv")
    assert scores["accuracy"].tolist() == [0.75, 0.80] and scores["seed"].tolist() == [0, 1]
    epochs = pd.read_csv(tmp_path / "run" / "epochs.csv")
    assert len(epochs) == 3 and epochs["train_loss"].tolist() == [0.9, 0.5, 0.9]
    assert np.isnan(epochs.loc[1, "valid_loss"])  # not a number: left out, not written as "nan"
    assert json.loads((tmp_path / "run" / "status.json").read_text())["status"] == "FINISHED"


@pytest.mark.parametrize("error, status", [(ValueError("the label column holds a single class"), "FAILED"),
                                           (KeyboardInterrupt(), "KILLED")])
def test_a_run_that_stops_says_how_in_its_folder(tmp_path, error, status):
    with pytest.raises(type(error)), Tracker(tmp_path / "run", {"command": "compare"}) as tracker:
        assert not (tracker.folder / "status.json").exists()  # running
        raise error
    record = json.loads((tmp_path / "run" / "status.json").read_text())
    assert record["status"] == status and record["error"].startswith(type(error).__name__)


def _comments(tmp_path, n=120):
    rng = np.random.default_rng(0)
    words = {"joy": "glad love great fun smile", "anger": "hate stupid mad awful rage"}
    labels = rng.choice(list(words), n)
    texts = [" ".join(rng.choice(words[y].split(), 5)) + " today" for y in labels]
    path = tmp_path / "comments.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    return path


def test_compare_records_its_run_in_a_folder_mlflow_and_wandb(tmp_path, monkeypatch, capsys):
    pytest.importorskip("mlflow")
    pytest.importorskip("wandb")
    from mlflow.tracking import MlflowClient

    home = tmp_path / "home"
    monkeypatch.setenv("MUSEMOOD_HOME", str(home))
    monkeypatch.chdir(tmp_path / "..")  # nothing may land in the working directory
    path = _comments(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    for _ in range(2):  # twice: two run folders, nothing overwritten
        assert main(["compare", "--data", str(path), "--text-column", "text", "--models", "tfidf,dnn", "--seeds",
                     "1", "--report-to", "mlflow,wandb", "--tracking-uri", uri]) in (0, None)
    folders = sorted((home / "runs").iterdir())
    assert len(folders) == 2 and all(f.name.startswith("compare-") for f in folders)
    run = folders[0]
    assert {"params.json", "metrics.csv", "epochs.csv", "table.md", "table.json", "runs.csv"} <= {
        p.name for p in run.iterdir()}
    assert json.loads((run / "params.json").read_text())["models"] == "tfidf,dnn"
    assert set(pd.read_csv(run / "epochs.csv")["model"]) == {"dnn"}  # the DNN trains by epochs
    assert any((run / "wandb").glob("offline-run-*"))  # W&B offline: synced later with `wandb sync`

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("musemood-compare")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 2 and len(children) == 4
    assert {r.info.run_name for r in parents} == {f.name for f in folders}
    dnn = next(r for r in children if r.info.run_name == "dnn-seed0")
    assert 0 <= dnn.data.metrics["accuracy"] <= 1 and dnn.data.params["class"] == "TfidfDnnClassifier"
    assert len(client.get_metric_history(dnn.info.run_id, "train_loss")) >= 1  # per epoch
    artifacts = {a.path for a in client.list_artifacts(parents[0].info.run_id)}
    assert "table.md" in artifacts
    assert any((tmp_path / "mlartifacts").rglob("table.md"))  # beside the store, not in the working directory
    assert not (Path.cwd() / "mlruns").exists()


def test_train_keeps_its_model_and_losses_in_the_run_folder(tmp_path, monkeypatch, tiny_bert):
    home = tmp_path / "home"
    monkeypatch.setenv("MUSEMOOD_HOME", str(home))
    path = _comments(tmp_path, 60)
    assert main(["train", "--data", str(path), "--text-column", "text", "--model", "simple", "--encoder",
                 str(tiny_bert), "--max-length", "16", "--batch-size", "8"]) in (0, None)
    (run,) = (home / "runs").iterdir()
    assert (run / "model" / "config.json").exists() and (run / "params.json").exists()
    epochs = pd.read_csv(run / "epochs.csv")
    assert len(epochs) >= 1 and set(epochs["model"]) == {"simple"}


def test_train_prints_the_validation_accuracy_that_picks_a_balanced_heads_epoch(tmp_path, monkeypatch, tiny_bert,
                                                                             capsys):
    monkeypatch.setenv("MUSEMOOD_HOME", str(tmp_path / "home"))
    path = _comments(tmp_path, 60)
    args = ["train", "--data", str(path), "--text-column", "text", "--model", "simple", "--encoder", str(tiny_bert),
            "--max-length", "16", "--batch-size", "8"]
    assert main(args + ["--class-weight", "balanced"]) in (0, None)
    lines = [line for line in capsys.readouterr().out.splitlines() if " epoch " in line]
    assert lines and all("validation loss" in line and "validation accuracy" in line for line in lines)
    assert main(args) in (0, None)  # without class weights the loss picks the epoch: no accuracy printed
    lines = [line for line in capsys.readouterr().out.splitlines() if " epoch " in line]
    assert lines and not any("validation accuracy" in line for line in lines)


def test_a_missing_tracking_extra_stops_compare_before_training(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MUSEMOOD_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(tracking, "_installed", lambda name: False)
    code = main(["compare", "--data", str(_comments(tmp_path)), "--text-column", "text", "--models", "tfidf",
                 "--report-to", "mlflow"])
    assert code != 0 and "pip install 'musemood[track]'" in capsys.readouterr().err
    assert not (tmp_path / "home" / "runs").exists()


KILL_AFTER_THIRD_EPOCH = '''
import os, sys
import musemood.classifiers._nn as nn
save = nn._save_checkpoint
count = [0]
def save_then_die(path, state):
    save(path, state)
    count[0] += 1
    if count[0] == 3:
        os._exit(3)  # killed right after the third epoch's checkpoint
nn._save_checkpoint = save_then_die
from musemood.cli import main
sys.exit(main(sys.argv[1:]))
'''


def test_a_killed_train_resumes_from_the_next_epoch_and_ends_as_if_never_stopped(tmp_path, monkeypatch, tiny_bert):
    import os
    import subprocess
    import sys

    from musemood.classifiers import load_model

    data = _comments(tmp_path, 80)
    params = tmp_path / "params.json"
    settings = {"early_stopping_patience": None, "strategy": "finetune", "min_steps": None}  # exactly 5 epochs
    params.write_text(json.dumps({"model": "finetuned", "params": settings}))
    args = ["train", "--data", str(data), "--text-column", "text", "--params", str(params), "--encoder",
            str(tiny_bert), "--epochs", "5", "--max-length", "16", "--batch-size", "8", "--seed", "0"]
    script = tmp_path / "killed.py"
    script.write_text(KILL_AFTER_THIRD_EPOCH)
    env = {**os.environ, "MUSEMOOD_HOME": str(tmp_path / "killed")}
    done = subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 3, done.stderr[-2000:]
    (run,) = (tmp_path / "killed" / "runs").iterdir()
    assert (run / "checkpoints" / "finetune.pt").exists() and not (run / "model").exists()

    monkeypatch.setenv("MUSEMOOD_HOME", str(tmp_path / "killed"))
    monkeypatch.chdir(tmp_path)  # another directory: the run's record holds absolute paths
    assert main(["train", "--resume", str(run)]) in (0, None)
    epochs = pd.read_csv(run / "epochs.csv")
    assert epochs["epoch"].tolist() == [1, 2, 3, 4, 5]
    resumed = load_model(run / "model")

    monkeypatch.setenv("MUSEMOOD_HOME", str(tmp_path / "whole"))
    assert main(args) in (0, None)
    (whole,) = (tmp_path / "whole" / "runs").iterdir()
    uninterrupted = load_model(whole / "model")
    texts = pd.read_csv(data)["text"].tolist()[:20]
    np.testing.assert_allclose(resumed.predict_proba(texts), uninterrupted.predict_proba(texts), atol=1e-5)
    np.testing.assert_allclose(pd.read_csv(whole / "epochs.csv")["train_loss"], epochs["train_loss"], rtol=1e-5)
    with pytest.raises(ValueError, match="that run finished"):
        from musemood.cli._models import _resumed
        import argparse
        _resumed(argparse.Namespace(resume=str(run), verbose=0, report_to="none", tracking_uri=None))


def test_a_finished_run_is_not_resumed_wherever_its_model_went(tmp_path, monkeypatch, capsys, tiny_bert):
    """--resume refuses a train run whose model is saved, also when --out put it outside the run folder
    (it used to train the stages again from their last checkpoints and overwrite that model)."""
    monkeypatch.setenv("MUSEMOOD_HOME", str(tmp_path / "home"))
    out = tmp_path / "elsewhere" / "model"
    assert main(["train", "--data", str(_comments(tmp_path, 40)), "--text-column", "text", "--model", "finetuned",
                 "--strategy", "finetune", "--encoder", str(tiny_bert), "--epochs", "1", "--max-length", "16",
                 "--out", str(out)]) in (0, None)
    (run,) = (tmp_path / "home" / "runs").iterdir()
    assert (out / "config.json").exists() and not (run / "model").exists()
    saved = (out / "config.json").stat().st_mtime_ns
    capsys.readouterr()
    assert main(["train", "--resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert "that run finished; its model is in " + str(out.resolve()) in err and "Traceback" not in err
    assert (out / "config.json").stat().st_mtime_ns == saved  # not trained and saved again
    (run / "finished.json").write_text("{not json")  # a damaged record still says the run finished
    assert main(["train", "--resume", str(run)]) == 2
    assert "that run finished; " in capsys.readouterr().err


def test_a_checkpoint_of_another_training_is_refused(tmp_path):
    from musemood.classifiers import LstmClassifier

    texts = ["happy sun dance"] * 20 + ["sad rain tears"] * 20
    y = ["happy"] * 20 + ["sad"] * 20
    LstmClassifier(epochs=2, random_state=0, checkpoint_dir=str(tmp_path)).fit(texts, y)
    with pytest.raises(ValueError, match="written by another training"):
        LstmClassifier(epochs=2, random_state=1, checkpoint_dir=str(tmp_path)).fit(texts, y)
    (tmp_path / "net.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable training checkpoint"):
        LstmClassifier(epochs=2, random_state=0, checkpoint_dir=str(tmp_path)).fit(texts, y)
