"""The three mood models of the study and the baselines they are compared with, with the scikit-learn
estimator contract.

- :class:`SimpleBertClassifier`: frozen encoder + MLP.
- :class:`FineTunedBertClassifier`: encoder fine-tuned (full or LoRA) with a head.
- :class:`TBertClassifier`: fine-tuned encoder ⊕ LDA topics ⊕ audio features -> hidden -> softmax.
- :class:`TfidfDnnClassifier` and :class:`LstmClassifier`: neural baselines trained from scratch.

:func:`make_model` builds any of them (or a scikit-learn baseline) by name; ``compare``, ``train``,
``tune`` and :func:`load_model` all go through it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import schema
from .finetuned import FineTunedBertClassifier
from .simple import SimpleBertClassifier
from .tbert import TBertClassifier
from .textnets import LstmClassifier, TfidfDnnClassifier

__all__ = [
    "BERT_MODELS",
    "FineTunedBertClassifier",
    "LstmClassifier",
    "MODELS",
    "SimpleBertClassifier",
    "TBertClassifier",
    "TfidfDnnClassifier",
    "load_model",
    "make_model",
    "model_params",
]

#: The study's models by name, in the order of its sequence.
BERT_MODELS = {"simple": SimpleBertClassifier, "finetuned": FineTunedBertClassifier, "tbert": TBertClassifier}
#: Every name :func:`make_model` knows: the baselines, then the study's models and tBERT's ablations.
MODELS = schema.MODELS
#: The neural baselines by name; they keep their own epochs, batch size and learning rate.
TEXT_NETS = {"dnn": TfidfDnnClassifier, "lstm": LstmClassifier}
#: tBERT's ablations: the parameters that leave a block out.
ABLATIONS = {"tbert_topics": {"audio_columns": None}, "tbert_audio": {"n_topics": None}}

#: Parameters that only some models take; :func:`make_model` drops them for the others.
_ONLY = {
    "epochs": ("finetuned", "tbert"),
    "lora": ("finetuned", "tbert"),
    "mode": ("tbert",),
    "n_topics": ("tbert",),
    "audio_columns": ("tbert",),
    "strategy": ("finetuned", "tbert"),  # simple BERT's choices differ: its own default (frozen) stays
}


def make_model(name: str, **params: Any):
    """A new, unfitted model by name: ``"simple"``, ``"finetuned"``, ``"tbert"`` or a baseline.

    ``params`` are the model's constructor parameters.  Those that belong to other models
    only (``epochs`` for simple BERT, ``n_topics`` and ``audio_columns`` outside tBERT...)
    are dropped, so one set of settings serves the whole sequence.  The baselines
    (``"majority"``, ``"tfidf"``) are scikit-learn pipelines on cleaned lyrics and take
    ``text_column`` and ``objective``.
    """
    if name in ("majority", "tfidf"):
        return _baseline(name, params.get("text_column", "lyrics"), params.get("objective", "classification"),
                         params.get("class_weight"))
    if name in ("audio_mlp", "audio_gb"):
        return _audio_model(name, params.get("audio_columns"), params.get("objective", "classification"),
                            params.get("random_state"), params.get("class_weight"))
    if name in TEXT_NETS:
        from dataclasses import fields

        cls = TEXT_NETS[name]
        own = {f.name for f in fields(cls)} - {"epochs", "batch_size", "learning_rate"}  # tuned for BERT elsewhere
        return cls(**{k: v for k, v in params.items() if k in own})
    if name in ABLATIONS:
        return TBertClassifier(**{**model_params("tbert", params), **ABLATIONS[name]})
    if name not in BERT_MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    params = model_params(name, params)
    if params.get("n_topics") == 0:
        params["n_topics"] = None
    return BERT_MODELS[name](**params)


def model_params(name: str, params: dict) -> dict:
    """``params`` without those that only other models take (see :data:`_ONLY`)."""
    return {k: v for k, v in params.items() if name in _ONLY.get(k, (name,))}


def load_model(path: str | Path, *, device: str | None = None):
    """Load a model saved by any of the three BERT models or the DNN and LSTM baselines, whichever it is."""
    from ..persistence import FORMAT, read_config

    classes = (*BERT_MODELS.values(), *TEXT_NETS.values())
    config = read_config(path, classes, formats=(1, FORMAT), verify=False)  # load() checks
    cls = {c.__name__: c for c in classes}[config["class"]]
    return cls.load(path, device=device)


def _baseline(name, text_column, objective, class_weight=None):
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from ..text import clean_lyrics

    texts = FunctionTransformer(lambda X: [clean_lyrics(t) for t in X[text_column].fillna("")])
    regression = objective == "regression"
    if name == "majority":
        return make_pipeline(texts, DummyRegressor(strategy="mean") if regression
                             else DummyClassifier(strategy="most_frequent"))
    linear = Ridge(alpha=1.0) if regression else LogisticRegression(max_iter=2000, C=10, class_weight=class_weight)

    class LyricsTfidf(TfidfVectorizer):
        """scikit-learn's TfidfVectorizer, whose error for texts that share no word names no column of ours."""

        def fit_transform(self, raw_documents, y=None):
            try:
                return super().fit_transform(raw_documents, y)
            except ValueError as exc:
                if "no terms remain" not in str(exc) and "empty vocabulary" not in str(exc):
                    raise
                raise ValueError(f"TF-IDF + logistic regression: no word is in two or more of the "
                                 f"{len(raw_documents):,} training texts of {text_column!r}; does that column hold the "
                                 "lyrics (not ids or numbers)? --text-column (text_column=) names it") from None

    return make_pipeline(texts, LyricsTfidf(sublinear_tf=True, min_df=2, ngram_range=(1, 2)), linear)


def _audio_model(name, audio_columns, objective, random_state, class_weight=None):
    """A model of the audio features alone: a small MLP or gradient boosting (scikit-learn; only the
    boosting takes ``class_weight``)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline

    from ..features import AudioFeatureEncoder

    if not audio_columns:
        raise ValueError(f"{name} learns from audio features alone, and this data has none: give the 12 Spotify "
                         f"features ({', '.join(schema.AUDIO_FEATURES[:3])}, ...) or name the columns with "
                         "audio_columns= (--audio-columns)")
    columns = tuple(audio_columns)
    categorical = tuple(c for c in columns if c in schema.CATEGORICAL_AUDIO_FEATURES)
    regression = objective == "regression"
    if name == "audio_mlp":
        mlp = MLPRegressor if regression else MLPClassifier
        model = mlp(hidden_layer_sizes=(64, 32), alpha=1e-3, early_stopping=True, max_iter=1000,
                    random_state=random_state)
    else:
        boosting = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
        weights = {} if regression else {"class_weight": class_weight}
        model = boosting(max_iter=300, learning_rate=0.05, early_stopping=True, random_state=random_state, **weights)
    return make_pipeline(AudioFeatureEncoder(columns=columns, categorical=categorical), model)

