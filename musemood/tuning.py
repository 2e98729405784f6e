"""Hyperparameter search with Optuna, resumable from its SQLite study storage.

:func:`tune` searches the learning rate, weight decay, epochs, dropout and (with
LoRA) the adapter rank of one model, scoring each trial by accuracy on a fixed
validation split.  Trials are stored in SQLite as they finish: run the same
command again and the study goes on where it stopped; a trial killed mid-way
is marked failed by Optuna's heartbeat and tried again.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from . import schema
from .evaluation import check_dataset

logger = logging.getLogger(__name__)


def search_space(trial, model, lora, max_epochs=5):
    """The parameters a trial samples, by model."""
    params = {
        "weight_decay": trial.suggest_float("weight_decay", 1e-4, 0.1, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.3),
    }
    if model == "simple":
        params["learning_rate"] = trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
        params["hidden_size"] = trial.suggest_categorical("hidden_size", [64, 128, 256, 512])
        return params
    low, high = (1e-4, 3e-3) if lora else (1e-5, 2e-4)
    params["learning_rate"] = trial.suggest_float("learning_rate", low, high, log=True)
    params["epochs"] = trial.suggest_int("epochs", 1, max(1, max_epochs))
    if lora:
        params["lora_r"] = trial.suggest_categorical("lora_r", [4, 8, 16, 32])
        params = _with_derived(params)
    return params


def tune(
    df,
    *,
    model="finetuned",
    lora=False,
    n_trials=20,
    storage=None,
    study_name="musemood",
    text_column=schema.LYRICS,
    label_column=schema.LABEL,
    audio_columns=None,
    encoder=None,
    max_length=256,
    batch_size=16,
    max_epochs=5,
    n_topics=7,
    validation_fraction=0.2,
    random_state=0,
    drop_missing=False,
    timeout=None,
):
    """Run (or resume) an Optuna study until it has ``n_trials`` finished trials.

    ``storage`` is a SQLite file path (created if missing); ``None`` keeps the
    study in memory.  ``max_epochs`` bounds the fine-tuning epochs searched.
    Returns the :class:`optuna.study.Study`; :func:`best_params` turns its best
    trial into parameters for :func:`musemood.classifiers.make_model`.  A resumed
    study's TPE sampler is seeded with ``random_state`` plus its number of trials,
    so that it does not draw the first run's parameters again.  A study records the songs it searches
    on (their number and a fingerprint of their lyrics and labels, in order): resuming it on other songs
    is refused, as its trials' accuracies and the new ones' would not compare.
    """
    import optuna
    from optuna.storages import RDBStorage
    from sklearn.model_selection import train_test_split

    from .classifiers import BERT_MODELS, make_model

    if model not in BERT_MODELS:
        raise ValueError(f"model must be one of {sorted(BERT_MODELS)}, got {model!r}")
    df = check_dataset(df, text_column, label_column, drop_missing=drop_missing).reset_index(drop=True)
    y = df[label_column].astype(str).to_numpy()
    data = _data_identity(df[text_column], y)
    train, valid = train_test_split(
        np.arange(len(df)), test_size=validation_fraction, random_state=random_state, stratify=y
    )
    fixed = fixed_params(model, encoder=encoder, text_column=text_column, max_length=max_length,
                         batch_size=batch_size, random_state=random_state, lora=lora,
                         audio_columns=audio_columns, n_topics=n_topics)

    def objective(trial):
        params = search_space(trial, model, lora, max_epochs)
        estimator = make_model(model, **fixed, **params)
        estimator.fit(df.iloc[train], y[train])
        score = float(estimator.score(df.iloc[valid], y[valid]))
        logger.info("trial %d: accuracy %.4f with %s", trial.number, score, params)
        return score

    where = storage
    if storage is not None:
        import warnings

        Path(storage).parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():  # heartbeats, which resume a killed trial, are "experimental" in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            storage = RDBStorage(f"sqlite:///{Path(storage).resolve()}", heartbeat_interval=60, grace_period=180,
                                 **_retry_stale_trials())
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        direction="maximize",
        load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=random_state),
    )
    if study.trials:  # resumed: a sampler seeded as the first run's would draw that run's parameters again
        study.sampler = optuna.samplers.TPESampler(
            seed=None if random_state is None else random_state + len(study.trials))
    started = study.user_attrs.get("data")
    if study.trials and started is None:
        logger.warning("study %r in %s has no record of the songs it was started on (an earlier musemood kept "
                       "none): it continues on these %d songs unchecked, and records them now", study_name, where,
                       data["songs"])
    if study.trials and started is not None and started != data:
        raise ValueError(f"study {study_name!r} in {where} was started on other songs ({started['songs']} songs; "
                         f"these are {data['songs']} songs): the accuracies of its trials and of new ones would not "
                         "compare. Give these songs a study of their own (--study NAME, study_name=), or run it on "
                         "the songs it was started with")
    study.set_user_attr("data", data)
    study.set_user_attr("model", model)
    study.set_user_attr("fixed", {k: v for k, v in fixed.items() if k != "encoder"})
    done = finished_trials(study)
    if done < n_trials:
        study.optimize(objective, n_trials=n_trials - done, timeout=timeout)
    return study


def finished_trials(study):
    """How many of the study's trials finished (Optuna's state COMPLETE): what ``n_trials`` counts."""
    import optuna

    return sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


def _data_identity(texts, labels):
    """The number of songs and a SHA-256 of their lyrics' fingerprints and labels, in order."""
    import hashlib

    from .text import text_hashes

    digest = hashlib.sha256(text_hashes(texts.tolist()).tobytes())
    digest.update("\x1f".join(labels).encode("utf-8", "surrogatepass"))
    return {"songs": len(labels), "sha256": digest.hexdigest()}


def fixed_params(model, *, encoder, text_column, max_length, batch_size, random_state, lora, audio_columns,
                 n_topics):
    """The parameters every trial of a study shares (those ``model`` takes)."""
    from .classifiers import model_params

    return model_params(model, dict(encoder=encoder, text_column=text_column, max_length=max_length,
                                    batch_size=batch_size, random_state=random_state, lora=lora,
                                    audio_columns=audio_columns, n_topics=n_topics))


def _with_derived(params):
    """``params`` plus what follows from them: LoRA's alpha is twice its rank."""
    return {**params, "lora_alpha": 2 * params["lora_r"]} if "lora_r" in params else params


def best_params(study):
    """The best trial's parameters with the study's fixed ones, ready for ``make_model`` (JSON-able)."""
    params = dict(study.user_attrs.get("fixed", {}))
    params.update(study.best_params)
    params = _with_derived(params)
    params.pop("random_state", None)  # `train --seed` decides
    return {"model": study.user_attrs.get("model"), "params": params,
            "validation_accuracy": float(study.best_value)}


def _retry_stale_trials():
    """Optuna's callback that re-queues a trial whose process died (name changed in Optuna 4.9)."""
    from optuna import storages

    if hasattr(storages, "RetryHeartbeatStaleTrialCallback"):
        return {"heartbeat_stale_trial_callback": storages.RetryHeartbeatStaleTrialCallback(max_retry=1)}
    return {"failed_trial_callback": storages.RetryFailedTrialCallback(max_retry=1)}
