"""Fine-tuned BERT: the encoder trained with a classification (or regression) head."""

from __future__ import annotations

from .. import schema
from ._base import SongEstimator


class FineTunedBertClassifier(SongEstimator):
    """BERT fine-tuned end to end, in full or with LoRA (the study's second model).

    Long lyrics are split into overlapping windows (``max_length``, ``stride``);
    a song's vector is the mean of its windows' pooled vectors, in training and
    in prediction alike, and the head predicts from it.

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
    objective, text_column, clean, pooling, max_length, stride, max_chunks,
    random_state, device, show_progress_bar
        As in :class:`SimpleBertClassifier`.
    """

    def __init__(
        self,
        encoder=None,
        *,
        epochs=4,
        batch_size=16,
        learning_rate=None,
        weight_decay=0.01,
        optimizer="adamw",
        warmup_ratio=0.1,
        max_grad_norm=1.0,
        validation_fraction=0.1,
        early_stopping_patience=2,
        lora=False,
        lora_r=8,
        lora_alpha=16,
        lora_dropout=0.1,
        lora_target_modules=("query", "value"),
        lora_layers=None,
        dropout=0.1,
        objective="classification",
        text_column=schema.LYRICS,
        clean=True,
        pooling="auto",
        max_length=256,
        stride="auto",
        max_chunks=None,
        random_state=None,
        device=None,
        show_progress_bar=False,
    ):
        self.encoder = encoder
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.warmup_ratio = warmup_ratio
        self.max_grad_norm = max_grad_norm
        self.validation_fraction = validation_fraction
        self.early_stopping_patience = early_stopping_patience
        self.lora = lora
        self.lora_r = lora_r
        self.lora_alpha = lora_alpha
        self.lora_dropout = lora_dropout
        self.lora_target_modules = lora_target_modules
        self.lora_layers = lora_layers
        self.dropout = dropout
        self.objective = objective
        self.text_column = text_column
        self.clean = clean
        self.pooling = pooling
        self.max_length = max_length
        self.stride = stride
        self.max_chunks = max_chunks
        self.random_state = random_state
        self.device = device
        self.show_progress_bar = show_progress_bar

    def fit(self, X, y):
        texts = self._fit_texts(X)
        targets = self._targets(y, len(texts))
        with self._seeded() as seed:
            train, valid = self._split(targets, seed)
            self.encoder_, self.head_, self.history_ = self._finetune(texts, targets, train, valid, seed)
        self.head_config_ = {"in_dim": self.encoder_.embedding_dim_, "n_out": self._n_outputs,
                             "hidden_size": None, "dropout": self.dropout}
        return self
