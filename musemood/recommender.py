"""Songs that feel alike: TF-IDF/BM25 candidates reranked with song vectors.

How a query song is answered (the study's recommender, made to scale):

1. **Keywords**: the song's top TF-IDF terms, plus terms chosen by the encoder
   (its top TF-IDF terms ranked by the similarity of their encoder vectors to
   the song's encoder vector, as KeyBERT does).  Both are computed when the
   recommender is fitted.
2. **Candidates**: the ``n_candidates`` songs that score best for those
   keywords in the inverted index (one sparse product), together with the
   ``n_candidates`` nearest song vectors (exact search, or an HNSW index for
   large catalogues).
3. **Rerank**: ``score = w_lex * lexical / max(lexical) + (1 - w_lex) * cosine
   + w_cluster * [same cluster]``, with ``w_lex`` and ``w_cluster`` tuned by
   golden-section search for the mood agreement of the top ``tune_k`` songs on
   validation query songs, and saved with the recommender.

A song vector is the model's embedding joined with the song's audio features
(:mod:`musemood.vectors`); clusters come from the song map
(:mod:`musemood.clustering`).

>>> from musemood import recommend                               # doctest: +SKIP
>>> recommend("Summer Lights", top_k=5)                          # doctest: +SKIP
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema
from .catalogue import AmbiguousTitleError, SongCatalogue, SongNotFoundError, check_catalogue_frame, check_lyrics
from ._validation import check_matrix, check_top_k
from .persistence import check_arrays, load_npy, read_config, verify_tree, write_config
from .ranking import METHODS, HybridRetriever
from .rerank import (METHOD_NAMES, RerankTuner, default_queries, golden_section_max, trained_among, trained_queries,
                     trained_songs)
from .retrieval import LexicalIndex, VectorIndex, embedding_keywords, top_terms
from .text import clean_lyrics, clean_texts
from .embed import catalogue_vectors, vector_folders
from .embedding import SongEmbedder, map_embeddings
from .vectors import SongVectorizer

logger = logging.getLogger(__name__)

__all__ = ["AmbiguousTitleError", "METHODS", "METHOD_NAMES", "Recommender", "SongNotFoundError",
           "get_recommender", "golden_section_max", "recommend"]


#: The file of a saved recommender with the rows of the catalogue songs its model trained on (``trained_songs_``).
TRAINED_SONGS = "trained_songs.npy"
#: The parameters a saved recommender's config.json keeps (``song_map``, ``vector_index`` and
#: ``map_encoder`` are saved as parts, or not at all).
_SAVED_PARAMS = ("scoring", "n_keywords", "n_embedding_keywords", "n_candidates", "block_weights", "map_on", "weights",
                 "tune_k", "min_title_score", "text_column", "mood_column", "max_length", "batch_size", "random_state")


class Recommender:
    """Recommend songs from a catalogue by lyrics keywords and song vectors.

    A façade over four parts, each its own component: the song catalogue
    (:class:`~musemood.catalogue.SongCatalogue`: lookup by title), the hybrid
    retriever (:class:`~musemood.ranking.HybridRetriever`: candidates, scores,
    explanations), the song map (:class:`~musemood.clustering.SongMap`) and the tuner
    (:class:`~musemood.rerank.RerankTuner`: weights and evaluation).

    Parameters
    ----------
    scoring : {"tfidf", "bm25"}, default="tfidf"
        Lexical scoring of the inverted index (the study used TF-IDF).
    n_keywords : int, default=10
        Top TF-IDF terms per song used as query keywords.
    n_embedding_keywords : int, default=5
        Extra keywords chosen by the encoder among the song's top 3 x ``n_keywords``
        TF-IDF terms (0 turns this off; needs a model with an encoder).
    n_candidates : int, default=200
        Candidates from each retriever before the rerank.
    block_weights : dict, optional
        Weights of the song-vector blocks (see :class:`musemood.vectors.SongVectorizer`).
    song_map : SongMap, "auto" or None, default="auto"
        The map whose clusters feed the rerank; ``None`` fits none (no cluster term).
    map_on : {"auto", "lyrics", "song"}, default="auto"
        The vectors the map is fitted on (joined with the audio blocks): ``"song"`` the
        ranking song vectors; ``"lyrics"`` a general-purpose encoder's vectors of the
        lyrics; ``"auto"`` lyrics when the song vectors come from a model trained on the
        labels (whose map would only split the labels again), else song.
    map_encoder : BertEncoder, model name/path or None
        The encoder of ``map_on="lyrics"``; ``None``: the packaged all-MiniLM-L6-v2.  Given with
        ``map_vectors`` folders, the model they must have been computed by.
    vector_index : VectorIndex, optional
        Defaults to ``VectorIndex()`` (exact up to 50,000 songs, IVF with float16 codes above).
    weights : dict, optional
        ``{"lexical": w, "cluster": c}`` to skip tuning; by default they are tuned.
    tune_k : int, default=10
        k of the precision@k that tuning maximises.
    min_title_score : float, default=90
        Smallest rapidfuzz ratio (0-100) at which a misspelt title is accepted.
    text_column, mood_column : str, default="lyrics", "label"
    max_length, batch_size : encoder settings used when the model is a plain encoder.
    random_state : int, default=0
    show_progress_bar : bool, default=False
    """

    def __init__(self, *, scoring="tfidf", n_keywords=10, n_embedding_keywords=5, n_candidates=200,
                 block_weights=None, song_map="auto", map_on="auto", map_encoder=None, vector_index=None,
                 weights=None, tune_k=10, min_title_score=90, text_column=schema.LYRICS, mood_column=schema.LABEL,
                 max_length=256, batch_size=32, random_state=0, show_progress_bar=False):
        self.scoring = scoring
        self.n_keywords = n_keywords
        self.n_embedding_keywords = n_embedding_keywords
        self.n_candidates = n_candidates
        self.block_weights = block_weights
        self.song_map = song_map
        self.map_on = map_on
        self.map_encoder = map_encoder
        self.vector_index = vector_index
        self.weights = weights
        self.tune_k = tune_k
        self.min_title_score = min_title_score
        self.text_column = text_column
        self.mood_column = mood_column
        self.max_length = max_length
        self.batch_size = batch_size
        self.random_state = random_state
        self.show_progress_bar = show_progress_bar

    # the parts' state, under the names the recommender has always had
    lexical_ = property(lambda self: self.retriever_.lexical)
    index_ = property(lambda self: self.retriever_.index)
    vectors_ = property(lambda self: self.retriever_.vectors)
    keywords_ = property(lambda self: self.retriever_.keywords)

    # =================================================================== fit
    def fit(self, df: pd.DataFrame, model=None, *, vectors=None, text_vectors=None, map_vectors=None,
            tune_queries=None, eval_queries=None) -> Recommender:
        """Index the catalogue ``df`` and tune the rerank.

        Parameters
        ----------
        df : DataFrame
            One row per song with ``title``, ``artist`` and the lyrics column; audio
            features and a mood column are used when present.  Songs without lyrics are
            refused, unless ``vectors`` is an array (see docs/recommender.md).
        model : fitted musemood classifier, BertEncoder, model path/name, or None
            Where song embeddings come from: a classifier's :meth:`embed` (tBERT's hidden
            layer, ...), a plain encoder, or (``None``) the packaged all-MiniLM-L6-v2.
            The model is kept (and saved) to answer free-text queries.
        vectors : array, folder or list of folders, optional
            Precomputed song embeddings, one row per song, or ``musemood embed`` folders (by song id;
            a later folder's vector wins).  Then ``model`` only embeds free-text queries (in the same
            space) and may be ``None``: free text is then keywords only.
        text_vectors : array, optional
            Encoder vectors of the lyrics for embedding keywords, with ``vectors``.
        map_vectors : array, folder or list of folders, optional
            Precomputed vectors for the song map, one row per song, or folders as ``vectors`` of any
            one model (``map_encoder``'s if given); joined with the audio blocks, they override ``map_on``.
        tune_queries, eval_queries : boolean mask, index array or None
            Query songs for tuning the rerank and for :meth:`evaluate`.  By default:
            labelled songs whose ``split`` is "valid" and "test"; without a split
            column, a random half each of up to 1,000 labelled songs.  Query songs
            should be songs the model was not trained on: with a model that trained on the labels
            (tBERT, fine-tuned BERT), ``trained_queries_`` counts those it did (a warning says so);
            ``trained_songs_``: the rows of all the catalogue songs it trained on, for :meth:`evaluate`.
        """
        started = time.perf_counter()
        _check_params(self)
        df = check_catalogue_frame(df, self.text_column)
        n = len(df)
        texts = clean_texts(df[self.text_column])  # songs without lyrics are refused before a model loads
        check_lyrics(df, texts, self.text_column, vectors_given=vectors is not None and not vector_folders(vectors))
        self.embedder_ = SongEmbedder(None if vectors is not None and model is None else
                                      SongEmbedder.resolve(model, self.max_length))
        if vector_folders(vectors):  # folders of parts from `musemood embed`, for the model just loaded
            vectors = catalogue_vectors(df, vectors, self.embedder_.model, text_column=self.text_column)
        self._progress(f"indexing {n:,} songs")
        small = n < 50  # tiny catalogues: index every term
        lexical = LexicalIndex(self.scoring, min_df=1 if small else 2, max_df=1.0 if small else 0.5)
        counts = _index_lyrics(lexical, texts, self.text_column)

        embedded_here = vectors is None
        if vectors is None:
            self._progress("embedding songs")
            vectors, text_vectors = self.embedder_.embed(df, texts, self.text_column, self.batch_size,
                                                         self.show_progress_bar)
        encode_terms = self.embedder_.term_encoder()
        vectors = check_matrix(vectors, "vectors", rows=n, ids=df.get(schema.SONG_ID))
        keywords = _song_keywords(lexical, counts, text_vectors, encode_terms, self.n_keywords,
                                  self.n_embedding_keywords, self._progress)

        self.vectorizer_ = SongVectorizer(self.block_weights).fit(df)
        song_vectors = self.vectorizer_.transform(vectors, df)
        self._progress("building the vector index")
        index = (self.vector_index if self.vector_index is not None else VectorIndex()).build(song_vectors)
        self.catalogue_ = SongCatalogue(min_title_score=self.min_title_score, mood_column=self.mood_column).fit(df)
        self.retriever_ = HybridRetriever(lexical, index, keywords, self.catalogue_, self.n_candidates)
        self._fit_map(self._map_input(df, texts, song_vectors, text_vectors, map_vectors, embedded_here),
                      counts, lexical.terms_)

        self.tune_queries_, self.eval_queries_ = default_queries(
            self.catalogue_.labelled_, df.get(schema.SPLIT), tune_queries, eval_queries, self.random_state)
        self.trained_songs_ = trained_songs(self.embedder_.model, df[self.text_column], texts)
        self.trained_queries_ = trained_queries(self.trained_songs_, self.tune_queries_,
                                                self.eval_queries_)  # songs the model trained on, said
        if self.weights is not None:
            self.weights_ = _check_weights(self.weights)
            self.tuning_ = {"tuned": False}
        else:
            self._progress(f"tuning the rerank on {len(self.tune_queries_)} query songs")
            self.weights_, self.tuning_ = self._tuner().tune(self.tune_queries_, cluster_term=self.map_ is not None)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def _map_input(self, df, texts, song_vectors, text_vectors, given, embedded_here):
        """The vectors the song map is fitted on (see ``map_on``); sets ``map_on_`` and ``map_source_``."""
        self.map_on_, self.map_source_ = None, None
        if self.song_map is None:
            return None
        embeddings, self.map_on_, self.map_source_ = map_embeddings(
            self.map_on, self.embedder_.model, given=given, catalogue=df, embedded_here=embedded_here,
            text_vectors=text_vectors, texts=texts, encoder=self.map_encoder, max_length=self.max_length,
            batch_size=self.batch_size, show_progress_bar=self.show_progress_bar, progress=self._progress)
        return song_vectors if embeddings is None else self.vectorizer_.transform(embeddings, df)

    def _fit_map(self, X, counts, terms):
        self.map_, self.clusters_ = None, None
        if self.song_map is None:
            return
        from .clustering import SongMap

        self._progress(f"mapping songs (UMAP + KMeans on {self.map_source_})")
        self.map_ = SongMap(random_state=self.random_state) if self.song_map == "auto" else self.song_map
        self.map_.fit(X)
        self.catalogue_.set_clusters(self.map_.labels_)
        self.clusters_ = self.map_.describe(counts, terms, self.catalogue_.songs_["mood"])

    def _tuner(self):
        return RerankTuner(self.retriever_, self.tune_k)

    def _progress(self, message):
        logger.info(message)
        if self.show_progress_bar:
            print(f"  recommender: {message}", flush=True)

    # ================================================================ lookup
    def find(self, title: str, artist: str | None = None) -> tuple[int, str | None]:
        """The catalogue row of a song by title (and artist); fuzzy, with helpful errors."""
        self._check_fitted()
        return self.catalogue_.find(title, artist)

    # ============================================================= recommend
    def recommend(self, title: str | None = None, top_k: int = 10, *, artist: str | None = None,
                  text: str | None = None, songs: Sequence | None = None, mood: str | None = None,
                  method: str = "rerank", as_frame: bool = True) -> pd.DataFrame | dict:
        """Songs like ``title``, like free ``text`` or like several ``songs`` (a playlist to continue: titles
        or ``(title, artist)`` pairs), best first, as a DataFrame; each song once (of the copies of a
        re-released song, same title and artist, the best ranked), the query's songs left out.

        Columns: rank, title, artist, mood, cluster, score, similarity (cosine of song
        vectors), lexical (keyword score), shared_keywords and why.  ``mood`` keeps only
        songs with that mood label.  ``method`` ranks by "rerank" (default), "lexical" or
        "embedding" alone.  The query is described in ``result.attrs["query"]``.
        ``as_frame=False`` returns ``{"query": ..., "results": [...]}`` instead, one dict of
        plain Python values per song (what ``musemood serve`` sends; no pandas on the way).
        """
        self._check_fitted()
        cleaned, seeds = _check_query(title, artist, text, songs, top_k, method)
        mask = self.catalogue_.mood_mask(mood)
        query = _query(self, seeds if title is None else [(title, artist)], text, cleaned)
        cand = self.retriever_.candidates(query, mask)
        ranked = self.retriever_.rank(cand, method, self.weights_)
        order = ranked[self.catalogue_.first_of_each_song(cand["ids"][ranked], top_k)]  # a re-release once
        if len(order) < top_k:  # say why the list is short
            query["note"] = _fewer_note(query.get("note"), len(order), top_k, mood, method, self.n_candidates)
        return self.retriever_.results(query, cand, order, self.weights_, as_frame=as_frame)

    def recommend_many(self, queries: Sequence, top_k: int = 10, *, mood=None, method="rerank",
                       as_frame=True) -> list:
        """:meth:`recommend` for a batch: one DataFrame per query (a dict with ``as_frame=False``), in order.

        Each query is a title, a ``(title, artist)`` pair, or a dict of :meth:`recommend`'s
        arguments (``{"text": "summer nights"}``, ``{"title": ..., "artist": ..., "mood": "sad"}``);
        arguments a dict gives win over the batch's.
        """
        if isinstance(queries, (str, bytes, dict)) or not hasattr(queries, "__iter__"):
            raise TypeError("recommend_many takes a list of queries (titles, (title, artist) pairs or dicts); "
                            "for one query use recommend()")
        arguments = {"top_k": top_k, "mood": mood, "method": method, "as_frame": as_frame}
        batch = [_batch_query(position, query) for position, query in enumerate(queries)]  # all before any search
        return [self.recommend(**{**arguments, **query}) for query in batch]

    # ========================================================= tune/evaluate
    def evaluate(self, queries=None, top_k: int = 10) -> pd.DataFrame:
        """Precision@k of mood agreement on held-out query songs for each method, and the random baseline.

        Returns a DataFrame (one row per method: mean, standard error, queries) whose ``attrs`` hold the
        random baseline (Σ p_mood², p over the labelled catalogue), a Wilcoxon signed-rank test of the tuned
        rerank against lexical only and how many query songs the model trained on (see :meth:`fit`),
        ``trained_queries``: ``{"tune": n, "eval": n}``, or ``{"eval": n}`` for ``queries`` of your own.
        """
        self._check_fitted()
        given = None if queries is None else np.asarray(queries, dtype=np.int64)
        trained = self.trained_queries_ if given is None else trained_among(self.trained_songs_, given)
        queries = self.eval_queries_ if given is None else given
        if check_top_k(top_k) > self.n_candidates:  # the songs missing from the top k count as misses
            raise ValueError(f"top_k={top_k} is more than the {self.n_candidates} candidates each query ranks "
                             f"(n_candidates), so precision@{top_k} could not reach 1: evaluate with top_k of "
                             f"{self.n_candidates} or fewer")
        return self._tuner().evaluate(queries, self.weights_, top_k, trained=trained)

    # ================================================================= plots
    def plot_map(self, out_dir: str | Path) -> list[Path]:
        """Write the k sweep and the 2-D map by mood and by cluster as PNG files; returns their paths."""
        self._check_fitted()
        if self.map_ is None:
            raise ValueError("this recommender has no song map (fitted with song_map=None)")
        return self.map_.plot_all(out_dir, self.catalogue_.songs_["mood"])

    # =========================================================== persistence
    def save(self, path: str | Path, *, include_model: bool = True) -> Path:
        """Write the recommender to folder ``path``: its parts' folders and ``config.json``; no pickles."""
        self._check_fitted()
        path = Path(path)
        self.catalogue_.save(path / "catalogue")
        self.retriever_.save(path / "retriever")
        np.save(path / "tune_queries.npy", self.tune_queries_)
        np.save(path / "eval_queries.npy", self.eval_queries_)
        _save_or_remove(path / TRAINED_SONGS, self.trained_songs_)
        model_kind = self.embedder_.save(path / "model") if include_model else None
        if self.map_ is not None:
            self.map_.save(path / "map")
            self.clusters_.to_json(path / "clusters.json", orient="records", indent=1)
        params = {k: getattr(self, k) for k in _SAVED_PARAMS}
        write_config(path, self, params, weights_=self.weights_, tuning_=self.tuning_,
                     vectorizer=self.vectorizer_.to_dict(), model=model_kind, fit_seconds=self.fit_seconds_,
                     has_map=self.map_ is not None, map_on_=self.map_on_, map_source_=self.map_source_,
                     trained_queries_=self.trained_queries_)
        return path

    @classmethod
    def load(cls, path: str | Path, *, mmap: bool = False) -> Recommender:
        """Load a recommender saved by :meth:`save`; the model loads on the first free-text query.
        ``mmap=True`` maps the large arrays from their files (processes loading one folder share them;
        a save over the folder replaces the files, so a mapped recommender answers as before)."""
        path = Path(path)
        config = _read_saved_config(path, cls)
        where = path / "config.json"
        try:
            rec = _check_params(cls(song_map=None, **config["params"]), where)
            rec.weights_ = _check_weights(config["weights_"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}" if str(where) not in str(exc) else str(exc)) from None
        rec.catalogue_ = SongCatalogue.load(path / "catalogue", mmap=mmap)
        rec.retriever_ = HybridRetriever.load(path / "retriever", rec.catalogue_, mmap=mmap)
        rec.tune_queries_, rec.eval_queries_, rec.trained_songs_ = _read_rows(path, len(rec.catalogue_))
        if config.get("model"):  # loaded on the first free-text query: its files are checked now
            verify_tree(path / "model")
        rec.tuning_ = config["tuning_"]
        rec.vectorizer_ = SongVectorizer.from_dict(config["vectorizer"])
        rec.fit_seconds_ = config.get("fit_seconds")
        rec.embedder_ = SongEmbedder.lazy(path / "model" if config.get("model") else None, config.get("model"),
                                          rec.max_length)
        rec.map_, rec.clusters_ = None, None
        rec.map_on_, rec.map_source_, rec.trained_queries_ = map(config.get, ("map_on_", "map_source_",
                                                                              "trained_queries_"))
        if config.get("has_map"):
            from .clustering import SongMap

            rec.map_ = SongMap.load(path / "map")
            rec.clusters_ = pd.read_json(path / "clusters.json", orient="records")
        _check_parts(rec, path)
        return rec

    @property
    def model_(self):
        """The embedding model (a classifier or an encoder), loaded on first use after :meth:`load`."""
        return self.embedder_.model

    def _check_fitted(self):
        if not hasattr(self, "retriever_"):
            raise ValueError("this Recommender is not fitted: call fit(df, model) or Recommender.load(path)")

    def __repr__(self):
        if not hasattr(self, "retriever_"):
            return "Recommender(unfitted)"
        clusters = self.map_.n_clusters_ if self.map_ is not None else 0
        return (f"Recommender({len(self.catalogue_):,} songs, {len(self.lexical_.terms_):,} terms, "
                f"{self.index_.backend_} vector search, {clusters} clusters, weights {self.weights_})")


def _save_or_remove(file, array):
    """Save ``array`` to ``file``, or remove an earlier save's ``file`` when ``array`` is ``None``."""
    if array is None:
        file.unlink(missing_ok=True)
    else:
        np.save(file, array)


def _read_rows(path, n):
    """The tuning and evaluation query rows of a saved recommender and the rows of the songs its model trained
    on (``None`` when not saved: not known, or saved before 2026-12-07), checked against its ``n`` songs."""
    rows = {"tune_queries": load_npy(path / "tune_queries.npy"), "eval_queries": load_npy(path / "eval_queries.npy"),
            "trained_songs": load_npy(path / TRAINED_SONGS) if (path / TRAINED_SONGS).exists() else None}
    check_arrays(path, rows, {"tune_queries": ("q",), "eval_queries": ("e",), "trained_songs": ("t",)},
                 sizes={"n": n}, bounds=dict.fromkeys(rows, "n"))
    return rows["tune_queries"], rows["eval_queries"], rows["trained_songs"]


def _read_saved_config(path, cls):
    """The config.json of a saved recommender, with a clear error for an old format or no recommender."""
    if (path / "recommender.json").exists() and not (path / "config.json").exists():
        raise ValueError(f"{path} holds a recommender saved by an older musemood (format 1, recommender.json); "
                         "this version reads format 2: run `musemood demo` again, or fit and save it again")
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path} holds no saved recommender (no config.json); fit one with "
                                "Recommender().fit(df, model).save(path) or run `musemood demo`")
    return read_config(path, cls)


