"""Compare the study's models on one dataset: the study's Table 1, with baselines and tests.

:func:`compare_models` trains, for each seed, a majority-class baseline, a
TF-IDF + logistic-regression baseline and the three models in sequence (simple
BERT, fine-tuned BERT, tBERT on top of that fine-tuned encoder), and reports
accuracy, macro precision, recall and F1, training and prediction time and the
device as mean ± sd over seeds, with exact McNemar tests between consecutive
models.  On request (``models=``) it also trains the other contenders: a DNN on
TF-IDF, a BiLSTM, audio-only models (MLP, gradient boosting) and tBERT's
ablations (text + topics, text + audio), see :data:`musemood.schema.MODELS`.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema
from ._plotting import drawn_as_written
from ._validation import (MISSING_IN_WORDS, check_label_variants, headerless_hint, imbalance_note, row_of,
                          rule_rejected)
from .features import resolve_audio_columns

logger = logging.getLogger(__name__)

MODELS = schema.MODELS
MODEL_NAMES = {
    "majority": "Majority class",
    "tfidf": "TF-IDF + logistic regression",
    "dnn": "DNN on TF-IDF",
    "lstm": "BiLSTM",
    "audio_mlp": "Audio only: MLP",
    "audio_gb": "Audio only: gradient boosting",
    "simple": "Simple BERT",
    "finetuned": "Fine-tuned BERT",
    "tbert_topics": "tBERT: text + topics",
    "tbert_audio": "tBERT: text + audio",
    "tbert": "tBERT",
}
#: Regression names of the two baselines.
REGRESSION_NAMES = {"majority": "Mean baseline", "tfidf": "TF-IDF + ridge regression"}
METRICS = ("accuracy", "precision", "recall", "f1", "train_seconds", "predict_seconds")
REGRESSION_METRICS = ("mse", "rmse", "mae", "r2", "train_seconds", "predict_seconds")
TIMES = ("train_seconds", "predict_seconds")
HEADERS = {"accuracy": "accuracy", "precision": "precision", "recall": "recall", "f1": "macro-F1",
           "mse": "MSE", "rmse": "RMSE", "mae": "MAE", "r2": "R²", "train_seconds": "training time (s)",
           "predict_seconds": "prediction time (s)"}


def _usable_rows(df, text_column, label_column, *, drop_missing=False, objective="classification", what=""):
    """``df``'s rows with a text and a label (numbers for regression), or an error naming the columns and
    rows; ``what`` names the table in the messages (e.g. "the test data")."""
    whose, of = (f"{what}'s ", f"{what}: ") if what else ("", "")
    for name, col in (("text", text_column), ("label", label_column)):
        if col not in df.columns:
            raise KeyError(
                f"{whose}{name} column {col!r} is not {'in it' if what else 'in the data'}; columns are "
                f"{list(df.columns)}. {headerless_hint(df.columns)}Use --{name}-column to name it."
            )
    rejected = rule_rejected(df, label_column)
    kept = np.ones(len(df), dtype=bool) if rejected is None else ~rejected.to_numpy()
    if not kept.all():  # as `musemood label --out` writes them: not a missing label
        logger.warning("%sleft out %s of %s songs that the k/epsilon rule did not label (%r says why)", of,
                       f"{int((~kept).sum()):,}", f"{len(df):,}", schema.LABEL_REASON)
    unlabelled = df[label_column].isna().to_numpy() & kept
    textless = (df[text_column].fillna("").astype(str).str.strip() == "").to_numpy() & kept
    bad = unlabelled | textless
    if bad.any() and not drop_missing:  # the rows counted in the whole table, as the file numbers them
        raise ValueError(
            f"{of}rows without a label (no value in {label_column!r}: {MISSING_IN_WORDS}): "
            f"{int(unlabelled.sum())}, with an empty text (in {text_column!r}): {int(textless.sum())}, the first at "
            f"{row_of(df, bad, skip=(text_column, label_column))} "
            "(counting from 0 after the header); remove them or pass --drop-missing (drop_missing=True)"
        )
    df = df[kept & ~bad]
    if df.empty:
        raise ValueError(f"{of}no row has both a text and a label")
    if objective == "regression":
        values = pd.to_numeric(df[label_column], errors="coerce")
        if values.isna().any():
            example = df.loc[values.isna(), label_column].iloc[0]
            raise ValueError(f"{of}regression needs numeric targets; {label_column!r} holds {example!r}")
        return df.assign(**{label_column: values})
    return df


def check_dataset(df, text_column, label_column, *, drop_missing=False, objective="classification"):
    """Validate a labelled table for training; return the rows to use.

    Raises ``ValueError``/``KeyError`` that say what is wrong and what to do:
    unknown columns, missing labels, empty texts, a single class, classes too
    small to split, non-numeric targets for regression.
    """
    df = _usable_rows(df, text_column, label_column, drop_missing=drop_missing, objective=objective)
    if objective == "regression":
        values = df[label_column]
        if values.nunique() < 2:
            raise ValueError(f"every target in {label_column!r} is the same; nothing to learn")
        return df
    check_label_variants(df[label_column], f"the label column {label_column!r}")
    counts = df[label_column].value_counts()
    if len(counts) < 2:
        raise ValueError(f"the label column holds a single class ({counts.index[0]!r}); need two or more")
    if counts.min() < 2:
        single = counts.idxmin()
        single = single.item() if hasattr(single, "item") else single  # 0.811, not np.float64(0.811)
        message = (f"class {single!r} of {label_column!r} has a single song; every class needs at least 2 "
                   "to split into training and test songs")
        if pd.api.types.is_numeric_dtype(df[label_column]):
            message += (f". {label_column!r} holds {len(counts)} different numbers among {len(df)} songs: to "
                        "predict a number, train with --objective regression (objective='regression')")
        raise ValueError(message)
    return df


def evaluate_model(model, X, y, *, include_trained=False):
    """Score a fitted model on labelled songs it did not train on (a held-out test file).

    Songs the model trained on (:meth:`~musemood.SimpleBertClassifier.trained_on`) are left out, as
    their scores would flatter it, unless ``include_trained``; when every song is one of them, a
    ``ValueError`` says so.

    Parameters
    ----------
    model : a fitted musemood classifier (or regressor, ``objective="regression"``)
    X : DataFrame, Series or list of texts
        The songs, as the model's ``predict`` takes them.
    y : array-like
        Their labels (or target values).  Labels are matched to the model's classes by text:
        ``1``, ``1.0`` and ``"1"`` all name the class ``"1"``.

    Returns
    -------
    dict
        ``n_songs``, ``objective`` and ``metrics``: accuracy and macro precision, recall and F1 (as
        :func:`compare_models` reports them), or MSE, RMSE, MAE and R² for regression.  A classifier's
        result adds ``per_class`` (``{label: {precision, recall, f1, support}}``), ``confusion``
        (``labels``, and ``matrix`` with a row per true label and a column per prediction) and
        ``unknown``: test labels the model has no class for, with their counts (each song counts as
        wrong; a wrong label column is the usual cause).  ``trained_on``: how many of the songs the model
        trained on (``None`` when it cannot tell: a scikit-learn baseline, or a model saved by an earlier
        musemood), and ``trained_on_scored``: whether they were scored (``include_trained``).
        ``intervals``: 95% percentile-bootstrap intervals over the songs, ``{metric: [low, high]}``, of
        accuracy and macro-F1 (``accuracy``, ``f1``), or of RMSE and R² for regression.
    """
    X, y, trained_on = leave_out_trained(model, X, y, include_trained=include_trained)
    result = score_predictions(y, model.predict(X), classes=None if model.objective == "regression" else model.classes_)
    return {**result, "trained_on": trained_on, "trained_on_scored": bool(include_trained)}


def leave_out_trained(model, X, y, *, include_trained=False, where=""):
    """``X`` and ``y`` without the songs ``model`` trained on (all of them with ``include_trained``), and
    how many there were (``None`` when the model cannot tell); ``where`` names the songs' file in the error
    raised when every song is one it trained on."""
    if getattr(model, "training_texts_", None) is None:
        return X, y, None
    seen = np.asarray(model.trained_on(X))
    if include_trained or not seen.any():
        return X, y, int(seen.sum())
    if seen.all():
        raise ValueError(f"every one of the {len(seen):,} songs{f' of {where}' if where else ''} is one the model "
                         "trained on: their scores would say how well it learnt them, not how it does on new songs. "
                         "Evaluate it on songs it did not train on (--include-trained, include_trained=True in Python, "
                         "scores these anyway)")
    rows = np.flatnonzero(~seen)
    X = X.iloc[rows] if hasattr(X, "iloc") else [X[i] for i in rows]
    y = y.iloc[rows] if hasattr(y, "iloc") else np.asarray(y, dtype=object)[rows]
    return X, y, int(seen.sum())


def score_predictions(y, pred, *, classes=None):
    """:func:`evaluate_model`'s result from predictions already made: ``classes`` are the classifier's
    (``model.classes_``), ``None`` for a regressor's values."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y = np.asarray(y, dtype=object).ravel()
    pred = np.asarray(pred, dtype=object).ravel()
    if len(y) != len(pred):
        raise ValueError(f"y has {len(y)} labels for {len(pred)} songs")
    if not len(y):
        raise ValueError("no songs to evaluate")
    if classes is None:
        values = pd.to_numeric(pd.Series(y), errors="coerce")
        if values.isna().any():
            row = int(np.flatnonzero(values.isna())[0])
            raise ValueError(f"a regression model is scored on numbers; label {row} is {y[row]!r}")
        metrics = _regression_metrics(values.to_numpy(dtype=float), pred.astype(float))
        return {"n_songs": len(y), "objective": "regression", "metrics": _floats(metrics),
                "intervals": _regression_intervals(values.to_numpy(dtype=float), pred.astype(float))}
    from .classifiers._base import align_labels, label_key

    aligned, known = align_labels(y, classes)
    unknown = pd.Series(y[~known]).map(label_key).value_counts()
    labels = [label_key(c) for c in classes] + sorted(unknown.index)
    truth = [label_key(v) for v in aligned]
    guess = [label_key(v) for v in pred]
    p, r, f, support = precision_recall_fscore_support(truth, guess, labels=labels, zero_division=0)
    matrix = confusion_matrix(truth, guess, labels=labels)
    return {
        "n_songs": len(y), "objective": "classification",
        "metrics": _floats(_metrics(truth, guess)),
        "per_class": {label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                              "support": int(support[i])} for i, label in enumerate(labels)},
        "confusion": {"labels": labels, "matrix": matrix.tolist()},
        "unknown": {label: int(n) for label, n in unknown.items()},
        "intervals": _classification_intervals(matrix),
    }


