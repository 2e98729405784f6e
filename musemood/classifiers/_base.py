"""What the song estimators share.

:class:`TextEstimator`: input checks, labels, the validation split, seeding and prediction, for
every trained text model (the DNN and LSTM baselines too).  :class:`SongEstimator` adds the
BERT encoder: its parameters, training steps, ``embed``, save and load.
"""

from __future__ import annotations

import contextlib
import contextvars
import numbers
from collections.abc import Sequence
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .. import schema
from ..encoders import BertEncoder, _default_device
from .._validation import (check_label_variants, check_unique_columns, headerless_hint, is_text_or_missing,
                           looks_like_regression, row_of)
from ..persistence import FORMAT, load_npy, read_config, write_config
from ..text import clean_lyrics, text_fingerprints, text_hashes
from ._nn import MLPHead, loss_function
from ._training import contrastive, finetune, train_head

logger = logging.getLogger(__name__)

OBJECTIVES = ("classification", "regression")
#: The file of a saved model that holds the fingerprints of the texts it trained on (see ``trained_on``).
TRAINING_TEXTS = "training_texts.npy"
#: Whether predicting warns about texts left without a word (off while a file is predicted part by part:
#: the file says it once, by its own rows; see :func:`musemood.predictions.predict_to_file`).
_WARN_EMPTY_TEXTS = contextvars.ContextVar("musemood_warn_empty_texts", default=True)


@contextlib.contextmanager
def empty_text_warnings(enabled):
    """Within the block, predicting warns about texts empty after cleaning only when ``enabled``."""
    token = _WARN_EMPTY_TEXTS.set(bool(enabled))
    try:
        yield
    finally:
        _WARN_EMPTY_TEXTS.reset(token)

#: Below this many training songs, ``strategy="auto"`` tunes the encoder contrastively (SetFit's way)
#: rather than fine-tuning it with a head: measured in docs/models.md ("Small labelled sets").
FEW_SHOT_BELOW = 500