def _check_parts(rec, path):
    """The parts must describe the same songs: one row each in the catalogue, vectors, keywords, map.

    (The query rows are checked against the catalogue where they are read, in :meth:`Recommender.load`.)
    """
    n = len(rec.catalogue_)
    rows = {"retriever/vectors/vectors.npy": len(rec.vectors_), "retriever/keywords.npy": len(rec.keywords_),
            "retriever/lexical (postings)": rec.lexical_.postings_.shape[1]}
    if rec.map_ is not None:
        rows["map/labels.npy"] = len(rec.map_.labels_)
    for name, count in rows.items():
        if count != n:
            raise ValueError(f"{Path(path) / name} has {count:,} songs but {Path(path) / 'catalogue'} has "
                             f"{n:,}: the folder mixes parts of different recommenders; save it again")
    trained = rec.trained_queries_
    if trained is not None and not (isinstance(trained, dict) and set(trained) == {"tune", "eval"} and all(
            isinstance(trained[k], int) and 0 <= trained[k] <= len(q)
            for k, q in (("tune", rec.tune_queries_), ("eval", rec.eval_queries_)))):
        raise ValueError(f"{Path(path) / 'config.json'}: trained_queries_ must be null or how many tuning and "
                         f"evaluation query songs the model trained on, {{\"tune\": n, \"eval\": n}}, got "
                         f"{trained!r}; save the recommender again")


