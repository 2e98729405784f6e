"""``musemood compare``, ``train``, ``tune``, ``predict`` and ``evaluate``: the mood models."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

from .. import schema
from .._validation import headerless_hint, imbalance_note
from ..schema import MODELS
from ._common import (
    STDIN,
    _print_json,
    _quiet_transformers,
    _show_progress,
    check_output_folder,
    check_study_storage,
    stdin_text,
)


def _tracker(args, command, folder, **params):
    """The run's :class:`~musemood.tracking.Tracker` over ``folder``, with the command's settings (each
    command has checked ``--report-to`` before loading data, so a missing extra fails before training)."""
    from ..tracking import Tracker

    settings = {k: v for k, v in vars(args).items() if k not in ("handler", "report_to", "tracking_uri", "verbose")}
    return Tracker(folder, {"command": command, **settings, **params}, report_to=args.report_to,
                   tracking_uri=args.tracking_uri, experiment=f"musemood-{command}")


def _models(text, *, allow_none=False):
    if allow_none and (not text or text == "none"):
        return ()
    models = tuple(m.strip() for m in (text or "").split(",") if m.strip())
    if not models:
        raise ValueError(f"--models lists no model; choose from {', '.join(MODELS)} (comma-separated)")
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown models {unknown}; choose from {', '.join(MODELS)}")
    twice = sorted({m for m in models if models.count(m) > 1})
    if twice:  # one model against itself is no comparison
        raise ValueError(f"--models lists {', '.join(twice)} more than once; name each model once")
    return models


def _load_data(args, *, training=False):
    """The user's file, or the labelled demo corpus; for ``training``, without the songs whose split is 'valid'
    or 'test' (unless ``--all-splits``)."""
    from ..datasets import load_dataset, load_demo
    from ..pipeline import labelled_songs

    if args.data:
        df = load_dataset(args.data, tags=_names_tags(args))  # the models learn from labels, not tags
    else:
        df = labelled_songs(load_demo(args.n_songs, random_state=0))
    if training and not args.all_splits:
        df = _training_split(df, args.data or "the demo corpus", args.label_column)
    if args.limit and len(df) > args.limit:
        df = df.sample(args.limit, random_state=0)
    return df


def _held_out(df, label_column):
    """``(held, labelled)`` as bool arrays: the songs its split column holds out from training (its 'valid' and
    'test' songs; none without the column), and the songs with a label (all, without the label column)."""
    import numpy as np

    from ..schema import SPLIT

    held = (df[SPLIT].astype("string").isin(["valid", "test"]).fillna(False).to_numpy(dtype=bool)
            if SPLIT in df.columns else np.zeros(len(df), bool))
    labelled = df[label_column].notna().to_numpy() if label_column in df.columns else np.ones(len(df), bool)
    return held, labelled


def _training_split(df, where, label_column):
    """``df`` without the songs held out by its split column (the 'valid' and 'test' songs), said; songs are
    counted among those with a label (a file `musemood label` wrote keeps the others, with a split)."""
    from ..schema import SPLIT

    if SPLIT not in df.columns:
        return df
    held, labelled = _held_out(df, label_column)
    if labelled.any() and held[labelled].all():
        raise ValueError(f"every labelled song of {where} is in the 'valid' or 'test' split, held out from "
                         "training: give a file with 'train' songs, or --all-splits to train on these")
    if held[labelled].any():
        print(f"Held out the {held[labelled].sum():,} labelled songs of {where} whose split is 'valid' or 'test' "
              f"(of {labelled.sum():,}): musemood evaluate scores them and the recommender tunes and is evaluated "
              "on them; --all-splits trains on them too")
    return df[~held]


def _test_data(args):
    """``compare --test-data``'s songs (read like --data, never sampled), or None."""
    if not getattr(args, "test_data", None):
        return None
    from ..datasets import load_dataset

    return load_dataset(args.test_data)