@dataclass(repr=False, eq=False, kw_only=True)
class TextEstimator(BaseEstimator):
    """Base class of every trained text model: the parameters and steps that do not involve BERT.

    Input checks, label encoding, the validation split, seeding, the device, and
    ``predict``/``predict_proba``/``score`` over a subclass's ``_outputs``.  The models are
    dataclasses, so each parameter is declared once, as a field with its default; the
    generated ``__init__`` only stores them (scikit-learn's contract).
    """

    dropout: float = 0.1
    weight_decay: float = 0.01
    optimizer: str = "adamw"
    max_grad_norm: float | None = 1.0
    validation_fraction: float = 0.1
    objective: str = "classification"
    text_column: str = schema.LYRICS
    clean: bool = True
    random_state: int | None = None
    device: str | None = None
    show_progress_bar: bool = False
    class_weight: str | None = None
    checkpoint_dir: str | None = None

    def _check_params(self, where=None):
        """Every parameter's type and range; ``where`` names the config.json they came from."""
        from .._validation import check_params

        check_params(self, where, options=self._options())
        return self

    def _options(self):
        """Parameter name -> allowed string values."""
        from ._nn import OPTIMIZERS

        return {"optimizer": OPTIMIZERS, "objective": OBJECTIVES, "class_weight": ("balanced",),
                **self._param_options()}

    def _param_options(self):
        return {}

    # ------------------------------------------------------------------ inputs
    def _texts(self, X):
        """Cleaned lyrics from a DataFrame (``text_column``), a Series, a list of strings or one string."""
        if isinstance(X, str):
            X = [X]
        if isinstance(X, pd.DataFrame):
            if self.text_column not in X.columns:
                raise KeyError(
                    f"text column {self.text_column!r} is not in the data; columns are "
                    f"{list(X.columns)}. {headerless_hint(X.columns)}Set text_column= to the column holding the lyrics."
                )
            check_unique_columns(X, [self.text_column])
            values = X[self.text_column]
        elif X is None or isinstance(X, (dict, bytes)) or not hasattr(X, "__iter__"):
            raise TypeError(f"X must be one text, a list of texts, a pandas Series or a DataFrame with a "
                            f"{self.text_column!r} column; got {type(X).__name__}")
        else:
            values = pd.Series(list(X), dtype=object)
        for row, value in zip(values.index, values):
            if not is_text_or_missing(value):
                raise TypeError(f"X holds {type(value).__name__} {value!r} at row {row!r}: texts must be strings "
                                "(or None/NaN/NA for a song without lyrics)")
        texts = ["" if t is None or not isinstance(t, str) else t for t in values]
        if self.clean:
            texts = [clean_lyrics(t) for t in texts]
        return texts

    def _texts_to_predict(self, X):
        """:meth:`_texts`, with a warning that names the songs left without a word once cleaned: their
        predictions come from an empty text (tBERT's also from their audio features), not from lyrics."""
        texts = self._texts(X)
        empty = np.fromiter((not text.strip() for text in texts), dtype=bool, count=len(texts))
        if empty.any() and _WARN_EMPTY_TEXTS.get():
            where = (row_of(X, empty) if isinstance(X, pd.DataFrame)
                     else f"text {int(np.flatnonzero(empty)[0])}")
            logger.warning("%d of %d texts are empty after cleaning (the first at %s; none, or nothing but "
                           "'Instrumental' or section headers): their predictions come from no words",
                           empty.sum(), len(texts), where)
        return texts

    def _fit_texts(self, X):
        """Cleaned training texts; one string is refused (a model learns from many songs)."""
        self._check_params()
        if isinstance(X, str):
            raise TypeError("fit needs a list of texts or a DataFrame, not a single string")
        texts = self._texts(X)
        self._check_fit_texts(texts)
        self.training_texts_ = text_fingerprints(texts)  # for trained_on
        return texts

    def _check_fit_texts(self, texts):
        if not texts:
            raise ValueError("no songs to train on: X is empty")
        empty = sum(1 for t in texts if not t.strip())
        if empty == len(texts):
            raise ValueError("every text is empty after cleaning; check text_column and the data")
        if empty:
            logger.warning("%d of %d texts are empty after cleaning (instrumentals?)", empty, len(texts))

    def _targets(self, y, n):
        """Encode ``y``: class indices (classification) or standardised floats (regression)."""
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        y = pd.Series(np.asarray(y, dtype=object) if not isinstance(y, pd.Series) else y.to_numpy())
        if len(y) != n:
            raise ValueError(f"X has {n} songs but y has {len(y)} labels")
        if y.isna().any():
            raise ValueError(
                f"y has {int(y.isna().sum())} missing labels; drop those songs first "
                "(e.g. df[df['label'].notna()])"
            )
        if self.objective == "regression":
            values = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float)
            if not np.isfinite(values).all():
                row = int(np.flatnonzero(~np.isfinite(values))[0])
                raise ValueError(f"regression needs finite numeric targets; y holds {y.iloc[row]!r} at position "
                                 f"{row}")
            self.y_mean_, self.y_scale_ = float(values.mean()), float(values.std() or 1.0)
            return ((values - self.y_mean_) / self.y_scale_).astype(np.float32)
        if looks_like_regression(y):
            raise ValueError(f"y holds {y.nunique()} distinct non-integer numbers for {n} songs: that is a "
                             "regression target (e.g. valence); pass objective='regression', or give mood labels")
        check_label_variants(y)
        classes, encoded = np.unique(y.to_numpy(), return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"y holds a single class ({classes[0]!r}); a classifier needs at least two")
        self.classes_ = classes
        return encoded.astype(np.int64)

    @property
    def _n_outputs(self):
        return 1 if self.objective == "regression" else len(self.classes_)

    def _split(self, targets, seed):
        """Indices of the training and validation songs (stratified for classes)."""
        idx = np.arange(len(targets))
        n_valid = int(np.ceil(self.validation_fraction * len(idx))) if self.validation_fraction else 0
        if n_valid < 1 or n_valid >= len(idx):
            return idx, idx[:0]
        stratify = None
        if self.objective == "classification":
            counts = np.bincount(targets)
            if counts.min() >= 2 and n_valid >= len(counts) and len(idx) - n_valid >= len(counts):
                stratify = targets
        train, valid = train_test_split(
            idx, test_size=self.validation_fraction, random_state=seed, stratify=stratify
        )
        return np.sort(train), np.sort(valid)

    def _device(self):
        return torch.device(self.device) if self.device else _default_device()

    def _loss(self, targets, train, device):
        """The training loss: cross-entropy, each class weighed by ``n / (n_classes * count)`` in the
        training songs with ``class_weight="balanced"``, or mean squared error for regression."""
        weights = None
        if self.class_weight == "balanced" and self.objective == "classification":
            counts = np.bincount(targets[train], minlength=len(self.classes_)).astype(float)
            weights = len(train) / (len(self.classes_) * np.maximum(counts, 1.0))
        loss = loss_function(self.objective, weights)
        return loss.to(device) if isinstance(loss, torch.nn.Module) else loss

    def _checkpoint(self, stage, seed, targets, train, data):
        """``(file, key)`` for a training stage's checkpoint under ``checkpoint_dir`` (``None`` without one).

        ``key`` is a SHA-256 of the class, the parameters that shape training, the seed, the
        training songs, their targets and ``data`` (texts or feature rows): resuming needs all equal.
        """
        if self.checkpoint_dir is None:
            return None
        import hashlib
        import json

        digest = hashlib.sha256()
        skip = {"checkpoint_dir", "show_progress_bar", "device", "encoder"}
        params = {k: v for k, v in self.get_params(deep=False).items() if k not in skip}
        encoder = getattr(self, "encoder", None)  # a name, a path, or an object named by its source
        params["encoder"] = str(encoder if encoder is None or isinstance(encoder, (str, Path)) else
                                getattr(encoder, "model_name_or_path", type(encoder).__name__))
        digest.update(json.dumps([type(self).__name__, stage, seed, params], sort_keys=True, default=str).encode())
        for array in (np.asarray(train), np.asarray(targets)):
            digest.update(np.ascontiguousarray(array).tobytes())
        if isinstance(data, list):
            for text in data:
                digest.update(text.encode("utf-8", "replace") + b"\0")
        else:
            digest.update(np.ascontiguousarray(np.asarray(data, dtype=np.float32)).tobytes())
        return Path(self.checkpoint_dir) / f"{stage}.pt", digest.hexdigest()

    @contextlib.contextmanager
    def _seeded(self):
        """Seed torch from ``random_state`` without touching the global RNG state; yields the seed."""
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield seed

    def _check_predict_input(self, X, fitted):
        """Fitted (attribute ``fitted`` set) and given at least one song, else the usual errors."""
        check_is_fitted(self, fitted)
        if not isinstance(X, str) and hasattr(X, "__len__") and len(X) == 0:
            raise ValueError("no songs to predict: X is empty")

    # ------------------------------------------------------------ persistence
    def _label_state(self):
        """What prediction needs beside the weights, for ``config.json``: the class names, or the
        regression target's mean and scale."""
        regression = self.objective == "regression"
        return {"classes": None if regression else self.classes_.tolist(),
                "target_scaling": [self.y_mean_, self.y_scale_] if regression else None}

    @classmethod
    def _from_config(cls, path, params, config, device):
        """A model built from saved ``params`` (checked, naming ``path``'s config.json) on ``device``
        (``None``: the saved one), with its history and :meth:`_label_state` restored."""
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
        if device is not None:
            params["device"] = device
        est = cls(**params)._check_params(Path(path) / "config.json")
        est.history_ = config["history"]
        if config["classes"] is not None:
            est.classes_ = np.asarray(config["classes"])
        if config["target_scaling"] is not None:
            est.y_mean_, est.y_scale_ = config["target_scaling"]
        return est

    def predict_proba(self, X: pd.DataFrame | Sequence[str] | str) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_`` (one row for one string)."""
        if self.objective == "regression":
            raise AttributeError("predict_proba is not available with objective='regression'")
        out = torch.softmax(self._outputs(X), dim=1).cpu().numpy()
        return out[0] if isinstance(X, str) else out

    def predict(self, X: pd.DataFrame | Sequence[str] | str):
        """Predicted labels (``classes_`` values), or values with objective='regression'.

        ``X`` is a DataFrame, a list of texts or one text (then one answer comes back).
        """
        out = self._outputs(X).cpu().numpy()
        if self.objective == "regression":
            pred = out[:, 0] * self.y_scale_ + self.y_mean_
        else:
            pred = self.classes_[out.argmax(axis=1)]
        return pred[0] if isinstance(X, str) else pred

    def trained_on(self, X: pd.DataFrame | Sequence[str] | str):
        """Whether each song's text is one the model was fitted on (one answer for one string).

        Texts are compared as the model reads them: cleaned (section headers and blank lines
        dropped), with runs of white space as one space, by a 16-byte fingerprint of each
        training text that the model keeps and saves.  Scores on such songs say how well the
        model learnt them, not how it does on new songs: ``musemood evaluate`` leaves them out.
        A song without lyrics is never counted as trained on.
        """
        check_is_fitted(self, "training_texts_")
        if self.training_texts_ is None:
            raise ValueError("this model was saved without the fingerprints of the texts it trained on (by an "
                             "earlier musemood); train it again to tell its training songs from new ones")
        texts = self._texts(X)
        seen = np.isin(text_hashes(texts), self.training_texts_)
        return bool(seen[0]) if isinstance(X, str) else seen

    def _save_training_texts(self, path):
        """Write the fingerprints of the training texts (:meth:`trained_on`); their number, for config.json."""
        if self.training_texts_ is None:  # loaded from an earlier musemood's save
            return {}
        np.save(Path(path) / TRAINING_TEXTS, self.training_texts_, allow_pickle=False)
        return {"training_texts": len(self.training_texts_)}

    def _load_training_texts(self, path, config):
        """Read the fingerprints of a saved model's training texts (``None`` in a model saved before they
        were kept), checked against the number config.json records."""
        file = Path(path) / TRAINING_TEXTS
        if "training_texts" not in config:
            self.training_texts_ = None
            return
        hashes = load_npy(file)
        if hashes.dtype != np.dtype("S16") or hashes.shape != (config["training_texts"],):
            raise ValueError(f"{file} holds a {hashes.dtype} array of shape {hashes.shape}, not the "
                             f"{config['training_texts']} 16-byte fingerprints of training texts that "
                             f"{Path(path) / 'config.json'} records; save the model again")
        self.training_texts_ = hashes

    def score(self, X: pd.DataFrame | Sequence[str], y) -> float:
        """Accuracy (classification) or R² (regression)."""
        from sklearn.metrics import r2_score

        pred = self.predict(X)
        if self.objective == "regression":
            return r2_score(np.asarray(y, dtype=float), pred)
        y, _ = align_labels(y, self.classes_)
        if len(y) != len(pred):
            raise ValueError(f"y has {len(y)} labels for {len(pred)} songs")
        return float(np.mean(y == np.asarray(pred, dtype=object))) if len(y) else float("nan")


@dataclass(repr=False, eq=False, kw_only=True)
class SongEstimator(TextEstimator):
    """Base class of the three BERT models: the encoder's parameters, its training, embed, save and load.

    ``encoder`` is the one positional parameter.  Subclasses add their own fields and ``fit``.
    """

    #: Whether :meth:`embed` (and its text vectors) come from weights trained on the labels;
    #: a recommender then maps songs with a general-purpose encoder (``Recommender(map_on=)``).
    _label_trained_vectors = True

    encoder: BertEncoder | str | Path | None = field(default=None, kw_only=False)
    pooling: str = "auto"
    max_length: int = 256
    stride: int | str | None = "auto"
    max_chunks: int | None = None
    min_steps: int | None = 100
    few_shot_below: int = FEW_SHOT_BELOW
    contrastive_epochs: int = 4
    contrastive_learning_rate: float = 5e-5

    #: What ``strategy`` may be; the first is the model's own way to train its encoder.
    _strategies = ("finetune", "contrastive", "auto")

    def _options(self):
        from ..encoders import POOLINGS

        return {**super()._options(), "pooling": ("auto", *POOLINGS), "stride": ("auto",),
                "strategy": self._strategies}

    def _resolve_strategy(self, n_train):
        """The strategy this fit uses: ``"auto"`` is ``"contrastive"`` for classification on fewer than
        ``few_shot_below`` training songs, else the model's own (``_strategies[0]``)."""
        strategy = self.strategy
        if strategy == "auto":
            few = self.objective == "classification" and n_train < self.few_shot_below
            if self._strategies[0] == "finetune" and self.epochs == 0:
                few = False  # epochs=0 asks for the encoder as it is (tBERT on an already tuned encoder)
            strategy = "contrastive" if few else self._strategies[0]
        if strategy == "contrastive" and self.objective != "classification":
            raise ValueError("strategy='contrastive' learns from pairs of songs with the same or different "
                             "labels: it needs objective='classification'; use strategy='auto' or "
                             f"{self._strategies[0]!r} for regression")
        return strategy

    def _contrastive_head(self, texts, targets, train, valid, seed, *, extra=None, hidden_size, **head):
        """SetFit's two steps: the encoder tuned contrastively on the labels, then a head trained on its
        frozen vectors (joined with ``extra``).  Sets ``encoder_`` and ``head_``; returns the history."""
        self.encoder_, tuned = contrastive(self, texts, targets, train, seed)
        features = self._join(self._encode(texts), extra)
        self.head_, trained = self._train_head(features, targets, train, valid, hidden_size=hidden_size,
                                               seed=seed, **head)
        return [dict(r, stage="contrastive") for r in tuned] + [dict(r, stage="head") for r in trained]

    @staticmethod
    def _join(vectors, extra):
        """Song vectors (array or tensor) as an array, with ``extra`` columns joined when given."""
        vectors = vectors.numpy() if torch.is_tensor(vectors) else np.asarray(vectors)
        return vectors if extra is None else np.hstack([vectors, extra]).astype(np.float32)

    # --------------------------------------------------------------- training
    def _train_head(self, features, targets, train, valid, **settings):
        """Train an MLP head on fixed song vectors; returns ``(head, history)`` (see :mod:`._training`)."""
        return train_head(self, features, targets, train, valid, **settings)

    def _finetune(self, texts, targets, train, valid, seed, **settings):
        """Fine-tune an encoder with a head; returns ``(encoder, head, history)`` (see :mod:`._training`)."""
        return finetune(self, texts, targets, train, valid, seed, **settings)

    def _base_encoder(self):
        """The encoder to start from: ``encoder`` itself when it is a :class:`BertEncoder` (with its own
        settings), a fitted musemood model's ``encoder_``, else one built from the name or path with this
        model's settings."""
        encoder = self._given_encoder()
        if encoder is not None:
            return encoder.load_weights()
        if self.encoder is not None and not isinstance(self.encoder, (str, Path)):
            raise TypeError(f"encoder must be a BertEncoder, a fitted musemood model, a model name or a path, "
                            f"not {type(self.encoder).__name__}")
        return BertEncoder(
            None if self.encoder is None else str(self.encoder), pooling=self.pooling, max_length=self.max_length,
            stride=self.stride, max_chunks=self.max_chunks, device=self.device,
        ).load_weights()

    def _given_encoder(self):
        """The caller's encoder object (never to be changed), or ``None`` for a name or path."""
        if isinstance(self.encoder, BertEncoder):
            return self.encoder
        if isinstance(getattr(self.encoder, "encoder_", None), BertEncoder):  # a fitted musemood model
            return self.encoder.encoder_
        return None

    def _learning_rate(self):
        if self.learning_rate is not None:
            return self.learning_rate
        return 5e-4 if getattr(self, "lora", False) else 5e-5

    # ------------------------------------------------------------- prediction
    def _encode(self, texts):
        """Encoder vectors of cleaned texts (fine-tuned or frozen encoder)."""
        return self.encoder_.encode(texts, batch_size=self.batch_size, show_progress_bar=self.show_progress_bar)

    def _head_input(self, X):
        return self._encode(self._texts_to_predict(X))

    def _outputs(self, X, return_hidden=False):
        self._check_predict_input(X, "head_")
        features = torch.as_tensor(self._head_input(X), dtype=torch.float32, device=self._device())
        self.head_.eval()
        with torch.inference_mode():
            out = self.head_(features, return_hidden=return_hidden)
        return out

    def embed(self, X: pd.DataFrame | Sequence[str] | str, *, return_text_vectors: bool = False):
        """Song vectors for the recommender: the encoder's song vector (see subclasses).

        With ``return_text_vectors=True`` returns ``(embedding, text_vectors)``, the
        second being the encoder's vectors of the lyrics (here the same array), from
        one encoding pass.
        """
        check_is_fitted(self, "head_")
        vectors = self._encode(self._texts(X))
        vectors = vectors.numpy() if torch.is_tensor(vectors) else np.asarray(vectors)
        if isinstance(X, str):
            vectors = vectors[0]
        return (vectors, vectors) if return_text_vectors else vectors

    def transform(self, X: pd.DataFrame | Sequence[str] | str) -> np.ndarray:
        """Same as :meth:`embed`."""
        return self.embed(X)

    # ------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the fitted model to folder ``path``.

        ``config.json`` (parameters, label names, versions, training history),
        ``encoder/`` (a saved :class:`BertEncoder`), ``head.safetensors`` and
        the parts a subclass adds.  Nothing is pickled.
        """
        from safetensors.torch import save_file

        check_is_fitted(self, "head_")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.encoder_.save(path / "encoder")
        state = {k: v.detach().cpu().contiguous() for k, v in self.head_.state_dict().items()}
        save_file(state, path / "head.safetensors")
        fingerprints = self._save_training_texts(path)
        params = self.get_params(deep=False)
        given = self._given_encoder()
        if given is not None:  # the fitted encoder is in encoder/
            params["encoder"] = given.model_name_or_path
        extra = {**self._label_state(), "head": self.head_config_, "history": self.history_,
                 "strategy": getattr(self, "strategy_", None)}
        extra.update(self._save_extra(path), **fingerprints)
        write_config(path, self, params, **extra)
        return path

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None):
        """Read a model written by :meth:`save`; it predicts exactly as before saving."""

        path = Path(path)
        config = read_config(path, cls, formats=(1, FORMAT))
        est = cls._from_config(path, _upgrade_params(config["params"]), config, device)
        settings = {} if (path / "encoder" / "transformer").is_dir() else dict(  # format 1: a plain HF folder
            pooling=est.pooling, max_length=est.max_length, stride=est.stride, max_chunks=est.max_chunks)
        est.encoder_ = BertEncoder.load(path / "encoder", device=est.device, **settings)
        est.head_config_ = config["head"]
        est.strategy_ = config.get("strategy")
        est.head_ = _load_head(path, config)
        est.head_.to(est._device()).eval()
        est._load_extra(path, config)
        est._load_training_texts(path, config)
        return est

    def _save_extra(self, path):
        return {}

    def _load_extra(self, path, config):
        pass


def label_key(value):
    """The text a label is matched by: 1, 1.0, np.int64(1), '1' and '1.0' are all '1'."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return str(int(number)) if number.is_integer() else value
    if isinstance(value, (numbers.Real, np.number)) and not isinstance(value, (bool, np.bool_)):
        number = float(value)
        if number.is_integer():
            return str(int(number))
        return repr(number)
    return str(value)