def _check_params(rec, where=None):
    """Every parameter's type and range; ``where`` names the config.json they came from."""
    from ._validation import check_params
    from .retrieval import SCORINGS

    check_params(rec, where, options={"scoring": SCORINGS, "map_on": schema.MAP_ON}, types=_PARAM_TYPES)
    if rec.tune_k > rec.n_candidates:
        raise ValueError(f"{where or 'Recommender'}: tune_k={rec.tune_k} is more than n_candidates="
                         f"{rec.n_candidates}, the songs each query ranks: the rerank would be tuned on a precision "
                         "it cannot reach; lower tune_k or raise n_candidates")
    if rec.weights is not None:
        try:
            _check_weights(rec.weights)
        except ValueError as exc:
            raise ValueError(f"{where or 'Recommender'}: weights: {exc}") from None
    return rec


_PARAM_TYPES = {"scoring": "str", "n_keywords": "int", "n_embedding_keywords": "int", "n_candidates": "int",
                "tune_k": "int", "min_title_score": "float", "text_column": "str", "mood_column": "str | None",
                "max_length": "int", "batch_size": "int", "random_state": "int | None", "weights": "dict | None",
                "block_weights": "dict | None", "map_on": "str"}


def _fewer_note(note, found, top_k, mood, method, n):
    """Why a recommendation lists fewer songs than ``top_k`` asked (after the query's own note, if any)."""
    pool = {"lexical": f"its {n} best keyword matches", "embedding": f"its {n} nearest songs"}.get(
        method, f"its {n} best keyword matches and {n} nearest songs")
    fewer = (f"{found} songs, fewer than the {top_k} asked: a query ranks {pool}"
             f"{f' with the mood {mood!r}' if mood is not None else ''}, a re-released song once; a recommender "
             "fitted with a larger n_candidates ranks more")
    return f"{note}; {fewer}" if note else fewer