def _compared_songs(args, df):
    """``(training songs, test songs or None)`` of ``compare``: --test-data's file; with --use-split the data's
    own 'test' songs, training on its 'train' songs as ``musemood train`` does; else every song, each seed
    drawing its own test songs (said when the data has a split column it then does not use)."""
    from ..schema import SPLIT

    test, where = _test_data(args), args.data or "the demo corpus"
    is_test = (df[SPLIT].astype("string").eq("test").fillna(False).to_numpy(dtype=bool)
               if SPLIT in df.columns else None)
    held, labelled = _held_out(df, args.label_column)
    if not args.use_split:
        if test is None and is_test is not None and args.label_column in df.columns and (is_test & labelled).any():
            print(f"The split column of {where} is not used: each seed tests on its own random 20% of the songs, "
                  "'train' songs among them; --use-split tests every seed on its 'test' songs instead")
        return df, test
    if test is not None:
        raise ValueError("--use-split and --test-data both choose the test songs: give one of them")
    if is_test is None:
        raise ValueError(f"--use-split: {where} has no {SPLIT!r} column (train, valid or test for each song, as "
                         "musemood label writes it); leave --use-split out, or give --test-data")
    n_test, n_valid, n_train = (int((mask & labelled).sum()) for mask in (is_test, held & ~is_test, ~held))
    if not n_test or not n_train:
        raise ValueError(f"--use-split: {where} has {n_test:,} labelled 'test' and {n_train:,} labelled 'train' "
                         "songs: it needs both (songs with no split count as 'train')")
    print(f"Testing every seed on the {n_test:,} labelled 'test' songs of {where}'s split column, training on "
          f"its {n_train:,} 'train' songs" + (f" (its {n_valid:,} 'valid' songs left out, as musemood train leaves "
                                              "them out)" if n_valid else ""))
    return df[~held], df[is_test]


def _audio(args, df):
    """The --audio-columns option resolved against the data."""
    from ..features import resolve_audio_columns

    if args.audio_columns == "none":
        return None
    if args.audio_columns == "auto":
        return resolve_audio_columns(df, "auto")
    return [c.strip() for c in args.audio_columns.split(",") if c.strip()]


def _run_comparison(args, df, models, out_dir, audio, keep_models=False, tracker=None, test_data=None):
    from ..evaluation import compare_models

    _quiet_transformers(args)
    result = compare_models(
        df, text_column=getattr(args, "text_column", "lyrics"), label_column=getattr(args, "label_column", "label"),
        audio_columns=audio, models=models, seeds=tuple(range(args.seeds)), encoder=args.encoder,
        epochs=args.epochs, max_length=args.max_length, batch_size=args.batch_size,
        n_topics=args.n_topics or None, drop_missing=getattr(args, "drop_missing", False),
        objective=getattr(args, "objective", "classification"), class_weight=_class_weight(args),
        strategy=getattr(args, "strategy", None) or "auto", show_progress_bar=_show_progress(args),
        callback=lambda line: print("  " + line, flush=True), keep_models=keep_models, tracker=tracker,
        test_data=test_data,
    )
    print("\nTable 1\n")
    print(result.to_markdown())
    paths = result.save(out_dir)
    print("\nWrote " + ", ".join(str(p) for p in paths))
    return result


def _compare(args):
    from ..tracking import check_report_to, new_run_dir

    check_report_to(args.report_to)
    df = _load_data(args)
    models = _models(args.models)
    train, test = _compared_songs(args, df)
    check_output_folder(args.out, "--out")
    out = Path(args.out) if args.out else new_run_dir("compare")
    print(f"Run folder: {out}")
    with _tracker(args, "compare", out, n_rows=len(df)) as tracker:
        _run_comparison(args, train, models, out, _audio(args, df), tracker=tracker, test_data=test)
    if args.optimizers:
        from ..evaluation import compare_optimizers, plot_optimizer_curves

        optimizers = [o.strip() for o in args.optimizers.split(",") if o.strip()]
        histories = compare_optimizers(
            train, optimizers=optimizers, text_column=args.text_column, label_column=args.label_column,
            encoder=args.encoder, epochs=args.epochs, max_length=args.max_length,
            batch_size=args.batch_size, drop_missing=args.drop_missing,
        )
        print(f"Wrote {plot_optimizer_curves(histories, out / 'optimizers.png')}")


