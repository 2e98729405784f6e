"""tBERT: fine-tuned BERT + LDA topics + audio features -> hidden layer -> softmax."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.utils.validation import check_is_fitted

from .. import schema
from ..features import AudioFeatureEncoder
from ..topics import LdaTopics
from .finetuned import FineTunedBertClassifier

logger = logging.getLogger(__name__)

MODES = ("two_stage", "joint")


@dataclass(repr=False, eq=False, kw_only=True)
class TBertClassifier(FineTunedBertClassifier):
    """The study's third model: song vector ⊕ topic distribution ⊕ audio features.

    Each song's fine-tuned BERT vector, its LDA topic distribution
    (:class:`musemood.topics.LdaTopics`, fitted on the training songs only) and
    its audio features (:class:`musemood.features.AudioFeatureEncoder`:
    standardised, key/mode/time signature one-hot, missing values imputed and
    flagged) are concatenated and fed to a hidden layer and a softmax.  All
    blocks of a song are always taken from the same row.

    Parameters
    ----------
    n_topics : int or None, default=7
        LDA topics; ``None`` or 0 trains without topics.
    topic_params : dict, default=None
        Other :class:`~musemood.topics.LdaTopics` parameters.
    audio_columns : sequence of str or None, default=the 12 Spotify features
        ``None`` trains without audio (then ``X`` may be a list of texts).
    mode : {"two_stage", "joint"}, default="two_stage"
        ``"two_stage"`` as in the study: fine-tune the encoder with its own
        head, then train the tBERT head on frozen song vectors.  ``"joint"`` as
        in the original tBERT: encoder and tBERT head trained together.  In two-stage mode the
        encoder never trains on the validation songs, on which the head stops early (below
        ``min_validation_songs`` it trains all its epochs on the other songs).
    hidden_size : int, default=128
        Width of the tBERT hidden layer (its activations are :meth:`embed`).
    head_epochs, head_learning_rate, head_patience : default 100, 1e-3, 10
        Training of the head in two-stage mode (and after a contrastive step); with
        ``class_weight="balanced"`` it keeps the epoch of the best validation accuracy, as
        simple BERT's head does.
    strategy : {"auto", "finetune", "contrastive"}, default="auto"
        As in :class:`FineTunedBertClassifier`, for the text block: with ``"contrastive"`` the
        encoder is tuned on pairs of songs, then the tBERT head is trained on its frozen
        vectors ⊕ topics ⊕ audio (in either ``mode``).
    **other parameters
        As in :class:`FineTunedBertClassifier`.

    Attributes
    ----------
    topics_ : LdaTopics or None
    audio_ : AudioFeatureEncoder or None
    """

    n_topics: int | None = 7
    topic_params: dict | None = None
    audio_columns: tuple | None = schema.AUDIO_FEATURES
    mode: str = "two_stage"
    hidden_size: int = 128

    def _param_options(self):
        return {"mode": MODES}

    def fit(self, X, y) -> TBertClassifier:
        texts = self._fit_texts(X)
        targets = self._targets(y, len(texts))
        with self._seeded() as seed:
            train, valid = self._split(targets, seed)
            self.topics_ = None
            if self.n_topics:
                params = dict(self.topic_params or {})
                params.setdefault("random_state", seed)
                try:
                    self.topics_ = LdaTopics(self.n_topics, **params).fit([texts[i] for i in train])
                except ValueError as exc:  # its advice names LdaTopics' parameters: say where they go
                    raise ValueError(f"tBERT's topics on {len(train)} training songs: {exc} (through "
                                     "topic_params={'min_count': ..., 'max_df': ...}), or n_topics=None to train "
                                     "without topics") from None
            self.audio_ = None
            if self.audio_columns is not None:
                self.audio_ = AudioFeatureEncoder(columns=tuple(self.audio_columns))
                self.audio_.fit(X.iloc[train] if hasattr(X, "iloc") else X)
            extra = self._extra(X, texts)
            self.strategy_ = self._resolve_strategy(len(train))
            if self.strategy_ == "contrastive":
                self.history_ = self._contrastive_head(texts, targets, train, valid, seed, extra=extra,
                                                       hidden_size=self.hidden_size, **self._head_settings())
            elif self.mode == "joint":
                self.encoder_, self.head_, self.history_ = self._finetune(
                    texts, targets, train, valid, seed, extra=extra, head_hidden=self.hidden_size
                )
            else:
                # its validation songs stay unseen by the encoder (even when too few to stop it early):
                # the head below stops early on them
                self.encoder_, _, tuned = self._finetune(texts, targets, train, valid, seed, hold_out=True)
                features = self._join(self._encode(texts), extra)
                self.head_, head = self._train_head(features, targets, train, valid, hidden_size=self.hidden_size,
                                                    seed=seed, **self._head_settings())
                self.history_ = [dict(r, stage="fine_tuning") for r in tuned] + [
                    dict(r, stage="head") for r in head
                ]
        in_dim = self.encoder_.embedding_dim_ + (0 if extra is None else extra.shape[1])
        self.head_config_ = {"in_dim": in_dim, "n_out": self._n_outputs,
                             "hidden_size": self.hidden_size, "dropout": self.dropout}
        return self

    def embed(self, X, *, return_text_vectors=False):
        """The tBERT hidden layer's activations: one vector per song.

        With ``return_text_vectors=True`` returns ``(hidden, text_vectors)``, the second
        being the fine-tuned encoder's vectors of the lyrics, from the same encoding pass.
        """
        check_is_fitted(self, "head_")
        texts = self._texts(X)
        text_vectors = self._join(self._encode(texts), None)
        features = torch.as_tensor(self._join(text_vectors, self._extra(X, texts)), dtype=torch.float32,
                                   device=self._device())
        self.head_.eval()
        with torch.inference_mode():
            _, hidden = self.head_(features, return_hidden=True)
        hidden = hidden.cpu().numpy()
        if isinstance(X, str):
            hidden, text_vectors = hidden[0], text_vectors[0]
        return (hidden, text_vectors) if return_text_vectors else hidden

    def _head_input(self, X):
        texts = self._texts_to_predict(X)
        return self._join(self._encode(texts), self._extra(X, texts))

    def _extra(self, X, texts):
        """Topic and audio blocks, row i of each from song i."""
        blocks = []
        if self.topics_ is not None:
            blocks.append(self.topics_.transform(texts).astype(np.float32))
        if self.audio_ is not None:
            blocks.append(self.audio_.transform(self._audio_frame(X, len(texts))))
        return np.hstack(blocks).astype(np.float32) if blocks else None

    def _audio_frame(self, X, n):
        """``X`` itself, or for texts alone a frame whose audio features are missing (imputed medians)."""
        if hasattr(X, "columns"):
            return X
        logger.info("no audio features given with the texts: using the training songs' medians")
        return pd.DataFrame({c: np.full(n, np.nan) for c in self.audio_.columns})

    def _save_extra(self, path):
        if self.topics_ is not None:
            self.topics_.save(path / "topics")
        if self.audio_ is not None:
            self.audio_.save(path / "audio")
        return {"parts": {"topics": self.topics_ is not None, "audio": self.audio_ is not None}}

    def _load_extra(self, path, config):
        self.topics_ = LdaTopics.load(path / "topics") if (path / "topics").exists() else None
        found = self.topics_.lda_.num_topics if self.topics_ is not None else 0
        if (self.n_topics or 0) != found:
            raise ValueError(f"{path / 'config.json'} says n_topics={self.n_topics} but {path / 'topics'} holds "
                             f"{found} topics: the folder mixes parts of different saves or was edited; save the "
                             "model again")
        if (path / "audio").exists():
            self.audio_ = AudioFeatureEncoder.load(path / "audio")
        else:  # format 1 kept the audio encoder's state in config.json
            self.audio_ = None if config.get("audio") is None else AudioFeatureEncoder.from_dict(config["audio"])