def _check_query(title, artist, text, songs, top_k, method):
    """The arguments of :meth:`Recommender.recommend`, checked before any search; returns the cleaned
    ``text`` (``None`` for a title), which the check reads and the embedding needs, and ``songs`` as
    ``(title, artist)`` pairs (``None`` without them)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    check_top_k(top_k)
    if sum(value is not None for value in (title, text, songs)) != 1:
        raise ValueError("give one of a song title, text= or songs=, not " + (
            "several" if title is not None or text is not None or songs is not None else "none"))
    if artist is not None and title is None:
        raise ValueError(f"artist= narrows a song title; with {'text' if songs is None else 'songs'}= it has "
                         "nothing to narrow (leave it out" + (", or give (title, artist) pairs)" if songs else ")"))
    for name, value in (("title", title), ("artist", artist), ("text", text)):
        if value is not None and not isinstance(value, str):  # 5 was searched as the title "5"
            raise TypeError(f"{name} must be a string, got {type(value).__name__} {value!r}")
    cleaned = None if text is None else clean_lyrics(text)
    if cleaned is not None and not re.search(r"\w", cleaned):  # its vector would rank songs at random
        raise ValueError(f"the text {text!r} has no words to search by: describe the songs you want")
    return cleaned, None if songs is None else _check_songs(songs)


def _check_songs(songs):
    """``songs=`` of :meth:`Recommender.recommend` as a list of ``(title, artist)`` pairs (artist ``None``)."""
    if isinstance(songs, (str, bytes, dict)) or not hasattr(songs, "__iter__"):
        raise TypeError(f"songs= takes a list of titles or (title, artist) pairs, got {type(songs).__name__} "
                        f"{songs!r}; for one song give its title")
    pairs = []
    for position, song in enumerate(songs):
        pair = (song, None) if isinstance(song, str) else tuple(song) if isinstance(song, (tuple, list)) else ()
        if len(pair) != 2 or not isinstance(pair[0], str) or not isinstance(pair[1], (str, type(None))):
            raise TypeError(f"songs[{position}] is {type(song).__name__} {song!r}: give a title or a (title, "
                            "artist) pair of strings")
        pairs.append(pair)
    if not pairs:
        raise ValueError("songs= is empty: give the titles of the songs the recommendations should feel like")
    return pairs


def _query(rec, songs, text, cleaned):
    """The retriever's query of :meth:`Recommender.recommend`: of free ``text`` (``songs`` ``None``), of
    one song, or of several (its note says which misspelt titles were read as which)."""
    if songs is None:
        return rec.retriever_.text_query(text, rec.embedder_.embed_text(cleaned, rec.vectorizer_))
    found = [rec.catalogue_.find(title, artist) for title, artist in songs]
    retriever = rec.retriever_
    query = retriever.song_query(found[0][0]) if len(found) == 1 else retriever.songs_query([s for s, _ in found])
    query["note"] = "; ".join(note for _, note in found if note) or None
    return query


_QUERY_KEYS = ("title", "artist", "text", "songs", "mood", "top_k", "method", "as_frame")


def _batch_query(position, query):
    """A query of :meth:`Recommender.recommend_many` as ``recommend``'s keyword arguments."""
    if isinstance(query, str):
        return {"title": query}
    if isinstance(query, (tuple, list)) and len(query) == 2:
        return {"title": query[0], "artist": query[1]}
    if not isinstance(query, dict):
        raise TypeError(f"query {position} is {type(query).__name__} {query!r}: give a title, a (title, artist) "
                        "pair or a dict of recommend()'s arguments")
    unknown = sorted(set(query) - set(_QUERY_KEYS), key=str)
    if unknown:
        raise TypeError(f"query {position} has unknown keys {unknown}; a query dict takes {', '.join(_QUERY_KEYS)}")
    return query