def label_texts(labels):
    """Class labels as text, whole numbers without a decimal part: a label column pandas read as floats
    (it had a missing value) names its classes '1', not '1.0'."""
    return pd.Series(labels).map(label_key)  # a Series keeps its index


def align_labels(y, classes):
    """``y`` as the ``classes`` it names, matched by text (a model trained on '1' scores a test label 1 or 1.0,
    and one trained on 1 a test label '1'), and a mask of the labels that name a class; the others are kept
    as they are, so they equal no prediction."""
    by_key = {label_key(c): c for c in classes}
    values = np.asarray(y, dtype=object).ravel()
    aligned = np.empty(len(values), dtype=object)
    known = np.zeros(len(values), dtype=bool)
    for i, value in enumerate(values):
        key = label_key(value)
        known[i] = key in by_key
        aligned[i] = by_key[key] if known[i] else value
    return aligned, known


def _load_head(path, config):
    """The head from ``head.safetensors``, checked against ``config.json``: shapes, classes, finite weights."""
    from safetensors.torch import load_file

    file, config_file = path / "head.safetensors", path / "config.json"
    try:
        head = MLPHead(**config["head"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{config_file} holds no usable head settings ({type(exc).__name__}: {exc}); "
                         "save the model again") from None
    try:
        state = load_file(file)
    except Exception as exc:  # safetensors raises its own error types for a damaged file
        raise ValueError(f"{file} is not a readable safetensors file ({exc}); save the model again") from None
    try:
        head.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1].strip()
        raise ValueError(f"{file} does not fit the head that {config_file} describes ({first}): the folder mixes "
                         "files from different saves or was edited; save the model again") from None
    bad = [name for name, tensor in state.items() if not torch.isfinite(tensor).all()]
    if bad:
        raise ValueError(f"{file} holds NaN or infinite weights ({', '.join(bad)}): the model was saved from a "
                         "diverged training run or the file was changed; train it again (a lower learning rate "
                         "helps)")
    classes = config.get("classes")
    if classes is not None:
        if (not isinstance(classes, list) or len(set(map(str, classes))) != len(classes)
                or head.out.out_features != len(classes)):
            raise ValueError(f"{config_file} lists classes {classes!r} but the head in {file} has "
                             f"{head.out.out_features} outputs: the classes must be distinct and one per output; "
                             "save the model again")
    elif head.out.out_features != 1:
        raise ValueError(f"{config_file} says regression (no classes) but the head in {file} has "
                         f"{head.out.out_features} outputs; save the model again")
    return head


def _upgrade_params(params):
    """Parameters of a format-1 folder under today's names."""
    params = dict(params)
    if "model_name_or_path" in params:
        params["encoder"] = params.pop("model_name_or_path")
    if "verbose" in params:
        params["show_progress_bar"] = params.pop("verbose")
    return params
