"""The neural baselines people compare transformers with: a feed-forward network on TF-IDF and an LSTM.

Both learn from the training texts alone (no pretrained weights), with the scikit-learn contract
and the training loop of the BERT models (AdamW, early stopping on a validation split, the best
epoch's weights kept, seeded):

- :class:`TfidfDnnClassifier`: TF-IDF features (scikit-learn) into a few dense layers with ReLU and
  dropout.  The first layer reads the sparse TF-IDF row directly (an ``EmbeddingBag`` weighted by
  the TF-IDF values is a linear layer over a sparse input), so 20,000 features cost no dense copy.
- :class:`LstmClassifier`: word embeddings learned from the training texts, a bidirectional LSTM
  (or GRU) over each text's first ``max_tokens`` words, max-pooled over time, then dropout and a
  linear layer.

``class_weight="balanced"`` (as for every musemood model) weighs each class's loss by
``n / (n_classes * count)``, an answer to imbalanced labels (in GoEmotions joy outnumbers fear 30 to 1).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._base import TextEstimator
from ._nn import train_loop

WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


@dataclass(repr=False, eq=False, kw_only=True)
class _TextNet(TextEstimator):
    """What the two networks share: the training loop, class weights, prediction in batches."""

    dropout: float = 0.3
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 1e-3
    early_stopping_patience: int | None = 3

    def fit(self, X, y):
        """Learn the features (vocabulary) from ``X``'s training texts and train the network."""
        texts = self._fit_texts(X)
        targets = self._targets(y, len(texts))
        with self._seeded() as seed:
            train, valid = self._split(targets, seed)
            inputs = self._fit_features([texts[i] for i in train], texts)
            self.net_ = self._make_net()
            self.history_ = self._train(inputs, targets, train, valid, seed, texts)
        return self

    def _train(self, inputs, targets, train, valid, seed, texts):
        device = self._device()
        self.net_.to(device)
        loss_fn = self._loss(targets, train, device)
        y = torch.as_tensor(targets)
        rng = np.random.default_rng(seed)

        def batches(epoch):
            order = train[rng.permutation(len(train))]
            return [(self._batch(inputs, order[i:i + self.batch_size]), y[order[i:i + self.batch_size]])
                    for i in range(0, len(order), self.batch_size)]

        def evaluate():
            total = 0.0
            with torch.no_grad():
                for start in range(0, len(valid), 256):
                    rows = valid[start:start + 256]
                    batch = {k: v.to(device) for k, v in self._batch(inputs, rows).items()}
                    total += float(loss_fn(self.net_(**batch), y[rows].to(device))) * len(rows)
            return total / len(valid)

        return train_loop(
            self.net_, batches, loss_fn, epochs=self.epochs, optimizer=self.optimizer,
            learning_rate=self.learning_rate, weight_decay=self.weight_decay, max_grad_norm=self.max_grad_norm,
            evaluate=evaluate if len(valid) else None, patience=self.early_stopping_patience, device=device,
            show_progress_bar=self.show_progress_bar, desc=type(self).__name__,
            checkpoint=self._checkpoint("net", seed, targets, train, texts),
        )

    # ------------------------------------------------------------ persistence
    def save(self, path):
        """Write the fitted model to folder ``path``: ``config.json`` (parameters, labels, history),
        ``net.safetensors`` and the features' vocabulary (JSON, ``.npy``).  Nothing is pickled."""
        from safetensors.torch import save_file

        from ..persistence import write_config

        check_is_fitted(self, "net_")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_file({k: v.detach().cpu().contiguous() for k, v in self.net_.state_dict().items()},
                  path / "net.safetensors")
        self._save_features(path)
        fingerprints = self._save_training_texts(path)
        write_config(path, self, self.get_params(deep=False), history=self.history_, **self._label_state(),
                     **fingerprints)
        return path

    @classmethod
    def load(cls, path, *, device=None):
        """Read a model written by :meth:`save`; it predicts as before saving."""
        from safetensors.torch import load_file

        from ..persistence import read_config

        path = Path(path)
        config = read_config(path, cls)
        est = cls._from_config(path, config["params"], config, device)
        est._load_features(path)
        est._load_training_texts(path, config)
        est.net_ = est._make_net()
        try:
            est.net_.load_state_dict(load_file(path / "net.safetensors"))
        except Exception as exc:  # safetensors and torch report a damaged or mismatched file in several ways
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(f"{path / 'net.safetensors'} does not fit the network {path / 'config.json'} "
                             f"describes ({first}); save the model again") from None
        est.net_.to(est._device()).eval()
        return est

    def _outputs(self, X):
        self._check_predict_input(X, "net_")
        inputs = self._features(self._texts_to_predict(X))
        device = self._device()
        self.net_.to(device).eval()
        out = []
        with torch.inference_mode():
            for start in range(0, self._n_rows(inputs), 256):
                rows = np.arange(start, min(start + 256, self._n_rows(inputs)))
                out.append(self.net_(**{k: v.to(device) for k, v in self._batch(inputs, rows).items()}).float())
        return torch.cat(out)


