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
        Per-epoch ``train_loss``, ``valid_loss``, ``seconds``, ``samples_per_s``.
    """

    _label_trained_vectors = False  # a frozen encoder's vectors

    hidden_size: int = 256
    epochs: int = 100
    batch_size: int = 32
    learning_rate: float | None = 1e-3
    early_stopping_patience: int | None = 10

    def fit(self, X, y, *, embeddings=None) -> SimpleBertClassifier:
        """Train the head.  ``embeddings`` (n_songs x dim) skips encoding if given."""
        texts = self._fit_texts(X)
        targets = self._targets(y, len(texts))
        self.encoder_ = self._base_encoder()
        if embeddings is None:
            embeddings = self._encode(texts)
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.shape[0] != len(texts):
            raise ValueError(f"embeddings has {embeddings.shape[0]} rows for {len(texts)} songs")
        with self._seeded() as seed:
            train, valid = self._split(targets, seed)
            self.head_, self.history_ = self._train_head(
                embeddings, targets, train, valid, hidden_size=self.hidden_size,
                epochs=self.epochs, learning_rate=self.learning_rate,
                patience=self.early_stopping_patience, seed=seed,
            )
        self.head_config_ = {"in_dim": int(embeddings.shape[1]), "n_out": self._n_outputs,
                             "hidden_size": self.hidden_size, "dropout": self.dropout}
        return self