#: Resamples of the bootstrap intervals :func:`score_predictions` gives, and their coverage.
BOOTSTRAP_RESAMPLES, BOOTSTRAP_LEVEL = 1000, 0.95


def _percentiles(draws):
    tail = (1 - BOOTSTRAP_LEVEL) / 2 * 100
    return [float(v) for v in np.percentile(draws, [tail, 100 - tail])]


def _classification_intervals(matrix):
    """95% percentile-bootstrap intervals of accuracy and macro-F1 over the songs.  Both depend on the songs
    only through the confusion matrix, so resampling the songs is drawing its cells from a multinomial with
    the matrix's shares: 1,000 resamples in a millisecond, for any number of songs."""
    matrix = np.asarray(matrix)
    n, k = int(matrix.sum()), len(matrix)
    cells = np.random.default_rng(0).multinomial(n, matrix.ravel() / n, size=BOOTSTRAP_RESAMPLES)
    cells = cells.reshape(-1, k, k)
    right = np.trace(cells, axis1=1, axis2=2)
    truth, guess = cells.sum(axis=2), cells.sum(axis=1)
    seen = truth + guess  # macro averages over the labels a resample holds, as scikit-learn's
    f1 = np.divide(2 * np.diagonal(cells, axis1=1, axis2=2), seen, out=np.zeros(seen.shape), where=seen > 0)
    macro = f1.sum(axis=1) / np.maximum((seen > 0).sum(axis=1), 1)
    return {"accuracy": _percentiles(right / n), "f1": _percentiles(macro)}