@dataclass(repr=False, eq=False, kw_only=True)
class TfidfDnnClassifier(_TextNet):
    """A feed-forward network on TF-IDF features (the "DNN" of DNN vs LSTM vs transformer comparisons).

    Parameters
    ----------
    hidden_sizes : tuple of int, default=(128,)
        Widths of the dense layers (each ReLU then dropout).  One layer by default: on 4,800
        GoEmotions comments (its dev split scoring) (128,) reached macro-F1 0.40 where (256, 128)
        reached 0.30 and (128, 64) 0.29: deeper stacks overfit a few thousand texts.
    max_features, min_df, ngram_range : default 20_000, 2, (1, 2)
        The TF-IDF vocabulary (scikit-learn's ``TfidfVectorizer``, sublinear TF).
    dropout : float, default=0.3
    epochs, batch_size, learning_rate, early_stopping_patience : default 20, 32, 1e-3, 3
    class_weight : "balanced" or None, default=None
    checkpoint_dir : str or None, default=None
        Checkpoints per epoch; a killed ``fit`` resumes (see :class:`musemood.SimpleBertClassifier`).
    weight_decay, optimizer, max_grad_norm, validation_fraction, objective, text_column, clean,
    random_state, device, show_progress_bar
        As in :class:`musemood.SimpleBertClassifier`.

    Attributes
    ----------
    vectorizer_ : TfidfVectorizer
    net_ : torch.nn.Module
    history_ : list of dict
    classes_ : ndarray
    """

    hidden_sizes: tuple = (128,)
    max_features: int | None = 20_000
    min_df: int = 2
    ngram_range: tuple = (1, 2)

    def _fit_features(self, train_texts, texts):
        self.vectorizer_ = self._tfidf().set_params(min_df=min(self.min_df, len(train_texts)))
        try:
            self.vectorizer_.fit(train_texts)
        except ValueError as exc:
            raise ValueError(f"no words to learn TF-IDF features from ({exc}); check the texts") from None
        return self._features(texts)

    def _features(self, texts):
        return self.vectorizer_.transform(texts).tocsr()

    def _tfidf(self, vocabulary=None):
        from sklearn.feature_extraction.text import TfidfVectorizer

        from ..retrieval import TOKEN_PATTERN

        return TfidfVectorizer(sublinear_tf=True, min_df=self.min_df, max_features=self.max_features,
                               ngram_range=tuple(self.ngram_range), token_pattern=TOKEN_PATTERN, dtype=np.float32,
                               vocabulary=vocabulary)

    def _save_features(self, path):
        (path / "terms.json").write_text(json.dumps(self.vectorizer_.get_feature_names_out().tolist()))
        np.save(path / "idf.npy", self.vectorizer_.idf_)

    def _load_features(self, path):
        from ..persistence import check_arrays, load_npy

        terms = _read_json_list(path / "terms.json")
        idf = load_npy(path / "idf.npy")
        check_arrays(path, {"terms": np.asarray(terms, dtype=object), "idf": idf}, {"terms": ("t",), "idf": ("t",)},
                     names={"terms": "terms.json"})
        self.vectorizer_ = self._tfidf({t: i for i, t in enumerate(terms)})
        self.vectorizer_.idf_ = idf

    @staticmethod
    def _n_rows(inputs):
        return inputs.shape[0]

    @staticmethod
    def _batch(inputs, rows):
        part = inputs[rows]
        return {"indices": torch.as_tensor(part.indices, dtype=torch.long),
                "offsets": torch.as_tensor(part.indptr[:-1], dtype=torch.long),
                "weights": torch.as_tensor(part.data, dtype=torch.float32)}

    def _make_net(self):
        return SparseMLP(len(self.vectorizer_.vocabulary_), tuple(self.hidden_sizes), self._n_outputs, self.dropout)


class SparseMLP(nn.Module):
    """Sparse input -> [Linear -> ReLU -> Dropout] per hidden size -> Linear."""

    def __init__(self, n_features, hidden_sizes, n_out, dropout):
        super().__init__()
        if not hidden_sizes:
            raise ValueError("hidden_sizes needs at least one layer")
        self.first = nn.EmbeddingBag(n_features, hidden_sizes[0], mode="sum")
        nn.init.xavier_uniform_(self.first.weight)  # a dense layer's start, not an embedding's N(0, 1)
        self.first_bias = nn.Parameter(torch.zeros(hidden_sizes[0]))
        layers = [nn.ReLU(), nn.Dropout(dropout)]
        for a, b in zip(hidden_sizes, hidden_sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU(), nn.Dropout(dropout)]
        layers.append(nn.Linear(hidden_sizes[-1], n_out))
        self.rest = nn.Sequential(*layers)

    def forward(self, indices, offsets, weights):
        return self.rest(self.first(indices, offsets, per_sample_weights=weights) + self.first_bias)


