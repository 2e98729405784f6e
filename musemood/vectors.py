"""Song vectors for the map and the recommender: embedding ⊕ audio ⊕ key/mode/time signature.

A song vector joins three blocks, each scaled to unit size and then by its weight:

- ``embedding``: the model's song embedding (tBERT's hidden layer, a BERT encoder's
  vector, ...), divided by its L2 norm;
- ``audio``: the continuous audio features standardised on the catalogue (a missing
  value becomes the median), divided by the square root of their number, so the block's
  expected norm is 1;
- ``categorical``: one-hot key, mode and time signature, divided by the square root of
  the number of categorical features (a song with all three known has norm 1).

The joined vector is L2-normalised, so the inner product of two song vectors is their
cosine similarity and a block's weight is its share of that similarity.
"""

from __future__ import annotations

import numpy as np

from . import schema
from .features import AudioFeatureEncoder

DEFAULT_WEIGHTS = {"embedding": 1.0, "audio": 0.5, "categorical": 0.25}


class SongVectorizer:
    """Join embeddings and audio features into unit song vectors.

    Parameters
    ----------
    weights : dict, default={"embedding": 1.0, "audio": 0.5, "categorical": 0.25}
        Weight per block; a block with weight 0 is left out.
    audio_columns : "auto", list or None, default="auto"
        ``"auto"``: the 12 Spotify features when the catalogue has them all, else none.
    """

    def __init__(self, weights=None, audio_columns="auto"):
        self.weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
        unknown = set(self.weights) - set(DEFAULT_WEIGHTS)
        if unknown:
            raise ValueError(f"unknown blocks {sorted(unknown)}; blocks are {sorted(DEFAULT_WEIGHTS)}")
        for block, value in self.weights.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
                raise ValueError(f"block weight {block!r} must be a finite number >= 0, got {value!r}")
        self.audio_columns = audio_columns

    def fit(self, df):
        """Learn the audio features' medians, means and scales from the catalogue ``df``."""
        from .features import resolve_audio_columns

        columns = resolve_audio_columns(df, self.audio_columns) if df is not None else None
        self.audio_ = None
        if columns and (self.weights.get("audio", 0) or self.weights.get("categorical", 0)):
            categorical = [c for c in columns if c in schema.CATEGORICAL_AUDIO_FEATURES]
            self.audio_ = AudioFeatureEncoder(columns=tuple(columns), categorical=tuple(categorical)).fit(df)
        return self

    def transform(self, embeddings, df=None, *, chunk_rows=65_536):
        """Song vectors (float32, unit rows) from ``embeddings`` and, if fitted with audio, ``df``.

        Computed ``chunk_rows`` songs at a time into one output array: memory beyond the
        input and the output stays bounded however large the catalogue.
        """
        n = len(embeddings)
        if n <= chunk_rows:
            return self._transform(embeddings, df)
        out = None
        for start in range(0, n, chunk_rows):
            stop = min(start + chunk_rows, n)
            part = self._transform(embeddings[start:stop], None if df is None else df.iloc[start:stop])
            if out is None:
                out = np.empty((n, part.shape[1]), dtype=np.float32)
            out[start:stop] = part
        return out

    def _transform(self, embeddings, df):
        emb = np.asarray(embeddings, dtype=np.float32)
        blocks = [self.weights.get("embedding", 1.0) * _unit(emb)]
        if self.audio_ is not None:
            audio, categorical = self._audio_blocks(df, len(emb))
            if self.weights.get("audio", 0) and audio.shape[1]:
                blocks.append(self.weights["audio"] * audio / np.sqrt(audio.shape[1]))
            if self.weights.get("categorical", 0) and categorical.shape[1]:
                blocks.append(self.weights["categorical"] * categorical / np.sqrt(len(self.audio_.categorical_)))
        return _unit(np.hstack(blocks).astype(np.float32))

    def _audio_blocks(self, df, n):
        if df is None:  # a free-text query: an average song (standardised zeros, no known key)
            n_cat = sum(len(v) for v in self.audio_.categories_.values())
            return np.zeros((n, len(self.audio_.continuous_)), np.float32), np.zeros((n, n_cat), np.float32)
        encoded = self.audio_.transform(df)
        n_cont = len(self.audio_.continuous_)
        return encoded[:, :n_cont], encoded[:, n_cont:-1]  # the last column is the missing share

    def to_dict(self):
        return {"weights": self.weights, "audio_columns": self.audio_columns,
                "audio": None if self.audio_ is None else self.audio_.to_dict()}

    @classmethod
    def from_dict(cls, state):
        out = cls(weights=state["weights"], audio_columns=state["audio_columns"])
        out.audio_ = None if state["audio"] is None else AudioFeatureEncoder.from_dict(state["audio"])
        return out


def _unit(x):
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)