def _train(args):
    _quiet_transformers(args)
    from ..classifiers import make_model
    from ..classifiers._base import label_texts
    from ..evaluation import check_dataset
    from ..tracking import check_report_to, new_run_dir

    check_report_to(args.report_to)
    if args.resume:
        folder, args = Path(args.resume), _resumed(args)
    elif not (args.data or args.demo):
        raise ValueError("train needs --data FILE or --demo (or --resume RUN_FOLDER to continue a run)")
    else:  # absolute paths in the run's record: --resume works from any directory
        folder = None
        args.data = str(Path(args.data).resolve()) if args.data else None
        args.params = str(Path(args.params).resolve()) if args.params else None
    check_output_folder(args.out, "--out")  # before the training, not after it
    saved = _read_params(args.params) if args.params else {}
    name = args.model or saved.get("model") or "tbert"
    if saved.get("model") and saved["model"] != name:
        raise ValueError(f"{args.params} holds parameters for {saved['model']!r}, not --model {name}")
    df = check_dataset(_load_data(args, training=True), args.text_column, args.label_column,
                       drop_missing=args.drop_missing, objective=args.objective)
    params = dict(encoder=args.encoder, text_column=args.text_column, max_length=args.max_length,
                  batch_size=args.batch_size, objective=args.objective, epochs=args.epochs, lora=args.lora,
                  mode=args.mode, n_topics=args.n_topics, audio_columns=_audio(args, df),
                  class_weight=_class_weight(args), show_progress_bar=_show_progress(args))
    params.update(saved.get("params", {}))
    params["random_state"] = args.seed
    folder = folder or new_run_dir("train")
    params["checkpoint_dir"] = str(folder / "checkpoints")  # per epoch: --resume continues from there
    model = make_model(name, **params)
    note = imbalance_note(df[args.label_column]) if args.objective == "classification" else None
    if note and params.get("class_weight") is None:  # as compare says it
        logging.getLogger("musemood.cli").warning(note)
    if args.strategy and name in ("simple", "finetuned", "tbert", "tbert_topics", "tbert_audio"):
        model.set_params(strategy=args.strategy)
    target = df[args.label_column] if args.objective == "regression" else label_texts(df[args.label_column])
    with _tracker(args, "train", folder, model=name, n_rows=len(df)) as tracker:
        started = time.perf_counter()
        model.fit(df, target)
        for record in model.history_:
            valid, accuracy = record.get("valid_loss"), record.get("valid_accuracy")
            print(f"{record.get('stage', 'training')} epoch {record['epoch']}: train loss {record['train_loss']:.4f}"
                  + ("" if valid is None else f", validation loss {valid:.4f}")
                  + ("" if accuracy is None else f", validation accuracy {accuracy:.3f}"))
        final = {"train_seconds": time.perf_counter() - started}
        valid = [r["valid_loss"] for r in model.history_ if r.get("valid_loss") is not None]
        if valid:
            final["best_valid_loss"] = min(valid)
        accuracy = [r["valid_accuracy"] for r in model.history_ if r.get("valid_accuracy") is not None]
        if accuracy:  # a head trained with balanced class weights keeps the epoch of the best one
            final["best_valid_accuracy"] = max(accuracy)
        tracker.log_model_run(name, args.seed, final, model.history_, {"class": type(model).__name__})
        model_folder = model.save(args.out or folder / "model")
        # the run's record that it ended, wherever --out put the model: --resume refuses a finished run
        (folder / "finished.json").write_text(json.dumps({"model": str(Path(model_folder).resolve())}) + "\n")
    print(f"Saved {type(model).__name__} to {model_folder} (run folder {folder})")


def _resumed(args):
    """The arguments a train run in folder ``args.resume`` was started with (verbosity and tracking of now)."""
    import argparse

    folder = Path(args.resume)
    runs = "give the folder of a `musemood train` run under $MUSEMOOD_HOME/runs"
    if not folder.is_dir():
        raise FileNotFoundError(f"--resume {folder}: no such folder; {runs}")
    if not (folder / "params.json").is_file():
        raise ValueError(f"--resume {folder} is not a run folder (it has no params.json); {runs}")
    try:
        saved = json.loads((folder / "params.json").read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"--resume {folder}: its params.json cannot be read ({exc}); {runs}") from None
    if saved.get("command") != "train":
        raise ValueError(f"--resume {folder} is the folder of a {saved.get('command')!r} run, not of a train run")
    if (folder / "model" / "config.json").exists():  # also runs that finished before finished.json was written
        raise ValueError(f"--resume {folder}: that run finished; its model is in {folder / 'model'}")
    record = folder / "finished.json"  # written once the model is saved, wherever --out put it
    if record.exists():
        try:
            model = json.loads(record.read_text()).get("model")
        except (OSError, ValueError, AttributeError):
            model = None
        raise ValueError(f"--resume {folder}: that run finished; " + (
            f"its model is in {model}" if model else f"{record} says so, but its model's folder cannot be read there"))
    keep = {"resume": None, "verbose": args.verbose, "report_to": args.report_to, "tracking_uri": args.tracking_uri}
    saved.setdefault("all_splits", True)  # a run started before the split column's songs were held out
    return argparse.Namespace(**{**{k: saved.get(k, v) for k, v in vars(args).items()}, **keep})


