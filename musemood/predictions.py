"""A saved model's predictions for a whole file, in parts that a rerun resumes.

Predicting a million songs takes hours on a CPU (the encoder reads every lyric). :func:`predict_to_file`
computes the predictions ``part_size`` songs at a time and writes each part whole or not at all in a
folder beside the output (``predictions.csv.parts/``); run it again after a crash or Ctrl-C and the
parts already written are read back, not computed again. The output is written, and the folder removed,
once every part is there. A folder left by another model or another input is refused, never mixed in.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema
from .persistence import replacing

#: Songs per part: about a minute of work on 2 CPU cores with the packaged encoder.
PART_SIZE = 2000
MANIFEST = "predictions.json"
FORMAT = 1
#: The columns of the input that lead the output: which song each prediction is of.
KEYS = (schema.SONG_ID, schema.TITLE, schema.ARTIST)


def predictions_frame(model, X):
    """``model``'s predictions for ``X``: ``prediction`` and, for a classifier, ``p_<class>`` per class."""
    out = pd.DataFrame(index=range(len(X)))
    if model.objective == "classification":  # one pass over the songs: the label is the likeliest class
        proba = model.predict_proba(X)
        out["prediction"] = np.asarray(model.classes_)[proba.argmax(axis=1)]
        for label, column in zip(model.classes_, proba.T):
            out[f"p_{label}"] = column
    else:
        out["prediction"] = model.predict(X)
    return out


def predict_to_file(model, X, out, *, keys=None, part_size=None, show_progress_bar=False):
    """Write ``model``'s predictions for the songs of ``X`` to ``out`` (CSV, TSV or Parquet) and return them.

    ``keys`` (columns such as ``song_id``, ``title``, ``artist``, a row per song of ``X``) lead each row.
    Above ``part_size`` songs (:data:`PART_SIZE` by default) the work is done in parts, kept in
    ``<out>.parts/`` until the end, so that the same call after an interruption resumes where it stopped.
    """
    from .datasets import dataset_format, save_dataset

    out, part_size = Path(out), part_size or PART_SIZE
    dataset_format(out)
    keys = pd.DataFrame(index=range(len(X))) if keys is None else keys.reset_index(drop=True)
    if len(X) <= part_size:
        result = pd.concat([keys, predictions_frame(model, X)], axis=1)
        save_dataset(result, out)
        result.attrs["resumed"] = 0
        return result
    folder = out.with_name(out.name + ".parts")
    manifest = _start(folder, _manifest(model, X, part_size))
    with _only_run(folder):
        return _run_parts(model, X, out, keys, folder, manifest, part_size, show_progress_bar)


class PredictionsBusy(RuntimeError):
    """Another process is writing the predictions of this output file."""


@contextlib.contextmanager
def _only_run(folder):
    """Hold the parts folder's lock: a second run on the same output would remove the folder under the first."""
    from filelock import FileLock, Timeout

    lock = FileLock(folder / ".lock", timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise PredictionsBusy(f"another process is writing these predictions (it holds {folder / '.lock'}); "
                              "wait for it to finish, or stop it and run again") from None
    try:
        yield
    finally:
        lock.release()


def _run_parts(model, X, out, keys, folder, manifest, part_size, show_progress_bar):
    from .classifiers._base import empty_text_warnings
    from .datasets import save_dataset

    bar = _progress(len(X), show_progress_bar)
    written = len(list(folder.glob("part-*.parquet")))
    if written and show_progress_bar:
        bar.write(f"Resuming: {written} of {-(-len(X) // part_size)} parts are in {folder} from an earlier run",
                  file=sys.stderr)
    frames, done = [], 0
    if hasattr(model, "_texts_to_predict"):
        model._texts_to_predict(X)  # the songs without words, said once for the file, by its rows
    try:
        for i, start in enumerate(range(0, len(X), part_size)):
            rows = X.iloc[start:start + part_size] if isinstance(X, pd.DataFrame) else X[start:start + part_size]
            part = folder / f"part-{i:05d}.parquet"
            if part.exists():
                frame = _read_part(part, manifest, len(rows))
                done += len(rows)
            else:
                with empty_text_warnings(False):  # a part's row numbers are not the file's
                    frame = predictions_frame(model, rows)
                _write_part(part, frame, manifest)
            frames.append(frame)
            bar.update(len(rows))
    finally:
        bar.close()
    result = pd.concat([keys, pd.concat(frames, ignore_index=True)], axis=1)
    save_dataset(result, out)
    shutil.rmtree(folder)
    result.attrs["resumed"] = done  # songs whose predictions an earlier run had written
    return result


def _manifest(model, X, part_size):
    from .embed import model_identity

    return {"format": FORMAT, "model": model_identity(model)["sha256"], "rows": len(X), "part_size": part_size,
            "input": _digest(model, X)}


def _digest(model, X):
    """A SHA-256 of what the predictions depend on: the texts, and the audio columns a tBERT reads."""
    if isinstance(X, pd.DataFrame):
        columns = [c for c in [model.text_column, *(getattr(model, "audio_columns", None) or [])] if c in X.columns]
        hashed = pd.util.hash_pandas_object(X[columns], index=False).to_numpy()
    else:
        hashed = pd.util.hash_pandas_object(pd.Series(list(X), dtype=object), index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def _start(folder, manifest):
    """A new parts folder with its manifest, or the manifest of an earlier run of the same job."""
    path = folder / MANIFEST
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except ValueError:
            raise ValueError(f"{path} is damaged; delete {folder} and run again (its parts are computed again)") \
                from None
        what = {"model": "another model", "input": "other songs or lyrics", "rows": "another number of songs",
                "part_size": "another part size", "format": "another version of musemood"}
        for key, words in what.items():
            if old.get(key) != manifest[key]:
                raise ValueError(f"{folder} holds the predictions of an earlier run with {words}; delete it to "
                                 "start again, or write to another --out")
        return old
    folder.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1))
    return manifest


def _write_part(part, frame, manifest):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           b"musemood.predictions": manifest["model"].encode()})
    with replacing(part) as tmp:  # a part exists whole or not at all
        pq.write_table(table, tmp)


def _read_part(part, manifest, rows):
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(part)
    except Exception as exc:  # a truncated or foreign file
        raise ValueError(f"{part} is damaged ({type(exc).__name__}: {exc}); delete it and run again to compute "
                         "it again") from None
    if (table.schema.metadata or {}).get(b"musemood.predictions") != manifest["model"].encode() \
            or table.num_rows != rows:
        raise ValueError(f"{part} is not a part of this run ({table.num_rows} rows, {rows} expected); delete it "
                         "and run again")
    return table.to_pandas()


def _progress(total, show):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="song", desc="predicting", disable=not show, smoothing=0.1)