def _regression_intervals(truth, pred):
    """95% percentile-bootstrap intervals of RMSE and R² over the songs (resampled in chunks of up to
    2 million values)."""
    rng, n = np.random.default_rng(0), len(truth)
    rmse, r2 = [], []
    chunk = max(1, 2_000_000 // n)
    for start in range(0, BOOTSTRAP_RESAMPLES, chunk):
        rows = rng.integers(0, n, (min(chunk, BOOTSTRAP_RESAMPLES - start), n))
        t, error = truth[rows], truth[rows] - pred[rows]
        sse, sst = (error**2).sum(axis=1), ((t - t.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
        rmse.append(np.sqrt(sse / n))
        r2.append(np.where(sst > 0, 1 - sse / np.where(sst > 0, sst, 1), np.nan))
    r2 = np.concatenate(r2)
    return {"rmse": _percentiles(np.concatenate(rmse)),
            "r2": _percentiles(r2[np.isfinite(r2)]) if np.isfinite(r2).any() else [float("nan")] * 2}


def _floats(metrics):
    return {name: float(value) for name, value in metrics.items()}


def mcnemar(y_true, pred_a, pred_b):
    """Exact McNemar test: ``(b, c, p_value)`` where b = a right & b wrong, c = the reverse."""
    from scipy.stats import binomtest

    right_a = np.asarray(pred_a) == np.asarray(y_true)
    right_b = np.asarray(pred_b) == np.asarray(y_true)
    b = int((right_a & ~right_b).sum())
    c = int((~right_a & right_b).sum())
    p = 1.0 if b + c == 0 else float(binomtest(b, b + c, 0.5).pvalue)
    return b, c, p


def format_p(p):
    """A p-value to 3 significant digits; one too small for a float (it underflows to 0) is "< 1e-300", not 0."""
    return "< 1e-300" if p == 0 else f"= {p:.3g}"


@dataclass
class Comparison:
    """Results of :func:`compare_models`."""

    runs: pd.DataFrame  # one row per (seed, model) with the metrics
    tests: pd.DataFrame  # McNemar per (seed, pair) and pooled
    histories: dict = field(default_factory=dict)  # model -> history_ of the first seed
    confusion: dict = field(default_factory=dict)  # model -> (labels, matrix) of the first seed
    info: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)  # model -> fitted model of the first seed (keep_models=True)
    test_rows: list = field(default_factory=list)  # first seed's test songs, as row labels of the input df

    @property
    def metrics(self):
        return REGRESSION_METRICS if self.info.get("objective") == "regression" else METRICS

    def name(self, model):
        if self.info.get("objective") == "regression":
            return REGRESSION_NAMES.get(model, MODEL_NAMES[model])
        return MODEL_NAMES[model]

    def table(self):
        """Mean and standard deviation of each metric per model, in run order."""
        order = [m for m in MODELS if m in set(self.runs["model"])]
        grouped = self.runs.groupby("model")[[m for m in self.metrics if m in self.runs]]  # older runs: no times
        mean, sd = grouped.mean().loc[order], grouped.std(ddof=1).loc[order].fillna(0.0)
        out = pd.concat({"mean": mean, "sd": sd}, axis=1)
        out.index = [self.name(m) for m in order]
        return out

    def intervals(self):
        """95% bootstrap intervals of accuracy and macro-F1 over the first seed's test songs, per model
        (``{model: {"accuracy": [low, high], "f1": [low, high]}}``, from its confusion matrix); empty for
        regression."""
        return {name: _classification_intervals(matrix) for name, (_, matrix) in self.confusion.items()}

    def to_markdown(self):
        table = self.table()
        seeds = self.runs["seed"].nunique()
        metrics = [m for m in self.metrics if m in table.columns.get_level_values(1)]
        devices = self.runs.groupby("model")["device"].first() if "device" in self.runs else pd.Series(dtype=str)
        devices.index = [self.name(m) for m in devices.index]
        lines = [
            "| model | " + " | ".join(HEADERS[m] for m in metrics) + " | device |",
            "|---" * (len(metrics) + 2) + "|",
        ]
        for name, row in table.iterrows():
            cells = [f"{row[('mean', m)]:.{1 if m in TIMES else 3}f} ± {row[('sd', m)]:.{1 if m in TIMES else 3}f}"
                     for m in metrics]
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {devices.get(name, '')} |")
        lines.append("")
        what = ("precision, recall and F1 are macro averages" if self.info.get("objective") != "regression"
                else "regression on " + str(self.info.get("label_column")))
        songs = (f"trained on all {self.info.get('n_songs')} songs, scored on the {self.info.get('n_test')} test "
                 "songs of the test data" if self.info.get("test_data") else
                 f"{self.info.get('n_songs')} songs, {self.info.get('n_test')} test songs per seed")
        shared = self.info.get("shared_texts") or []
        if any(shared):
            songs += (f" ({max(shared)} of them with the lyrics of a training song" if len(set(shared)) == 1 else
                      f" ({min(shared)} to {max(shared)} of them with the lyrics of a training song") + ")"
        lines.append(f"Mean ± sd over {seeds} seed(s); {songs}; {what}.")
        if seeds == 1 and self.confusion:
            lines += ["", "One seed, so every ± is 0. How far the scores could move with other test songs, as 95% "
                          f"bootstrap intervals over these {self.info.get('n_test')}:"]
            for name, found in self.intervals().items():
                (low, high), (f1_low, f1_high) = found["accuracy"], found["f1"]
                lines.append(f"- {self.name(name)}: accuracy {low:.3f} to {high:.3f}, macro-F1 {f1_low:.3f} to "
                             f"{f1_high:.3f}")
        pooled = self.tests[self.tests["seed"] == "pooled"]
        if len(pooled):
            lines.append("")
            lines.append("McNemar (exact, test predictions of all seeds pooled):")
            for _, r in pooled.iterrows():
                lines.append(f"- {self.name(r['a'])} vs {self.name(r['b'])}: only first right {r['b_only_a']}, "
                             f"only second right {r['c_only_b']}, p {format_p(r['p_value'])}")
        return "\n".join(lines)

    def save(self, out_dir):
        """Write ``table.json``, ``table.md``, ``runs.csv``, ``loss_curves.png`` and ``confusion.png``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        table = self.table()
        payload = {
            "info": self.info,
            "table": {name: {f"{stat}_{m}": float(row[(stat, m)]) for stat, m in row.index}
                      for name, row in table.iterrows()},
            "runs": self.runs.to_dict(orient="records"),
            "mcnemar": self.tests.to_dict(orient="records"),
            "intervals": self.intervals(),
        }
        (out / "table.json").write_text(json.dumps(payload, indent=2, default=str))
        (out / "table.md").write_text(self.to_markdown() + "\n")
        self.runs.to_csv(out / "runs.csv", index=False)
        paths = [out / "table.json", out / "table.md"]
        if self.histories:
            paths.append(plot_loss_curves(self.histories, out / "loss_curves.png"))
        if self.confusion:
            paths.append(plot_confusion(self.confusion, out / "confusion.png"))
        return paths


def compare_models(
    df,
    *,
    text_column=schema.LYRICS,
    label_column=schema.LABEL,
    audio_columns="auto",
    models=schema.STUDY_MODELS,
    seeds=(0, 1, 2),
    test_size=0.2,
    encoder=None,
    epochs=3,
    max_length=256,
    batch_size=16,
    n_topics=7,
    drop_missing=False,
    objective="classification",
    class_weight=None,
    strategy="auto",
    callback=None,
    show_progress_bar=False,
    keep_models=False,
    tracker=None,
    test_data=None,
):
    """Train and evaluate the models on ``df`` for each seed; return a :class:`Comparison`.

    ``audio_columns="auto"`` uses the 12 Spotify features when all are present,
    else none.  tBERT is trained on top of the same seed's fine-tuned encoder
    (the study's sequence); its training time includes that fine-tuning.
    ``objective="regression"`` compares numeric targets (e.g. valence) with a
    mean baseline and TF-IDF + ridge regression, reporting MSE, RMSE, MAE and
    R² (no McNemar tests: they are for right/wrong answers).
    ``class_weight="balanced"`` weighs each class's loss by ``n / (n_classes * count)`` in every
    model that supports it (all but the majority class and the audio-only MLP), for imbalanced labels.
    ``strategy`` is fine-tuned BERT's and tBERT's (``"auto"``, ``"finetune"`` or ``"contrastive"``,
    see :class:`~musemood.FineTunedBertClassifier`); simple BERT keeps its frozen encoder.
    ``callback`` is called with a line of text after each model; ``show_progress_bar``
    shows the models' progress bars (encoding, epochs).  ``keep_models`` keeps the
    first seed's fitted models in ``Comparison.models``; ``Comparison.test_rows`` holds
    that seed's test songs as row labels of ``df`` (e.g. held-out queries for the
    recommender).  ``tracker`` (a :class:`musemood.tracking.Tracker`) records each model and
    seed as it finishes: scores, losses per epoch, and the same in MLflow or W&B.
    ``test_data``: held-out songs (a DataFrame with the same columns) to score every seed on, instead of
    a random ``test_size`` split of ``df``: each seed then trains on all of ``df`` (the seed sets the
    models' initialisation and validation split), as a benchmark's own train and test files ask.
    """
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown models {unknown}; choose from {list(MODELS)}")
    if objective not in ("classification", "regression"):
        raise ValueError(f"objective must be 'classification' or 'regression', got {objective!r}")
    regression = objective == "regression"
    df = check_dataset(df, text_column, label_column, drop_missing=drop_missing, objective=objective)
    row_labels = df.index.to_list()
    df = df.reset_index(drop=True)
    audio_columns = resolve_audio_columns(df, audio_columns)
    needs_audio = [m for m in models if m in schema.AUDIO_MODELS]
    if needs_audio and not audio_columns:
        raise ValueError(f"{', '.join(needs_audio)} need audio features and this data has none (the 12 Spotify "
                         "features, or columns named with audio_columns= / --audio-columns); leave those models "
                         "out for text-only data")
    y = _targets(df, label_column, regression)
    note = None if regression or class_weight is not None else imbalance_note(df[label_column])
    if note:
        logger.warning(note)
    held_out = None
    if test_data is not None:
        test_data = _usable_rows(test_data, text_column, label_column, drop_missing=drop_missing, objective=objective,
                                 what="the test data")
        held_out = (test_data.reset_index(drop=True), _targets(test_data, label_column, regression),
                    test_data.index.to_list())
    settings = dict(encoder=encoder, text_column=text_column, audio_columns=audio_columns, epochs=epochs,
                    max_length=max_length, batch_size=batch_size, n_topics=n_topics, objective=objective,
                    class_weight=None if objective == "regression" else class_weight,
                    strategy=strategy, show_progress_bar=show_progress_bar)
    runs, histories, confusion, shared = [], {}, {}, []
    predictions, kept, test_rows = {}, {}, []
    for seed, (Xtr, ytr, Xte, yte, rows) in zip(seeds, _splits(df, y, seeds, test_size, regression, row_labels,
                                                                held_out)):
        test_rows = rows if seed == seeds[0] else test_rows
        # a given test file is the same songs each seed: said once
        shared.append(_shared_texts(Xtr, Xte, text_column, seed, say=held_out is None or seed == seeds[0]))
        fitted = {}
        for name in models:
            model, pred, run = _fit_and_score(name, Xtr, ytr, Xte, yte, fitted, seed, settings, regression)
            predictions.setdefault(name, {})[seed] = (yte, pred)
            runs.append(run)
            if tracker is not None:
                tracker.log_model_run(name, seed, {k: v for k, v in run.items() if k not in ("seed", "model")},
                                      getattr(model, "history_", None), {"class": type(model).__name__})
            if seed == seeds[0]:  # the first seed's models, learning curves and confusion matrices are kept
                if keep_models:
                    kept[name] = model
                if hasattr(model, "history_"):
                    histories[name] = model.history_
                if not regression:
                    confusion[name] = _confusion(np.concatenate([y, yte]), yte, pred)
            if callback:
                callback(_progress_line(name, seed, run, regression))
    tests = [] if regression else _mcnemar_tests(models, seeds, predictions)
    info = {"n_songs": len(df), "n_test": len(Xte), "test_data": held_out is not None,
            "objective": objective, "label_column": label_column,
            "classes": None if regression else sorted(set(y)), "seeds": list(seeds),
            "audio_columns": audio_columns, "epochs": epochs, "max_length": max_length, "class_weight": class_weight,
            "strategy": strategy, "shared_texts": shared,
            "encoder": _describe(encoder)}
    tests = pd.DataFrame(tests, columns=["seed", "a", "b", *_TEST_KEYS])
    return Comparison(pd.DataFrame(runs), tests, histories, confusion, info, kept, test_rows)


def _fit_and_score(name, Xtr, ytr, Xte, yte, fitted, seed, settings, regression):
    """Fit model ``name`` on the training songs (recorded in ``fitted``, which tBERT builds on) and score it on
    the test songs: ``(model, its predictions, its row of the comparison)``."""
    started = time.perf_counter()
    model, extra_seconds = _fit(name, Xtr, ytr, fitted, seed=seed, settings=settings)
    seconds = time.perf_counter() - started + extra_seconds
    fitted[name] = (model, seconds)
    started = time.perf_counter()
    pred = np.asarray(model.predict(Xte), dtype=float if regression else str)
    predict_seconds = time.perf_counter() - started
    metrics = _regression_metrics(yte, pred) if regression else _metrics(yte, pred)
    return model, pred, {"seed": seed, "model": name, **metrics, "train_seconds": seconds,
                         "predict_seconds": predict_seconds, "device": _device_of(model)}


def _confusion(every_label, y_true, y_pred):
    """``(labels, matrix)`` of a confusion matrix over every label of the data, as lists."""
    from sklearn.metrics import confusion_matrix

    labels = np.unique(every_label)
    return labels.tolist(), confusion_matrix(y_true, y_pred, labels=labels).tolist()


def _progress_line(name, seed, run, regression):
    """The line a comparison's ``callback`` gets once a model is scored."""
    score = f"R² {run['r2']:.3f}" if regression else f"accuracy {run['accuracy']:.3f}"
    label = (REGRESSION_NAMES if regression else MODEL_NAMES).get(name, MODEL_NAMES[name])
    return f"seed {seed}: {label:<30} {score}  ({run['train_seconds']:.0f} s)"


def _shared_texts(train, test, text_column, seed, say=True):
    """How many ``test`` songs have the lyrics of a ``train`` song, as the models read them (cleaned; a song
    without words is no one's copy), with a warning when there are some and ``say``."""
    from .text import clean_texts, text_fingerprints, text_hashes

    shared = int(np.isin(text_hashes(clean_texts(test[text_column])),
                         text_fingerprints(clean_texts(train[text_column]))).sum())
    if shared and say:
        logger.warning("seed %s: %d of the %d test songs have the same lyrics as a training song (a song twice in "
                       "the data?): their scores flatter the models; drop_duplicate_songs removes the copies of a "
                       "song (same title and artist)", seed, shared, len(test))
    return shared


def _targets(frame, label_column, regression):
    """A table's labels as text (whole numbers without '.0'), or its target values for regression."""
    from .classifiers._base import label_texts

    return frame[label_column].to_numpy(dtype=float) if regression else label_texts(frame[label_column]).to_numpy()


def _splits(df, y, seeds, test_size, regression, row_labels, held_out):
    """Per seed, ``(X_train, y_train, X_test, y_test, test row labels)``: the seed's stratified split of ``df``,
    or all of ``df`` and the ``held_out`` songs ``(X, y, row labels)``."""
    from sklearn.model_selection import train_test_split

    for seed in seeds:
        if held_out is not None:
            yield (df, y, *held_out)
            continue
        train, test = train_test_split(np.arange(len(df)), test_size=test_size, random_state=seed,
                                       stratify=None if regression else y)
        yield df.iloc[train], y[train], df.iloc[test], y[test], [row_labels[i] for i in sorted(test)]


def _fit(name, X, y, fitted, *, seed, settings):
    """Fit one model; returns ``(model, seconds spent earlier that it builds on)``.

    tBERT follows the study's sequence: it is built on this seed's fine-tuned encoder when
    there is one (no second fine-tuning; its time includes the first).
    """
    from .classifiers import make_model

    params = dict(settings, random_state=seed)
    earlier = fitted.get("finetuned") if name.startswith("tbert") else None
    if earlier is not None:  # the encoder as it is: no second fine-tuning or contrastive step
        params.update(encoder=earlier[0].encoder_, epochs=0, strategy="finetune")
    model = make_model(name, **params).fit(X, y)
    return model, (earlier[1] if earlier is not None else 0.0)


_TEST_KEYS = ("b_only_a", "c_only_b", "p_value")


def _mcnemar_tests(models, seeds, predictions):
    """McNemar between consecutive models, per seed and with all seeds' test predictions pooled."""
    tests = []
    for a, b in zip(models, models[1:]):
        for seed in seeds:
            truth, pred_a = predictions[a][seed]
            result = mcnemar(truth, pred_a, predictions[b][seed][1])
            tests.append({"seed": seed, "a": a, "b": b, **dict(zip(_TEST_KEYS, result))})
        pooled = [np.concatenate([predictions[m][s][i] for s in seeds]) for m, i in ((a, 0), (a, 1), (b, 1))]
        tests.append({"seed": "pooled", "a": a, "b": b, **dict(zip(_TEST_KEYS, mcnemar(*pooled)))})
    return tests


def _device_of(model):
    """Where a model ran: its torch device, or "cpu" for scikit-learn models."""
    device = getattr(model, "_device", None)
    return str(device()) if callable(device) else "cpu"


def _describe(encoder):
    if encoder is None:
        return "all-MiniLM-L6-v2 (packaged)"
    return str(getattr(encoder, "model_name_or_path", encoder))


def _regression_metrics(y_true, y_pred):
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    mse = mean_squared_error(y_true, y_pred)
    return {"mse": mse, "rmse": float(np.sqrt(mse)), "mae": mean_absolute_error(y_true, y_pred),
            "r2": r2_score(y_true, y_pred)}


def _metrics(y_true, y_pred):
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
    return {"accuracy": accuracy_score(y_true, y_pred), "precision": p, "recall": r, "f1": f}


@drawn_as_written
def plot_loss_curves(histories, path, title="Loss per epoch"):
    """One panel per model: training and validation loss by epoch (and stage for tBERT)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * len(histories), 3.4))
    axes = fig.subplots(1, len(histories), squeeze=False)
    for ax, (name, history) in zip(axes[0], histories.items()):
        frame = pd.DataFrame(history)
        stages = frame["stage"].unique() if "stage" in frame else [None]
        for stage in stages:
            part = frame if stage is None else frame[frame["stage"] == stage]
            suffix = "" if stage is None else f" ({stage.replace('_', ' ')})"
            ax.plot(part["epoch"], part["train_loss"], marker="o", label="train" + suffix)
            if "valid_loss" in part and part["valid_loss"].notna().any():
                ax.plot(part["epoch"], part["valid_loss"], marker="s", linestyle="--", label="validation" + suffix)
        ax.set_title(MODEL_NAMES.get(name, name))
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return Path(path)


@drawn_as_written
def plot_confusion(confusion, path):
    """Confusion matrices of the first seed, one panel per model."""
    from matplotlib.figure import Figure
    from sklearn.metrics import ConfusionMatrixDisplay

    fig = Figure(figsize=(3.6 * len(confusion), 3.4))
    axes = fig.subplots(1, len(confusion), squeeze=False)
    for ax, (name, (labels, matrix)) in zip(axes[0], confusion.items()):
        ConfusionMatrixDisplay(np.asarray(matrix), display_labels=labels).plot(ax=ax, colorbar=False)
        ax.set_title(MODEL_NAMES.get(name, name), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return Path(path)


def _span(result, metric):
    """" (95%: low-high)" of a result's bootstrap interval for ``metric``, or nothing without one."""
    low, high = (result.get("intervals") or {}).get(metric, (None, None))
    return "" if low is None else f" (95%: {low:.3f}-{high:.3f})"


@drawn_as_written
def plot_evaluation(result, path, *, y=None, pred=None, title=None):
    """A classifier's confusion matrix (a row per true label, shaded by the share of that row), or a
    regressor's predicted against true values (``y`` and ``pred``), as ``path`` (.png, .svg, .pdf)."""
    from matplotlib.figure import Figure

    if result["objective"] == "regression":
        if y is None or pred is None:
            raise ValueError("plotting a regression evaluation needs its y and pred")
        y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
        fig = Figure(figsize=(4.4, 4.2))
        ax = fig.subplots()
        ax.scatter(y, pred, s=6, alpha=0.4)
        low, high = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
        ax.plot([low, high], [low, high], color="grey", linewidth=1, linestyle="--", label="prediction = truth")
        ax.set_xlabel("true value")
        ax.set_ylabel("predicted value")
        ax.legend(fontsize=7)
        m = result["metrics"]
        ax.set_title(f"{title or 'evaluation'}\nRMSE {m['rmse']:.3f}{_span(result, 'rmse')}\n"
                     f"R² {m['r2']:.3f}{_span(result, 'r2')}", fontsize=9)
    else:
        labels, matrix = result["confusion"]["labels"], np.asarray(result["confusion"]["matrix"])
        shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        size = 2.4 + 0.45 * len(labels)
        fig = Figure(figsize=(size + 0.8, size))
        ax = fig.subplots()
        image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
        for (i, j), n in np.ndenumerate(matrix):
            ax.text(j, i, f"{n:,}", ha="center", va="center", fontsize=8,
                    color="white" if shares[i, j] > 0.6 else "black")
        ax.set_xticks(range(len(labels)), labels, rotation=45 if len(labels) > 4 else 0, ha="right"
                      if len(labels) > 4 else "center")
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true label")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true label's songs")
        m = result["metrics"]
        ax.set_title(f"{title or 'evaluation'}\naccuracy {m['accuracy']:.3f}{_span(result, 'accuracy')}\n"
                     f"macro-F1 {m['f1']:.3f}{_span(result, 'f1')}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return Path(path)


#: Learning rates for the optimizer comparison (AdamW's is the usual BERT rate;
#: Adagrad and SGD with momentum need larger steps).
OPTIMIZER_LEARNING_RATES = {"adamw": 5e-5, "adagrad": 1e-4, "sgd": 1e-3}


def compare_optimizers(df, *, optimizers=("adamw", "adagrad", "sgd"), label_column=schema.LABEL, seed=0,
                       drop_missing=False, **settings):
    """Fine-tune BERT once per optimizer (the study's AdamW vs Adagrad vs SGD); return their histories.

    ``settings`` are :class:`~musemood.classifiers.FineTunedBertClassifier` parameters
    (``encoder``, ``epochs``, ``max_length``, ``batch_size``, ``text_column``...); each
    optimizer gets its learning rate from :data:`OPTIMIZER_LEARNING_RATES`.
    """
    from .classifiers import make_model

    text_column = settings.get("text_column", schema.LYRICS)
    df = check_dataset(df, text_column, label_column, drop_missing=drop_missing)
    histories = {}
    for name in optimizers:
        model = make_model("finetuned", **{"epochs": 3, **settings}, optimizer=name,
                           learning_rate=OPTIMIZER_LEARNING_RATES.get(name), random_state=seed,
                           early_stopping_patience=None).fit(df, df[label_column].astype(str))
        histories[name] = model.history_
    return histories


@drawn_as_written
def plot_optimizer_curves(histories, path):
    """Training and validation loss per epoch, one line per optimizer."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.4))
    train_ax, valid_ax = fig.subplots(1, 2)
    for name, history in histories.items():
        frame = pd.DataFrame(history)
        lr = OPTIMIZER_LEARNING_RATES.get(name)
        train_ax.plot(frame["epoch"], frame["train_loss"], marker="o", label=f"{name} (lr {lr:g})")
        if "valid_loss" in frame:
            valid_ax.plot(frame["epoch"], frame["valid_loss"], marker="s", label=name)
    for ax, title in ((train_ax, "training loss"), (valid_ax, "validation loss")):
        ax.set_title(f"Fine-tuned BERT: {title}")
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return Path(path)
