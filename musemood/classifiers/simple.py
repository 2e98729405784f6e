"""Simple BERT: a frozen encoder and an MLP trained on its song vectors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._base import SongEstimator


@dataclass(repr=False, eq=False, kw_only=True)
class SimpleBertClassifier(SongEstimator):
    """Frozen BERT encoder + MLP head (the study's first model).

    The encoder only encodes: its song vectors (mean of overlapping windows,
    see :class:`musemood.encoders.BertEncoder`) are computed once, then a
    one-hidden-layer MLP is trained on them.

    Parameters
    ----------
    encoder : BertEncoder, str or path, default=None
        The frozen encoder: a :class:`~musemood.encoders.BertEncoder` (used as it is,
        with its own pooling and window settings), a Hugging Face name or folder, or
        ``None`` for the packaged all-MiniLM-L6-v2 (offline).
    hidden_size : int, default=256
        Width of the MLP's hidden layer (0 for a linear head).
    dropout : float, default=0.1
    epochs : int, default=100
        Maximum epochs of head training (early stopping usually ends sooner).
    batch_size : int, default=32
    learning_rate : float, default=1e-3
    weight_decay : float, default=0.01
    optimizer : {"adamw", "adagrad", "sgd"}, default="adamw"
    max_grad_norm : float, default=1.0
    validation_fraction : float, default=0.1
        Share of the training songs held out for early stopping (0 to use all).
    early_stopping_patience : int or None, default=10
        Epochs without a lower validation loss before stopping; the best epoch's head is
        kept.  With ``class_weight="balanced"`` the best epoch is the one of the best
        validation accuracy, the loss breaking ties (a weighted loss on a small validation
        split stops too early; see docs/models.md).
    strategy : {"frozen", "contrastive", "auto"}, default="frozen"
        ``"frozen"``: the encoder as it is (the study's model).  ``"contrastive"``: the encoder is
        first tuned on pairs of training songs (SetFit's few-shot step, see
        :class:`FineTunedBertClassifier`), then frozen under the MLP.  ``"auto"``: contrastive
        below ``few_shot_below`` training songs, frozen above.
    few_shot_below, min_steps, contrastive_epochs, contrastive_learning_rate
        As in :class:`FineTunedBertClassifier` (used by the contrastive step only; its batches
        have ``batch_size`` songs).
    objective : {"classification", "regression"}, default="classification"
    text_column : str, default="lyrics"
        Column of a DataFrame ``X`` holding the lyrics.
    clean : bool, default=True
        Clean lyrics with :func:`musemood.text.clean_lyrics` first.
    pooling, max_length, stride, max_chunks
        As in :class:`musemood.encoders.BertEncoder` (used when ``encoder`` is a name or path).
    random_state : int, default=None
    class_weight : "balanced" or None, default=None
        ``"balanced"`` weighs each class's loss by ``n / (n_classes * count)`` in the
        training songs (for imbalanced moods).
    checkpoint_dir : str or None, default=None
        Keep a checkpoint of each training stage there after every epoch; a ``fit`` with the
        same model, settings, seed and data continues after the last epoch saved (a run killed
        after three of five epochs goes on with the fourth) and ends as an uninterrupted run.
    device : str, default=None
    show_progress_bar : bool, default=False
        Show progress bars.

    Attributes
    ----------
    classes_ : ndarray
        Label names (classification).
    encoder_ : BertEncoder
    head_ : torch.nn.Module
    history_ : list of dict
        Per-epoch ``train_loss``, ``valid_loss``, ``valid_accuracy`` (with ``class_weight="balanced"``),
        ``seconds``, ``samples_per_s``.
    """

    _strategies = ("frozen", "contrastive", "auto")

    hidden_size: int = 256
    strategy: str = "frozen"
    epochs: int = 100
    batch_size: int = 32
    learning_rate: float | None = 1e-3
    early_stopping_patience: int | None = 10

    def fit(self, X, y, *, embeddings=None) -> SimpleBertClassifier:
        """Train the head.  ``embeddings`` (n_songs x dim) skips encoding if given."""
        texts = self._fit_texts(X)
        targets = self._targets(y, len(texts))
        head = dict(hidden_size=self.hidden_size, epochs=self.epochs, learning_rate=self.learning_rate,
                    patience=self.early_stopping_patience)
        with self._seeded() as seed:
            train, valid = self._split(targets, seed)
            self.strategy_ = self._resolve_strategy(len(train))
            if self.strategy_ == "contrastive":
                if embeddings is not None:
                    raise ValueError("embeddings= are a frozen encoder's vectors: they cannot be given with "
                                     "strategy='contrastive', which tunes the encoder first")
                self.history_ = self._contrastive_head(texts, targets, train, valid, seed, **head)
            else:
                self.encoder_ = self._base_encoder()
                embeddings = self._encode(texts) if embeddings is None else embeddings
                embeddings = np.asarray(embeddings, dtype=np.float32)
                if embeddings.shape[0] != len(texts):
                    raise ValueError(f"embeddings has {embeddings.shape[0]} rows for {len(texts)} songs")
                self.head_, self.history_ = self._train_head(embeddings, targets, train, valid, seed=seed, **head)
        self.head_config_ = {"in_dim": int(self.head_.shift.shape[0]), "n_out": self._n_outputs,
                             "hidden_size": self.hidden_size, "dropout": self.dropout}
        return self

    @property
    def _label_trained_vectors(self):
        """Frozen encoder vectors are not trained on the labels; a contrastively tuned encoder's are."""
        return getattr(self, "strategy_", "frozen") == "contrastive"