def _class_weight(args):
    value = getattr(args, "class_weight", "none")
    return None if value == "none" else value


def _read_params(path):

    try:
        saved = json.loads(Path(path).read_text())
    except OSError as exc:
        raise FileNotFoundError(f"cannot read --params {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ValueError(f"--params {path} is not valid JSON ({exc})") from None
    if not isinstance(saved, dict) or not isinstance(saved.get("params", {}), dict):
        raise ValueError(f"--params {path} must hold {{\"model\": ..., \"params\": {{...}}}} as `musemood tune` "
                         "writes it")
    return saved if "params" in saved else {"params": saved}


def _tune(args):
    _quiet_transformers(args)
    if args.objective == "regression":
        raise ValueError("tune searches classifiers only for now; use --objective classification")

    import datetime

    from ..config import home
    from ..tracking import check_report_to, new_run_dir
    from ..tuning import best_params, finished_trials, tune

    check_report_to(args.report_to)
    storage = Path(args.storage) if args.storage else home() / "tune.db"
    check_study_storage(storage)
    df = _load_data(args, training=True)
    folder = new_run_dir("tune")
    started = datetime.datetime.now()  # Optuna's trials start in local time
    with _tracker(args, "tune", folder, storage=str(storage), n_rows=len(df)) as tracker:  # settings first
        study = tune(
            df, model=args.model, lora=args.lora, n_trials=args.trials, storage=str(storage), study_name=args.study,
            text_column=args.text_column, label_column=args.label_column, audio_columns=_audio(args, df),
            encoder=args.encoder, max_length=args.max_length, batch_size=args.batch_size, max_epochs=args.epochs,
            n_topics=args.n_topics or None, random_state=args.seed, drop_missing=args.drop_missing,
            timeout=args.timeout,
        )
        trials = study.trials_dataframe(attrs=("number", "value", "params", "state"))
        print(trials.to_string(index=False))
        shown = ", ".join(f"{name}={value:.3g}" if isinstance(value, float) else f"{name}={value}"
                          for name, value in study.best_params.items())  # all digits: in the JSON file
        print(f"\nBest validation accuracy {study.best_value:.4f} with {shown}")
        best = best_params(study)
        trials.to_csv(folder / "trials.csv", index=False)
        (folder / "best_params.json").write_text(json.dumps(best, indent=1))
        for trial in study.trials:
            if trial.value is not None:
                tracker.log_model_run(args.model, f"trial{trial.number}", {"valid_accuracy": trial.value},
                                      params=trial.params)
    out = Path(args.best_params) if args.best_params else storage.with_name(f"{args.study}-best.json")
    out.write_text(json.dumps(best, indent=1))
    finished = finished_trials(study)  # as tune counts them
    ran = sum(t.datetime_start is not None and t.datetime_start >= started for t in study.trials)
    if not ran and finished >= args.trials:  # before: "run again to add trials", and the same command ran none
        done = f"{finished} finished trials, as many as --trials {args.trials} asks, so none ran"
    else:
        done = f"{finished} finished trials ({ran} in this run)"
    print(f"Study {args.study!r} stored in {storage}: {done}; --trials counts every finished trial: --trials "
          f"{finished + 10} adds 10. Run folder: {folder}")
    print(f"Best parameters written to {out}; train with them: musemood train --params {out} --data FILE --out DIR")


def _songs_for(model, X, args):
    """``X`` (read from ``args.data``) with its lyrics in the model's text column (``--text-column``, or the
    column the model was trained on)."""
    text_column = args.text_column or model.text_column
    where = "standard input" if args.data == STDIN else args.data
    if text_column not in X.columns and args.text_column:
        raise KeyError(f"--text-column {text_column!r} is not a column of {where}; its columns are "
                       f"{list(X.columns)}. {headerless_hint(X.columns)}".rstrip())
    if text_column not in X.columns:
        raise KeyError(f"the model's text column {text_column!r} is not a column of {where} (columns: "
                       f"{list(X.columns)}). {headerless_hint(X.columns)}Name the lyrics column with "
                       "--text-column")
    if text_column != model.text_column:
        X = X.drop(columns=[model.text_column], errors="ignore").rename(columns={args.text_column: model.text_column})
    return X


def _predict(args):
    _quiet_transformers(args)
    import pandas as pd

    from ..classifiers import load_model
    from ..datasets import dataset_format
    from .. import predictions

    if (args.text or []).count(STDIN) > 1:
        raise ValueError("--text - is given twice: standard input holds one text; give the others as --text TEXT")
    if args.out:
        dataset_format(args.out)
    if args.text and STDIN in args.text:  # before the model loads: a terminal waits for the user's typing
        args.text[args.text.index(STDIN)] = text = stdin_text()
        if not text.strip():
            raise ValueError("--text - read no text from standard input: pipe the lyrics in "
                             "(musemood predict MODEL --text - < song.txt)")
    for number, text in enumerate(args.text or [], 1):
        if not text.strip():
            which = "" if len(args.text) == 1 else f"the {number}{_ordinal_suffix(number)} "
            raise ValueError(f"{which}--text is empty: give the lyrics to predict (or --data FILE)")
    tags = _names_tags(args)  # the models read no tags: a catalogue's would only take memory
    songs = _stdin_table(tags=tags) if args.data == STDIN else None
    model = load_model(args.model)
    if args.data:
        if songs is None:
            from ..datasets import load_dataset

            songs = load_dataset(args.data, tags=tags)
        X = _songs_for(model, songs, args)
        keys = songs[[c for c in predictions.KEYS if c in songs.columns]]  # which song each prediction is of
    else:  # texts alone: tBERT takes the training songs' medians for its audio features
        X, keys = list(args.text), pd.DataFrame({"text": args.text})
    show = _show_progress(args)
    # the encoder's bar for a file done in one pass; above PART_SIZE songs, the bar of the parts
    model.show_progress_bar = show and 100 < len(X) <= predictions.PART_SIZE
    if args.out:  # in parts that a rerun resumes, beside the file, when there are many songs
        out = predictions.predict_to_file(model, X, args.out, keys=keys, show_progress_bar=show)
        resumed = out.attrs.get("resumed")
        print(f"Wrote {len(out)} predictions to {args.out}"
              + (f" ({resumed} of them from the parts of an earlier run)" if resumed else ""),
              file=sys.stderr if args.json else None)
    else:
        out = pd.concat([keys.reset_index(drop=True), predictions.predictions_frame(model, X)], axis=1)
    if args.json:
        _print_json(out.to_dict(orient="records"))
    elif not args.out:
        print(out.to_string(index=False, float_format=lambda v: f"{v:.3f}", max_colwidth=40))


def _stdin_table(*, tags=True):
    """``--data -``: a CSV, TSV or Parquet file from standard input, read and checked as a file is; errors
    name standard input rather than the file it was copied to."""
    import tempfile

    from ..datasets import load_dataset

    if sys.stdin.isatty():
        print("Reading a CSV from standard input; end with Ctrl-D", file=sys.stderr)
    text = sys.stdin.buffer.read()
    header = text.split(b"\n", 1)[0]
    suffix = (".parquet" if text.startswith(b"PAR1") else  # Parquet's magic bytes
              ".tsv" if b"\t" in header and b"," not in header else ".csv")
    with tempfile.TemporaryDirectory(prefix="musemood-stdin-") as folder:
        path = Path(folder) / f"standard-input{suffix}"
        path.write_bytes(text)
        try:
            return load_dataset(path, tags=tags)
        except (ValueError, KeyError, FileNotFoundError) as exc:
            if exc.args and isinstance(exc.args[0], str):
                exc.args = (exc.args[0].replace(str(path), "standard input"), *exc.args[1:])
            raise


def _names_tags(args):
    """Whether a command that uses no tags must read the tags column all the same: an option names it."""
    return schema.TAGS in {getattr(args, name, None) for name in ("text_column", "label_column")}


def _ordinal_suffix(number):
    return "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")