def _check_weights(weights):
    """``weights`` as floats: ``lexical`` in [0, 1], ``cluster`` ≥ 0, both finite; else a clear error."""
    if not isinstance(weights, dict):
        raise ValueError(f"rerank weights must be a dict like {{'lexical': 0.5, 'cluster': 0.1}}, got {weights!r}")
    unknown = set(weights) - {"lexical", "cluster"}
    if unknown:
        raise ValueError(f"unknown rerank weights {sorted(unknown)}; give 'lexical' (0-1) and 'cluster' (>= 0)")
    out = {"lexical": weights.get("lexical", 0.5), "cluster": weights.get("cluster", 0.0)}
    for name, value in out.items():
        try:
            out[name] = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"rerank weight {name!r} must be a number, got {value!r}") from None
    if not 0.0 <= out["lexical"] <= 1.0 or not np.isfinite(out["cluster"]) or out["cluster"] < 0:
        raise ValueError(f"rerank weights must have 0 <= lexical <= 1 and a finite cluster >= 0, got {weights!r}")
    return out


def _song_keywords(lexical, counts, text_vectors, encode_terms, n_keywords, n_embedding_keywords, progress):
    """Each song's top TF-IDF terms, plus terms chosen by the encoder (KeyBERT-style) when it can."""
    n_terms = max(n_keywords, 3 * n_keywords if n_embedding_keywords else 0)
    rows = 65_536  # a block of songs at a time: the sort in top_terms needs ~40 bytes per non-zero
    candidates = np.vstack([top_terms(lexical.tfidf(counts[start:start + rows]), n_terms)
                            for start in range(0, counts.shape[0], rows)] or [np.empty((0, n_terms), np.int64)])
    keywords = candidates[:, :n_keywords]
    if n_embedding_keywords and text_vectors is not None and encode_terms is not None:
        progress("choosing keywords with the encoder")
        extra = embedding_keywords(text_vectors, candidates, lexical.terms_, encode_terms, top_k=n_embedding_keywords)
        keywords = np.hstack([keywords, extra])
    return _dedupe_rows(keywords)