@dataclass(repr=False, eq=False, kw_only=True)
class LstmClassifier(_TextNet):
    """A bidirectional LSTM (or GRU) over word embeddings learned from the training texts.

    Parameters
    ----------
    cell : {"lstm", "gru"}, default="lstm"
    embedding_dim, hidden_size : int, default=128, 128
        Word vectors and recurrent state per direction.
    vocab_size, min_count : int, default=30_000, 2
        The most frequent training words seen at least ``min_count`` times; other words share
        one "unknown" vector.
    max_tokens : int, default=256
        Words read per text (the first ones).
    dropout : float, default=0.3
    epochs, batch_size, learning_rate, early_stopping_patience : default 20, 32, 3e-3, 3
        (3e-3: macro-F1 0.40 against 0.34 at 1e-3 on GoEmotions' dev split, 4,800 comments)
    class_weight, checkpoint_dir, weight_decay, optimizer, max_grad_norm, validation_fraction,
    objective, text_column, clean, random_state, device, show_progress_bar
        As in :class:`TfidfDnnClassifier`.

    Attributes
    ----------
    vocabulary_ : dict
        Word -> id (0 pads, 1 is unknown).
    net_ : torch.nn.Module
    history_ : list of dict
    classes_ : ndarray
    """

    cell: str = "lstm"
    learning_rate: float = 3e-3
    embedding_dim: int = 128
    hidden_size: int = 128
    vocab_size: int = 30_000
    min_count: int = 2
    max_tokens: int = 256

    def _param_options(self):
        return {"cell": ("lstm", "gru")}

    def _fit_features(self, train_texts, texts):
        counts = Counter(w for t in train_texts for w in WORD.findall(t.lower()))
        words = [w for w, c in counts.most_common(self.vocab_size) if c >= self.min_count]
        if not words:
            raise ValueError(f"no word occurs {self.min_count} times in the training texts; lower min_count")
        self.vocabulary_ = {w: i + 2 for i, w in enumerate(words)}
        return self._features(texts)

    def _save_features(self, path):
        words = sorted(self.vocabulary_, key=self.vocabulary_.get)
        (path / "vocabulary.json").write_text(json.dumps(words))

    def _load_features(self, path):
        words = _read_json_list(path / "vocabulary.json")
        self.vocabulary_ = {w: i + 2 for i, w in enumerate(words)}

    def _features(self, texts):
        return [np.asarray([self.vocabulary_.get(w, 1) for w in WORD.findall(t.lower())[:self.max_tokens]] or [1],
                           dtype=np.int64) for t in texts]

    @staticmethod
    def _n_rows(inputs):
        return len(inputs)

    @staticmethod
    def _batch(inputs, rows):
        seqs = [inputs[i] for i in rows]
        lengths = torch.as_tensor([len(s) for s in seqs], dtype=torch.long)
        ids = torch.zeros((len(seqs), int(lengths.max())), dtype=torch.long)
        for j, s in enumerate(seqs):
            ids[j, :len(s)] = torch.as_tensor(s)
        return {"ids": ids, "lengths": lengths}

    def _make_net(self):
        return RecurrentNet(len(self.vocabulary_) + 2, self.embedding_dim, self.hidden_size, self._n_outputs,
                            self.dropout, self.cell)


class RecurrentNet(nn.Module):
    """Embedding -> bidirectional LSTM/GRU -> max over time -> dropout -> Linear."""

    def __init__(self, n_words, embedding_dim, hidden_size, n_out, dropout, cell="lstm"):
        super().__init__()
        self.embedding = nn.Embedding(n_words, embedding_dim, padding_idx=0)
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(embedding_dim, hidden_size, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden_size, n_out)

    def forward(self, ids, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(self.drop(self.embedding(ids)), lengths.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        states, _ = self.rnn(packed)
        states, _ = nn.utils.rnn.pad_packed_sequence(states, batch_first=True, padding_value=float("-inf"))
        return self.out(self.drop(states.max(dim=1).values))


def _read_json_list(file):
    """A saved vocabulary: a JSON list of strings, else a ValueError naming the file."""
    try:
        words = json.loads(Path(file).read_text())
    except OSError as exc:
        raise FileNotFoundError(f"{file} is missing ({exc.strerror}): copy the whole folder, or save the model "
                                "again") from None
    except ValueError as exc:
        raise ValueError(f"{file} is not JSON ({exc}); save the model again") from None
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words) or len(set(words)) != len(words):
        raise ValueError(f"{file} must hold a list of distinct words; save the model again")
    return words

