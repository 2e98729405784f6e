"""Where a recommender's song embeddings come from: a fitted classifier or a plain encoder.

:class:`SongEmbedder` wraps the model a recommender was fitted with, whichever it
is (a musemood classifier's :meth:`embed`, a :class:`~musemood.encoders.BertEncoder`,
or nothing when vectors were given), embeds songs and free text the same way, saves
the model in its own folder and loads it back lazily, once, under a lock (the first
free-text queries of several threads load it once).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema

logger = logging.getLogger(__name__)


class SongEmbedder:
    """Embed songs and free text with a recommender's model (``None``: no model, keywords only)."""

    def __init__(self, model=None):
        self._model = model
        self._source = None  # (path, kind, max_length) of a model still on disk
        self._lock = threading.Lock()

    @classmethod
    def lazy(cls, path, kind, max_length):
        """An embedder whose model loads from ``path`` on first use (``path=None``: no model)."""
        out = cls()
        out._source = None if path is None else (Path(path), kind, max_length)
        return out

    @staticmethod
    def resolve(model, max_length):
        """A usable model from a fitted classifier, a BertEncoder, a path/name, or ``None`` (the packaged one)."""
        from .encoders import BertEncoder

        if model is None or isinstance(model, (str, Path)):
            model = load_embedding_model(model, None, max_length)
        if not isinstance(model, BertEncoder) and getattr(model, "encoder_", None) is None \
                and not hasattr(model, "embed"):
            raise TypeError(f"cannot embed songs with {type(model).__name__}: give a fitted musemood classifier, "
                            "a BertEncoder, a model path, or vectors=")
        return model

    @property
    def model(self):
        if self._model is None and self._source is not None:
            with self._lock:
                if self._model is None:
                    self._model = load_embedding_model(*self._source)
        return self._model

    def term_encoder(self):
        """A function that encodes keyword terms with the model's encoder, or ``None``."""
        from .encoders import BertEncoder

        model = self.model
        encoder = model if isinstance(model, BertEncoder) else getattr(model, "encoder_", None)
        return None if encoder is None else (lambda terms: encoder.encode(terms, batch_size=256))

    def embed(self, df, texts, text_column, batch_size, show_progress_bar):
        """``(song embeddings, encoder vectors of the lyrics or None)`` for the catalogue ``df``."""
        from .encoders import BertEncoder

        model = self.model
        if isinstance(model, BertEncoder):
            vectors = model.encode(texts, batch_size=batch_size, show_progress_bar=show_progress_bar)
            return vectors, vectors
        frame = df if text_column == getattr(model, "text_column", text_column) else \
            df.drop(columns=[model.text_column], errors="ignore").rename(columns={text_column: model.text_column})
        try:
            return model.embed(frame, return_text_vectors=True)
        except TypeError:  # a model whose embed() takes no keyword
            return model.embed(frame), None

    def embed_text(self, text, vectorizer):
        """The song vector of free ``text`` (an average-sounding song), or ``None`` without a model."""
        from .encoders import BertEncoder

        model = self.model
        if model is None:
            return None
        if isinstance(model, BertEncoder):
            embedding = model.encode([text], batch_size=1)
        else:
            row = {model.text_column: [text]}
            audio = vectorizer.audio_.columns if vectorizer.audio_ is not None else ()
            for column in set(audio) | set(getattr(model, "audio_columns", None) or ()):
                row[column] = [np.nan]  # imputed medians
            embedding = model.embed(pd.DataFrame(row))
        return vectorizer.transform(embedding, None)[0]

    def save(self, path):
        """Save the model to folder ``path``; returns its kind ("encoder", "classifier") or ``None``."""
        from .encoders import BertEncoder

        model = self.model
        if model is None:
            return None
        if isinstance(model, BertEncoder):
            model.save(path)
            return "encoder"
        if hasattr(model, "save"):
            model.save(path)
            return "classifier"
        logger.warning("cannot save a %s: free-text queries need it passed again", type(model).__name__)
        return None


def map_embeddings(on, model, *, given, catalogue, embedded_here, text_vectors, texts, encoder, max_length, batch_size,
                   show_progress_bar, progress):
    """The embeddings a song map is drawn from, as ``(embeddings, on, source)``.

    ``embeddings`` is ``None`` when the map uses the song vectors themselves.  ``on`` is
    "given", "song" or "lyrics" (see ``Recommender(map_on=)``); ``source`` describes them.
    With ``on="auto"``, vectors from a model trained on the labels (tBERT, fine-tuned BERT)
    are replaced by a general-purpose encoder's vectors of the lyrics; a model's frozen
    encoder vectors are reused rather than computed again.
    """
    from .embed import catalogue_vectors, vector_folders, vectors_maker

    folders = vector_folders(given)
    if folders:  # folders from `musemood embed`, made by any one model (the map encoder's, when one is named)
        source = f"{Path(vectors_maker(folders)).name} vectors from {', '.join(map(str, folders))}"
        model = None if encoder is None else SongEmbedder.resolve(encoder, max_length)
        vectors = catalogue_vectors(catalogue, folders, model, model_option="--map-encoder; map_encoder= in Python")
        return vectors, "given", source
    if given is not None:
        from ._validation import check_matrix

        ids = catalogue.get(schema.SONG_ID)
        return check_matrix(given, "map_vectors", rows=len(texts), ids=ids), "given", "map_vectors given to fit"
    trained = getattr(model, "_label_trained_vectors", False)
    if on == "auto":
        on = "lyrics" if embedded_here and trained else "song"
    if on == "song":
        return None, "song", "the song vectors"
    if text_vectors is not None and not trained and encoder is None:
        return text_vectors, "lyrics", "the model's encoder vectors of the lyrics"
    from .encoders import BertEncoder

    encoder = SongEmbedder.resolve(encoder, max_length)
    if not isinstance(encoder, BertEncoder):
        raise TypeError(f"map_encoder must be a BertEncoder or an encoder name/path, got {type(encoder).__name__}")
    name = Path(str(encoder.model_name_or_path)).name if encoder.model_name_or_path else "all-MiniLM-L6-v2"
    progress(f"embedding lyrics for the song map with {name}")
    vectors = encoder.encode(texts, batch_size=batch_size, show_progress_bar=show_progress_bar)
    return vectors, "lyrics", f"{name} vectors of the lyrics"


def load_embedding_model(path, kind, max_length):
    """A saved musemood classifier (``kind="classifier"``), a saved encoder or an encoder name/path
    (``"encoder"``); with ``kind=None`` a folder whose config.json names a musemood classifier is one."""
    from .encoders import BertEncoder

    if kind is None and path is not None:
        from .classifiers import BERT_MODELS
        from .persistence import saved_class

        classifiers = {c.__name__ for c in BERT_MODELS.values()}
        kind = "classifier" if saved_class(path) in classifiers else "encoder"
    if kind == "classifier":
        from .classifiers import load_model

        return load_model(path)
    if path is not None and (Path(path) / "transformer").is_dir():
        return BertEncoder.load(path)
    return BertEncoder(None if path is None else str(path), max_length=max_length)
