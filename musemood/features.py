"""Audio features as model input: standardised, one-hot, missing values handled.

:class:`AudioFeatureEncoder` is fitted on training songs only and saves as JSON
(no pickle), so a saved model encodes new songs exactly as it did in training.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from . import schema
from ._validation import check_unique_columns

logger = logging.getLogger(__name__)


def resolve_audio_columns(df, audio_columns="auto"):
    """The audio columns to use: ``"auto"`` means the 12 Spotify features if ``df`` has them all,
    else none (``None``); a list is returned as a list; ``None`` stays ``None``."""
    if isinstance(audio_columns, str) and audio_columns == "auto":
        return list(schema.AUDIO_FEATURES) if set(schema.AUDIO_FEATURES) <= set(df.columns) else None
    return None if audio_columns is None else list(audio_columns)


class AudioFeatureEncoder(TransformerMixin, BaseEstimator):
    """Turn audio-feature columns into a dense float matrix.

    Continuous features are standardised with the training mean and standard
    deviation; a missing value becomes the training median (then
    standardised).  Categorical features (key, mode, time signature) are
    one-hot encoded over the values seen in training; a missing or unseen value
    gives all zeros.  A last column holds the share of the song's features
    that were missing, so a model can tell "average" from "unknown".  A column
    that new data lacks altogether is missing for each of its songs (with a
    warning naming it); in training data it is an error.

    Parameters
    ----------
    columns : sequence of str, default=the 12 Spotify features
    categorical : sequence of str, default=("key", "mode", "time_signature")
        Those of ``columns`` to one-hot encode.
    """

    def __init__(self, columns=schema.AUDIO_FEATURES, categorical=schema.CATEGORICAL_AUDIO_FEATURES):
        self.columns = columns
        self.categorical = categorical

    def fit(self, X, y=None):
        frame = self._frame(X, fitting=True)
        self.continuous_ = [c for c in self.columns if c not in set(self.categorical)]
        self.categorical_ = [c for c in self.columns if c in set(self.categorical)]
        values = frame[self.continuous_].to_numpy(dtype=float)
        with np.errstate(all="ignore"):
            median = np.nanmedian(values, axis=0) if len(values) else np.zeros(len(self.continuous_))
        median = np.where(np.isnan(median), 0.0, median)
        filled = np.where(np.isnan(values), median, values)
        self.median_ = median
        self.mean_ = filled.mean(axis=0) if len(filled) else np.zeros(len(self.continuous_))
        scale = filled.std(axis=0) if len(filled) else np.ones(len(self.continuous_))
        self.scale_ = np.where(scale > 0, scale, 1.0)
        self.categories_ = {
            c: sorted(float(v) for v in pd.unique(frame[c].dropna().astype(float))) for c in self.categorical_
        }
        return self

    def transform(self, X):
        check_is_fitted(self, "mean_")
        frame = self._frame(X)
        values = frame[self.continuous_].to_numpy(dtype=float)
        filled = np.where(np.isnan(values), self.median_, values)
        blocks = [(filled - self.mean_) / self.scale_]
        for c in self.categorical_:
            col = frame[c].to_numpy(dtype=float)
            cats = np.asarray(self.categories_[c])
            blocks.append((col[:, None] == cats[None, :]).astype(float))
        missing = frame[list(self.columns)].isna().to_numpy().mean(axis=1, keepdims=True)
        blocks.append(missing)
        return np.hstack(blocks).astype(np.float32)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "mean_")
        names = list(self.continuous_)
        for c in self.categorical_:
            names += [f"{c}={v:g}" for v in self.categories_[c]]
        return np.asarray(names + ["audio_missing_share"], dtype=object)

    def to_dict(self):
        """JSON-able state of the fitted encoder."""
        check_is_fitted(self, "mean_")
        return {
            "columns": list(self.columns),
            "categorical": list(self.categorical),
            "median": self.median_.tolist(),
            "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
            "categories": self.categories_,
        }

    @classmethod
    def from_dict(cls, state):
        enc = cls(columns=tuple(state["columns"]), categorical=tuple(state["categorical"]))
        enc.continuous_ = [c for c in enc.columns if c not in set(enc.categorical)]
        enc.categorical_ = [c for c in enc.columns if c in set(enc.categorical)]
        enc.median_ = np.asarray(state["median"], dtype=float)
        enc.mean_ = np.asarray(state["mean"], dtype=float)
        enc.scale_ = np.asarray(state["scale"], dtype=float)
        enc.categories_ = {c: list(v) for c, v in state["categories"].items()}
        return enc

    def save(self, path):
        """Write the fitted encoder to folder ``path`` (``config.json`` only: its state is small)."""
        from .persistence import write_config

        state = self.to_dict()
        params = {"columns": state.pop("columns"), "categorical": state.pop("categorical")}
        return write_config(path, self, params, state=state)

    @classmethod
    def load(cls, path):
        """Read an encoder written by :meth:`save`."""
        from .persistence import read_config

        config = read_config(path, cls)
        return cls.from_dict({**config["params"], **config["state"]})

    def _frame(self, X, fitting=False):
        """``X`` checked; columns it lacks are refused when ``fitting``, else left to the training medians
        (as for a song whose features are missing), with a warning that names them."""
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                "audio features come from a DataFrame with one column per feature; "
                "pass audio_columns=None to train on lyrics only"
            )
        check_unique_columns(X, self.columns, "the data")
        missing = [c for c in self.columns if c not in X.columns]
        if missing and fitting:
            raise KeyError(
                f"audio feature columns {missing} are not in the data (columns: {list(X.columns)}); "
                "pass audio_columns=None to train without audio"
            )
        if missing:
            if getattr(self, "_warned", None) != missing:  # once, not for each batch of a catalogue
                self._warned = missing
                logger.warning("audio feature columns %s are not in the data (columns: %s): the training songs' "
                               "medians stand in for them; name the columns as in training to use the songs' own",
                               missing, list(X.columns))
            X = X.assign(**{c: np.nan for c in missing})
        for column in self.columns:
            values = pd.to_numeric(X[column], errors="coerce")
            bad = (values.isna() & X[column].notna()) | np.isinf(values.fillna(0.0))
            n_bad = int(bad.sum())
            if n_bad:
                row = bad.to_numpy().nonzero()[0][0]
                value = _plain(X[column].iloc[row])
                song = f" (song_id {X[schema.SONG_ID].iloc[row]!r})" if schema.SONG_ID in X.columns else ""
                raise ValueError(
                    f"audio column {column!r} holds {value!r} at row {_plain(X.index[row])!r}{song}"
                    f"{f' and {n_bad - 1} more rows' if n_bad > 1 else ''}: audio features must be "
                    "finite numbers; fix them or leave them empty (missing values are imputed)"
                )
        return X


def _plain(value):
    """A NumPy scalar as the Python value it holds (for messages)."""
    return value.item() if hasattr(value, "item") else value
