"""Experiment tracking: every run in its own folder, and the same record in MLflow or Weights & Biases.

:func:`new_run_dir` gives each ``compare``, ``train`` and ``tune`` run a new folder,
``$MUSEMOOD_HOME/runs/<command>-<UTC time>`` (a suffix when two start in the same second), so
nothing is overwritten.  :class:`Tracker` writes into it ``params.json`` (the run's settings),
``metrics.csv`` (one row per model and seed: the final scores) and ``epochs.csv`` (one row per
model, seed and epoch: the losses), and sends the same to the services named in ``report_to``, as
Hugging Face's Trainer does:

- ``"mlflow"``: one MLflow run per model and seed, nested in a parent run named after the run
  folder, which also receives the folder's files (table, plots) as artifacts.  The store is
  ``sqlite:///$MUSEMOOD_HOME/mlflow.db`` (artifacts in ``mlartifacts/`` beside it) unless
  ``tracking_uri`` (or ``MLFLOW_TRACKING_URI``) names another; ``mlflow ui --backend-store-uri
  sqlite:///...`` shows it.
- ``"wandb"``: one W&B run per model and seed, grouped by the run folder's name, offline (files
  under the run folder, ``wandb sync`` uploads them later) unless ``WANDB_MODE`` says otherwise or
  an API key is configured and ``WANDB_MODE=online``.

Both are optional extras (``pip install 'musemood[track]'``); asking for one that is not installed
is a clear error before any training starts.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from datetime import datetime, timezone
from pathlib import Path

from .config import home

logger = logging.getLogger(__name__)

REPORTERS = ("mlflow", "wandb")


def new_run_dir(command: str, root: str | Path | None = None) -> Path:
    """A new, empty folder ``<root>/<command>-<YYYYmmdd-HHMMSS>`` (``root``: ``$MUSEMOOD_HOME/runs``)."""
    root = Path(root) if root is not None else home() / "runs"
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    for n in range(10_000):
        path = root / (f"{command}-{stamp}" + (f"-{n + 1}" if n else ""))
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"cannot make a new run folder in {root}")


def check_report_to(report_to) -> tuple:
    """``report_to`` as a tuple of service names; "none" or empty for none, "all" for every installed one.

    A service that is named but not installed is a ValueError saying what to install.
    """
    if report_to in (None, "", "none", ()):
        return ()
    names = [report_to] if isinstance(report_to, str) else list(report_to)
    names = [n.strip() for name in names for n in str(name).split(",") if n.strip()]
    if names == ["all"]:
        return tuple(n for n in REPORTERS if _installed(n))
    unknown = [n for n in names if n not in REPORTERS]
    if unknown:
        raise ValueError(f"report_to: unknown service {', '.join(unknown)}; choose from {', '.join(REPORTERS)}, "
                         "'all' or 'none'")
    missing = [n for n in names if not _installed(n)]
    if missing:
        raise ValueError(f"report_to names {', '.join(missing)}, which is not installed: pip install "
                         f"'musemood[track]' (or pip install {' '.join(missing)})")
    return tuple(dict.fromkeys(names))


def _installed(name):
    import importlib.util

    return importlib.util.find_spec(name) is not None


class Tracker:
    """One run's record: files in ``folder`` and the same in the ``report_to`` services.

    Parameters
    ----------
    folder : path
        The run folder (see :func:`new_run_dir`).
    params : dict
        The run's settings (command, data, models, seeds...), written to ``params.json``.
    report_to : str or sequence, default=()
        ``"mlflow"``, ``"wandb"``, both, ``"all"`` (those installed) or ``"none"``.
    tracking_uri : str, optional
        MLflow's store (default ``sqlite:///$MUSEMOOD_HOME/mlflow.db``, or ``MLFLOW_TRACKING_URI``).
    experiment : str, default="musemood"
        MLflow experiment and W&B project.
    """

    def __init__(self, folder, params, *, report_to=(), tracking_uri=None, experiment="musemood"):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.params = dict(params)
        self.report_to = check_report_to(report_to)
        self.experiment = experiment
        self.name = self.folder.name
        (self.folder / "params.json").write_text(json.dumps(self.params, indent=2, default=str) + "\n")
        self._parent = None
        if "mlflow" in self.report_to:
            import mlflow

            uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home() / 'mlflow.db'}"
            mlflow.set_tracking_uri(uri)
            _experiment(mlflow, experiment, uri)
            self._parent = mlflow.start_run(run_name=self.name, tags={"musemood.folder": str(self.folder)})
            mlflow.log_params(_flat(self.params))
            self.tracking_uri = uri

    # ------------------------------------------------------------------ logging
    def log_model_run(self, model: str, seed, metrics: dict, history=None, params=None):
        """One model trained with one seed: its final ``metrics`` and per-epoch ``history``."""
        history = list(history or [])
        _append_csv(self.folder / "metrics.csv", {"model": model, "seed": seed, **metrics})
        for record in history:
            _append_csv(self.folder / "epochs.csv", {"model": model, "seed": seed, "stage": record.get("stage", ""),
                                                     **_numbers(record)},
                        fields=("model", "seed", "stage", "epoch", "train_loss", "valid_loss", "seconds",
                                "samples_per_s"))
        run_params = {"model": model, "seed": seed, **(params or {})}
        if "mlflow" in self.report_to:
            self._mlflow_run(model, seed, metrics, history, run_params)
        if "wandb" in self.report_to:
            self._wandb_run(model, seed, metrics, history, run_params)

    def _mlflow_run(self, model, seed, metrics, history, params):
        import mlflow

        with mlflow.start_run(run_name=f"{model}-seed{seed}", nested=True):
            mlflow.log_params(_flat(params))
            for step, record in enumerate(history):
                mlflow.log_metrics({k: v for k, v in _numbers(record).items() if k != "epoch"}, step=step)
            mlflow.log_metrics(_numbers(metrics))

    def _wandb_run(self, model, seed, metrics, history, params):
        import wandb

        mode = os.environ.get("WANDB_MODE", "offline")
        run = wandb.init(project=self.experiment, group=self.name, name=f"{model}-seed{seed}", dir=str(self.folder),
                         config={**_flat(self.params), **_flat(params)}, mode=mode, reinit="create_new")
        try:
            for record in history:
                run.log({k: v for k, v in _numbers(record).items() if k != "epoch"})
            run.summary.update(_numbers(metrics))
        finally:
            run.finish()

    def finish(self, status="FINISHED", error=None):
        """Record how the run ended in ``status.json`` (``status``: ``"FINISHED"``, ``"FAILED"`` or, stopped
        by the user, ``"KILLED"``: MLflow's words; and the ``error`` that stopped it), then attach the
        folder's files to the parent MLflow run and close it.  A folder without ``status.json`` is a run
        still going, or one whose process was killed."""
        record = {"status": status, "ended": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        if error is not None:
            record["error"] = f"{type(error).__name__}: {error}"
        (self.folder / "status.json").write_text(json.dumps(record, indent=2) + "\n")
        if self._parent is not None:
            import mlflow

            for path in sorted(self.folder.iterdir()):
                if path.is_file():
                    mlflow.log_artifact(str(path))
            mlflow.end_run(status=status)
            self._parent = None

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        status = "FINISHED" if kind is None else "KILLED" if issubclass(kind, KeyboardInterrupt) else "FAILED"
        self.finish(status, value)
        return False


def _experiment(mlflow, name, uri):
    """Make ``name`` the active experiment; a new one in a local SQLite store keeps its artifacts in
    ``mlartifacts/`` beside the database (MLflow's default is ``./mlruns`` in the working directory)."""
    if mlflow.get_experiment_by_name(name) is None and uri.startswith("sqlite:///"):
        artifacts = Path(uri[len("sqlite:///"):]).resolve().parent / "mlartifacts"
        mlflow.create_experiment(name, artifact_location=artifacts.as_uri())
    mlflow.set_experiment(name)


def _flat(params, prefix=""):
    """Parameters as MLflow wants them: one level, values as short strings."""
    out = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, name + "."))
        else:
            out[name] = value if isinstance(value, (int, float, str, bool)) or value is None else str(value)[:500]
    return {k: "None" if v is None else v for k, v in out.items()}


def _numbers(record):
    import math
    import numbers

    return {k: float(v) for k, v in record.items()
            if isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(float(v))}


def _append_csv(path, row, fields=None):
    """Append ``row`` to a CSV file, writing the header first when the file is new."""
    fields = list(fields) if fields else list(row)
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerow(row)