def _evaluate(args):
    """``musemood evaluate``: a saved model's scores on a labelled file it did not train on."""
    _quiet_transformers(args)

    from ..classifiers import load_model
    from ..datasets import load_dataset
    from ..evaluation import _usable_rows, leave_out_trained, plot_evaluation, score_predictions

    if args.plot:
        _check_plot_path(args.plot)
    model = load_model(args.model)
    df = load_dataset(args.data, tags=_names_tags(args))
    if args.label_column not in df.columns:
        raise KeyError(f"--label-column {args.label_column!r} is not a column of {args.data}; its columns are "
                       f"{list(df.columns)}. {headerless_hint(df.columns)}".rstrip())
    X = _songs_for(model, df, args)  # the text column checked, under the model's name
    usable = _usable_rows(df.reset_index(drop=True), args.text_column or model.text_column, args.label_column,
                          drop_missing=args.drop_missing, what=str(args.data))  # named as in the file
    X = X.reset_index(drop=True).loc[usable.index]
    X, y, trained_on = leave_out_trained(model, X, X[args.label_column], include_trained=args.include_trained,
                                         where=args.data)
    model.show_progress_bar = _show_progress(args) and len(X) > 100  # the encoder's bar, on a terminal
    pred = model.predict(X)
    result = score_predictions(y, pred, classes=None if model.objective == "regression" else model.classes_)
    dropped = len(df) - len(X) - (0 if args.include_trained else trained_on or 0)
    result.update(model=str(args.model), data=str(args.data), dropped=dropped, trained_on=trained_on,
                  trained_on_scored=bool(args.include_trained))
    if args.plot:
        title = f"{type(model).__name__} on {Path(args.data).name}"
        result["plot"] = str(plot_evaluation(result, args.plot, y=y, pred=pred, title=title))
    if args.json:
        _print_json(result)
    else:
        print(format_evaluation(result, type(model).__name__))