def _dedupe_rows(keywords):
    """Drop repeated term ids within each row (keeping the first), -1 padded; vectorised."""
    keywords = np.asarray(keywords)
    order = np.argsort(keywords, axis=1, kind="stable")  # equal ids side by side, first occurrence first
    ranked = np.take_along_axis(keywords, order, axis=1)
    repeat = np.zeros(keywords.shape, dtype=bool)
    np.put_along_axis(repeat, order, np.pad(ranked[:, 1:] == ranked[:, :-1], ((0, 0), (1, 0))), axis=1)
    keep = (keywords >= 0) & ~repeat
    front = np.argsort(~keep, axis=1, kind="stable")  # kept ids to the front, in their order
    return np.take_along_axis(np.where(keep, keywords, -1), front, axis=1)


# ====================================================== the default recommender
_DEFAULT: dict[tuple[str, bool], Recommender] = {}
_DEFAULT_LOCK = threading.Lock()


def _index_lyrics(lexical, texts, text_column):
    """``lexical.fit_transform(texts)``; with no words to index, an error that names the column, how many
    songs have no text, and what to do."""
    try:
        return lexical.fit_transform(texts)
    except ValueError as exc:
        empty = sum(not text.strip() for text in texts)
        raise ValueError(f"the catalogue's {text_column!r} column: {empty:,} of its {len(texts):,} songs have no text "
                         f"({exc}); the recommender finds candidates by their lyrics' keywords: fill the lyrics "
                         "(`musemood scrape lyrics`), or name the column that holds them with text_column=") from None


