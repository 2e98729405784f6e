"""Fine-tuned BERT: the encoder trained with a classification (or regression) head."""

from __future__ import annotations

from dataclasses import dataclass

from ._base import SongEstimator


@dataclass(repr=False, eq=False, kw_only=True)
class FineTunedBertClassifier(SongEstimator):
    """BERT fine-tuned end to end, in full or with LoRA (the study's second model).

    Long lyrics are split into overlapping windows (``max_length``, ``stride``);
    a song's vector is the mean of its windows' pooled vectors, in training and
    in prediction alike, and the head predicts from it.

    Training adapts to the size of the data (see docs/models.md, "Small labelled sets"):

    - ``strategy="finetune"`` trains encoder and head together for ``epochs``, raised so that
      training takes at least ``min_steps`` optimiser steps, with early stopping on a validation
      split of at least ``min_validation_songs`` songs (none below: every song trains);
    - ``strategy="contrastive"`` is the few-shot way of SetFit (Tunstall et al. 2022, "Efficient
      Few-Shot Learning Without Prompts"): the encoder is first tuned so that songs of the same
      mood have close vectors and songs of different moods distant ones (every pair of songs in a
      batch, cosine pulled towards 1 or 0), then a head is trained on its frozen vectors;
    - ``strategy="auto"`` (the default) is contrastive below ``few_shot_below`` training songs
      (classification only), fine-tuning above.

    Parameters
    ----------
    encoder : BertEncoder, str or path, default=None
        Encoder to start from: a :class:`~musemood.encoders.BertEncoder` (copied before
        training, never changed), a Hugging Face name or folder, or ``None`` for the
        packaged all-MiniLM-L6-v2.  With ``epochs=0`` it is used as it is (e.g. tBERT on
        an already fine-tuned encoder).
    epochs : int, default=4
    batch_size : int, default=16
        Songs per batch (all their windows together).
    learning_rate : float, default=None
        ``None``: 5e-5 for full fine-tuning, 5e-4 with LoRA.
    weight_decay : float, default=0.01
    optimizer : {"adamw", "adagrad", "sgd"}, default="adamw"
    warmup_ratio : float, default=0.1
        Share of the steps with a linear warm-up; the rate then decays linearly to 0.
    max_grad_norm : float, default=1.0
        Gradient clipping (0 or None to turn off).
    validation_fraction : float, default=0.1
    min_validation_songs : int or None, default=50
        Fine-tuning makes no validation split that would hold fewer songs than this
        (below 500 training songs with the default fraction): it trains for all its
        epochs on every song and keeps the last, as too few songs pick a worse epoch
        than none (see docs/models.md).  ``None`` or 0: always split.  (tBERT's two-stage
        text block leaves those songs out instead: its head stops early on them.)
    early_stopping_patience : int or None, default=2
        Epochs without a better validation loss before stopping; the best
        epoch's weights are kept.
    lora : bool, default=False
        Train low-rank adapters (peft) instead of all encoder weights.
    lora_r, lora_alpha, lora_dropout : default 8, 16, 0.1
    lora_target_modules : tuple of str, default=("query", "value")
    lora_layers : tuple of int or None, default=None
        Encoder layers to adapt (all when None).
    dropout : float, default=0.1
        Dropout before the head.
    strategy : {"auto", "finetune", "contrastive"}, default="auto"
        How the encoder is trained (see above).  The strategy a fit used is ``strategy_``.
    few_shot_below : int, default=500
        ``strategy="auto"`` is contrastive below this many training songs.
    min_steps : int or None, default=100
        Fewest optimiser steps of fine-tuning and of the contrastive step: ``epochs`` (or
        ``contrastive_epochs``) are raised to reach it on a small training set.
    contrastive_epochs : int, default=4
    contrastive_learning_rate : float, default=5e-5
        The contrastive step's epochs and learning rate (batches of ``batch_size`` songs).
    head_epochs, head_learning_rate, head_patience : default 100, 1e-3, 10
        Training of a head on frozen song vectors (after the contrastive step); with
        ``class_weight="balanced"`` it keeps the epoch of the best validation accuracy, as
        simple BERT's head does.
    objective, text_column, clean, pooling, max_length, stride, max_chunks,
    random_state, device, show_progress_bar, class_weight, checkpoint_dir
        As in :class:`SimpleBertClassifier`.
    """

    strategy: str = "auto"
    epochs: int = 4
    batch_size: int = 16
    learning_rate: float | None = None
    warmup_ratio: float = 0.1
    early_stopping_patience: int | None = 2
    min_validation_songs: int | None = 50
    lora: bool = False
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    lora_target_modules: tuple = ("query", "value")
    lora_layers: tuple | None = None
    head_epochs: int = 100
    head_learning_rate: float = 1e-3
    head_patience: int | None = 10

    def fit(self, X, y) -> FineTunedBertClassifier:
        texts = self._fit_texts(X)
        targets = self._targets(y, len(texts))
        with self._seeded() as seed:
            train, valid = self._split(targets, seed)
            self.strategy_ = self._resolve_strategy(len(train))
            if self.strategy_ == "contrastive":
                self.history_ = self._contrastive_head(texts, targets, train, valid, seed, hidden_size=None,
                                                       **self._head_settings())
            else:
                self.encoder_, self.head_, self.history_ = self._finetune(texts, targets, train, valid, seed)
        self.head_config_ = {"in_dim": self.encoder_.embedding_dim_, "n_out": self._n_outputs,
                             "hidden_size": None, "dropout": self.dropout}
        return self

    def _head_settings(self):
        """How a head on frozen song vectors trains (after the contrastive step, and tBERT's second stage)."""
        return dict(epochs=self.head_epochs, learning_rate=self.head_learning_rate, patience=self.head_patience)