def _check_plot_path(path):
    """Refuse a plot file matplotlib cannot write, before the model is loaded."""
    if Path(path).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise ValueError(f"--plot {path}: give a .png, .svg or .pdf file")
    if Path(path).is_dir():
        raise ValueError(f"--plot {path} is a folder; give a file name (e.g. {Path(path) / 'evaluation.png'})")


def format_evaluation(result, name):
    """The text ``musemood evaluate`` prints."""
    import pandas as pd

    lines = [f"{name} ({result['model']}) on {result['n_songs']:,} labelled songs of {result['data']}"
             + (f" (rows without a label or text left out: {result['dropped']:,})" if result["dropped"] else "")]
    trained_on = result.get("trained_on")
    if trained_on and result.get("trained_on_scored"):
        lines.append(f"{trained_on:,} of them are songs the model trained on: these scores flatter it")
    elif trained_on:
        lines.append(f"songs the model trained on left out: {trained_on:,} (their scores would flatter it; "
                     "--include-trained scores them too)")
    elif trained_on is None and "trained_on" in result:
        lines.append("(the model was saved by an earlier musemood, without the fingerprints of its training texts: "
                     "it cannot tell whether some of these songs are among them)")
    m, ci = result["metrics"], result.get("intervals") or {}
    names = {"accuracy": "accuracy", "f1": "macro-F1", "rmse": "RMSE", "r2": "R²"}
    digits = {"rmse": 4}
    spans = [f"{names[k]} {low:.{digits.get(k, 3)}f} to {high:.{digits.get(k, 3)}f}" for k, (low, high) in ci.items()]
    if result["objective"] == "regression":
        lines.append(f"MSE {m['mse']:.4f}   RMSE {m['rmse']:.4f}   MAE {m['mae']:.4f}   R² {m['r2']:.3f}")
    else:
        lines.append(f"accuracy {m['accuracy']:.3f}   macro-F1 {m['f1']:.3f}   macro precision {m['precision']:.3f}"
                     f"   macro recall {m['recall']:.3f}")
    if spans:  # a small test file's scores are wide guesses: say how wide
        lines.append(f"95% bootstrap intervals over the {result['n_songs']:,} songs: {', '.join(spans)}")
    if result["objective"] != "regression":
        per_class = pd.DataFrame(result["per_class"]).T.rename(columns={"f1": "F1", "support": "songs"})
        per_class["songs"] = per_class["songs"].astype(int)
        lines += ["", per_class.to_string(float_format=lambda v: f"{v:.3f}")]
        labels = result["confusion"]["labels"]
        matrix = pd.DataFrame(result["confusion"]["matrix"], index=labels, columns=labels)
        lines += ["", "confusion (a row per true label, a column per prediction):", matrix.to_string()]
        if result["unknown"]:
            listed = ", ".join(f"{label!r} ({n})" for label, n in result["unknown"].items())
            lines += ["", f"labels the model has no class for, counted as wrong: {listed}; the model's classes are "
                          f"{labels[:len(labels) - len(result['unknown'])]}: is --label-column the right column?"]
    if result.get("plot"):
        lines += ["", f"plot: {result['plot']}"]
    return "\n".join(lines)