def default_path():
    """Where :func:`recommend` looks for a saved recommender: ``$MUSEMOOD_HOME/recommender``."""
    from .config import home

    return home() / "recommender"


def build_demo_recommender(n_songs=2000, *, path=None, show_progress_bar=True):
    """Fit a recommender on the demo corpus with the packaged encoder (no training) and save it."""
    from .datasets import drop_duplicate_songs, load_demo

    df = drop_duplicate_songs(load_demo(n_songs, random_state=0))
    rec = Recommender(max_length=128, show_progress_bar=show_progress_bar).fit(df)
    rec.save(path or default_path())
    return rec


def get_recommender(path: str | Path | None = None, *, mmap: bool = False, reload: bool = False) -> Recommender:
    """The recommender :func:`recommend` uses: loaded once from ``path`` (default :func:`default_path`),
    or again with ``reload`` (a recommender saved over it since).

    With no saved recommender at the default path, the demo one is built (a minute or two on 2
    cores) and saved; a ``path`` given explicitly must hold one.  ``mmap`` is :meth:`Recommender.load`'s.
    """
    explicit = path is not None
    path = Path(path) if path is not None else default_path()
    key = (str(path.resolve()), bool(mmap))
    with _DEFAULT_LOCK:
        saved = (path / "config.json").exists() or (path / "recommender.json").exists()
        if key not in _DEFAULT or (reload and saved):  # a failed load keeps the one loaded before
            if saved:
                _DEFAULT[key] = Recommender.load(path, mmap=mmap)
            elif explicit:
                raise FileNotFoundError(f"{path} holds no saved recommender (no config.json); check the path, "
                                        "or fit one with `musemood map --data FILE --recommender PATH`")
            else:
                logger.warning("no recommender at %s: building the demo one (the demo corpus and the packaged "
                               "encoder); `musemood demo` builds one on tBERT", path)
                _DEFAULT[key] = build_demo_recommender(path=path)
        return _DEFAULT[key]


def recommend(title: str | None = None, top_k: int = 10, *, artist: str | None = None, text: str | None = None,
              songs: Sequence | None = None, mood: str | None = None,
              recommender: Recommender | str | Path | None = None) -> pd.DataFrame:
    """Songs that feel like ``title`` (or like free ``text``, or like several ``songs``), best first.

    Uses ``recommender`` (a :class:`Recommender` or a folder it was saved to), else the
    one saved under ``$MUSEMOOD_HOME/recommender`` (``musemood demo`` writes it), else
    builds the demo one.  See :meth:`Recommender.recommend` for the columns.

    >>> recommend("Summer Lights")                                       # doctest: +SKIP
    >>> recommend(text="songs about summer nights", mood="happy")        # doctest: +SKIP
    >>> recommend(songs=["Summer Lights", ("Night Drive", "The Vans")])  # doctest: +SKIP
    """
    rec = recommender if isinstance(recommender, Recommender) else get_recommender(recommender)
    return rec.recommend(title, top_k, artist=artist, text=text, songs=songs, mood=mood)
