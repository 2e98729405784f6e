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

import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema
from ._version import __version__
from .retrieval import LexicalIndex, VectorIndex, best_scores, embedding_keywords, top_terms
from .text import clean_lyrics, normalize_title
from .vectors import SongVectorizer

logger = logging.getLogger(__name__)

METHODS = ("lexical", "embedding", "rerank")
METHOD_NAMES = {"lexical": "lexical only", "embedding": "embeddings only", "rerank": "tuned rerank"}
_FORMAT = 1


class SongNotFoundError(LookupError):
    """No catalogue song matches the title; ``suggestions`` holds the closest titles."""

    def __init__(self, message, suggestions=()):
        super().__init__(message)
        self.suggestions = list(suggestions)


class AmbiguousTitleError(LookupError):
    """Several artists have a song with this title; pass ``artist=``. ``artists`` lists them."""

    def __init__(self, message, artists=()):
        super().__init__(message)
        self.artists = list(artists)


class Recommender:
    """Recommend songs from a catalogue by lyrics keywords and song vectors.

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
    vector_index : VectorIndex, optional
        Defaults to ``VectorIndex()`` (exact up to 50,000 songs, HNSW above).
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
                 block_weights=None, song_map="auto", vector_index=None, weights=None, tune_k=10,
                 min_title_score=90, text_column=schema.LYRICS, mood_column=schema.LABEL, max_length=256,
                 batch_size=32, random_state=0, show_progress_bar=False):
        self.scoring = scoring
        self.n_keywords = n_keywords
        self.n_embedding_keywords = n_embedding_keywords
        self.n_candidates = n_candidates
        self.block_weights = block_weights
        self.song_map = song_map
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

    # =================================================================== fit
    def fit(self, df, model=None, *, vectors=None, text_vectors=None, tune_queries=None, eval_queries=None):
        """Index the catalogue ``df`` and tune the rerank.

        Parameters
        ----------
        df : DataFrame
            One row per song with ``title``, ``artist`` and the lyrics column; audio
            features and a mood column are used when present.
        model : fitted musemood classifier, BertEncoder, model path/name, or None
            Where song embeddings come from: a classifier's :meth:`embed` (tBERT's hidden
            layer, ...), a plain encoder, or (``None``) the packaged all-MiniLM-L6-v2.
            The model is kept (and saved) to answer free-text queries.
        vectors : array, optional
            Precomputed song embeddings, one row per song.  Then ``model`` is only used
            for free-text queries (it must embed text in the same space) and may be
            ``None``: free text is then matched by keywords only.
        text_vectors : array, optional
            Encoder vectors of the lyrics for embedding keywords, with ``vectors``.
        tune_queries, eval_queries : boolean mask, index array or None
            Query songs for tuning the rerank and for :meth:`evaluate`.  By default:
            labelled songs whose ``split`` is "valid" and "test"; without a split
            column, a random half each of up to 1,000 labelled songs.  Query songs
            should be songs the model was not trained on.
        """
        started = time.perf_counter()
        df = self._check_catalogue(df)
        n = len(df)
        self._progress(f"indexing {n:,} songs")
        texts = [clean_lyrics(t) if isinstance(t, str) else "" for t in df[self.text_column]]
        if vectors is not None and len(vectors) != n:
            raise ValueError(f"vectors has {len(vectors)} rows for {n} songs; give one vector per song")
        small = n < 50  # tiny catalogues: index every term
        self.lexical_ = LexicalIndex(self.scoring, min_df=1 if small else 2, max_df=1.0 if small else 0.5)
        counts = self.lexical_.fit_transform(texts)
        tfidf = self.lexical_.tfidf(counts)
        candidates = top_terms(tfidf, max(self.n_keywords, 3 * self.n_keywords if self.n_embedding_keywords else 0))

        self.model_, encode_terms = (None, None) if vectors is not None and model is None else \
            self._resolve_model(model)
        if vectors is None:
            self._progress("embedding songs")
            vectors, text_vectors = self._embed(df, texts)
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(vectors) != n:
            raise ValueError(f"vectors has {len(vectors)} rows for {n} songs; give one vector per song")
        keywords = candidates[:, : self.n_keywords]
        if self.n_embedding_keywords and text_vectors is not None and encode_terms is not None:
            self._progress("choosing keywords with the encoder")
            extra = embedding_keywords(text_vectors, candidates, self.lexical_.terms_, encode_terms,
                                       n=self.n_embedding_keywords)
            keywords = np.hstack([keywords, extra])
        self.keywords_ = _dedupe_rows(keywords)

        self.vectorizer_ = SongVectorizer(self.block_weights).fit(df)
        self.vectors_ = self.vectorizer_.transform(vectors, df)
        self._progress("building the vector index")
        self.index_ = (self.vector_index if self.vector_index is not None else VectorIndex()).build(self.vectors_)

        self.catalogue_ = self._catalogue(df)
        self.map_ = None
        if self.song_map is not None:
            from .clustering import SongMap

            self._progress("mapping songs (UMAP + KMeans)")
            self.map_ = (SongMap(random_state=self.random_state) if self.song_map == "auto" else self.song_map)
            self.map_.fit(self.vectors_)
            self.catalogue_["cluster"] = self.map_.labels_
            self.clusters_ = self.map_.describe(counts, self.lexical_.terms_, self.catalogue_["mood"])
        else:
            self.clusters_ = None
        self._build_lookup()

        tune, evaluation = self._default_queries(df, tune_queries, eval_queries)
        self.tune_queries_, self.eval_queries_ = tune, evaluation
        if self.weights is not None:
            self.weights_ = {"lexical": float(self.weights.get("lexical", 0.5)),
                             "cluster": float(self.weights.get("cluster", 0.0))}
            self.tuning_ = {"tuned": False}
        else:
            self._progress(f"tuning the rerank on {len(tune)} query songs")
            self.weights_, self.tuning_ = self._tune(tune)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def _progress(self, message):
        logger.info(message)
        if self.show_progress_bar:
            print(f"  recommender: {message}", flush=True)

    def _check_catalogue(self, df):
        if not isinstance(df, pd.DataFrame):
            raise TypeError("the catalogue must be a pandas DataFrame with title, artist and lyrics columns")
        missing = [c for c in (schema.TITLE, schema.ARTIST, self.text_column) if c not in df.columns]
        if missing:
            raise KeyError(f"the catalogue lacks columns {missing} (has {list(df.columns)}); set text_column= "
                           "if the lyrics are in another column")
        if len(df) < 3:
            raise ValueError(f"a catalogue needs at least 3 songs, got {len(df)}")
        return df.reset_index(drop=True)

    def _resolve_model(self, model):
        """The embedding model and a function that encodes keyword terms (or None)."""
        from .encoders import BertEncoder

        if model is None or isinstance(model, (str, Path)):
            model = _load_model(model, None, self.max_length)
        encoder = model if isinstance(model, BertEncoder) else getattr(model, "encoder_", None)
        if encoder is None and not hasattr(model, "embed"):
            raise TypeError(f"cannot embed songs with {type(model).__name__}: give a fitted musemood classifier, "
                            "a BertEncoder, a model path, or vectors=")
        encode = None if encoder is None else (lambda terms: encoder.encode(terms, batch_size=256))
        return model, encode

    def _embed(self, df, texts):
        from .encoders import BertEncoder

        if isinstance(self.model_, BertEncoder):
            vectors = self.model_.encode(texts, batch_size=self.batch_size, show_progress_bar=self.show_progress_bar)
            return vectors, vectors
        frame = df if self.text_column == getattr(self.model_, "text_column", self.text_column) else \
            df.rename(columns={self.text_column: self.model_.text_column})
        try:
            return self.model_.embed(frame, return_text_vectors=True)
        except TypeError:  # a model whose embed() takes no keyword
            return self.model_.embed(frame), None

    def _catalogue(self, df):
        moods = (df[self.mood_column].astype("string") if self.mood_column in df.columns
                 else pd.Series(pd.NA, index=df.index, dtype="string"))
        out = pd.DataFrame({
            schema.TITLE: df[schema.TITLE].astype("string"),
            schema.ARTIST: df[schema.ARTIST].astype("string"),
            "mood": moods,
            "cluster": np.full(len(df), -1, dtype=np.int64),
        })
        for column in (schema.SONG_ID, schema.SPLIT):
            if column in df.columns:
                out[column] = df[column].astype("string")
        return out

    def _build_lookup(self):
        titles = np.asarray([normalize_title(t) for t in self.catalogue_[schema.TITLE].fillna("")], dtype=object)
        self._norm_artists = np.asarray([normalize_title(a) for a in self.catalogue_[schema.ARTIST].fillna("")],
                                        dtype=object)
        self._title_order = np.argsort(titles, kind="stable")
        self._sorted_titles = titles[self._title_order]
        self._norm_titles = titles
        moods = self.catalogue_["mood"]
        self._moods = moods.fillna("").to_numpy(dtype=object)
        self._labelled = moods.notna().to_numpy()
        self._clusters = self.catalogue_["cluster"].to_numpy()

    def _default_queries(self, df, tune, evaluation):
        labelled = np.flatnonzero(self._labelled)
        as_index = (lambda q: np.flatnonzero(np.asarray(q)) if np.asarray(q).dtype == bool
                    else np.asarray(q, dtype=np.int64))
        if tune is not None and evaluation is not None:
            return as_index(tune), as_index(evaluation)
        if schema.SPLIT in df.columns:
            split = df[schema.SPLIT].astype("string").fillna("").to_numpy()
            t = labelled[split[labelled] == "valid"]
            e = labelled[split[labelled] == "test"]
            if len(t) >= 20 and len(e) >= 20:
                return (as_index(tune) if tune is not None else t), (as_index(evaluation) if evaluation is not None
                                                                     else e)
        rng = np.random.default_rng(self.random_state)
        pool = rng.permutation(labelled)[:1000]
        half = len(pool) // 2
        return (as_index(tune) if tune is not None else np.sort(pool[:half]),
                as_index(evaluation) if evaluation is not None else np.sort(pool[half:]))

    # ================================================================ lookup
    def find(self, title, artist=None):
        """The catalogue row of a song by title (and artist); fuzzy, with helpful errors."""
        from rapidfuzz import fuzz, process

        self._check_fitted()
        key = normalize_title(title)
        if not key:
            raise ValueError("give a song title (or text= for a free-text query)")
        ids = self._title_ids(key)
        note = None
        if not len(ids):
            matches = process.extract(key, self._sorted_titles, scorer=fuzz.ratio, limit=5,
                                      score_cutoff=self.min_title_score)
            best = {m[0] for m in matches}
            if len(best) == 1:
                matched = matches[0][0]
                ids = self._title_ids(matched)
                note = f"no song titled {title!r}; using the closest title {self._display_title(ids[0])!r}"
            else:
                suggestions = self._suggest(key)
                hint = "; did you mean " + ", ".join(repr(s) for s in suggestions) + "?" if suggestions else ""
                raise SongNotFoundError(f"no song titled {title!r} in the catalogue{hint}", suggestions)
        if artist is not None:
            wanted = normalize_title(artist)
            scores = np.asarray([fuzz.ratio(wanted, self._norm_artists[i]) for i in ids])
            if not len(scores) or scores.max() < self.min_title_score:
                raise SongNotFoundError(
                    f"{title!r} is in the catalogue, but not by {artist!r}; artists with it: "
                    + ", ".join(sorted({str(self.catalogue_.at[i, schema.ARTIST]) for i in ids})),
                    [self._display_title(i) for i in ids])
            ids = ids[scores == scores.max()]
        artists = sorted({self._norm_artists[i] for i in ids})
        if len(artists) > 1:
            names = sorted({str(self.catalogue_.at[i, schema.ARTIST]) for i in ids})
            raise AmbiguousTitleError(
                f"{len(names)} artists have a song titled {title!r}: {', '.join(names[:10])}"
                f"{' ...' if len(names) > 10 else ''}; pass artist= (or --artist) to choose", names)
        if note:
            logger.warning(note)
        return int(ids[0]), note

    def _title_ids(self, key):
        lo = np.searchsorted(self._sorted_titles, key, side="left")
        hi = np.searchsorted(self._sorted_titles, key, side="right")
        return np.sort(self._title_order[lo:hi])

    def _display_title(self, i):
        return f"{self.catalogue_.at[i, schema.TITLE]} - {self.catalogue_.at[i, schema.ARTIST]}"

    def _suggest(self, key, limit=5):
        from rapidfuzz import fuzz, process

        found = process.extract(key, self._norm_titles, scorer=fuzz.WRatio, limit=limit * 3)
        out = []
        for _, _, i in found:
            shown = str(self.catalogue_.at[i, schema.TITLE])
            if shown not in out:
                out.append(shown)
        return out[:limit]

    # ============================================================= recommend
    def recommend(self, title=None, top_k=10, *, artist=None, text=None, mood=None, method="rerank"):
        """Songs like ``title`` (or like free ``text``), best first, as a DataFrame.

        Columns: rank, title, artist, mood, cluster, score, similarity (cosine of song
        vectors), lexical (keyword score), shared_keywords and why.  ``mood`` keeps only
        songs with that mood label.  ``method`` ranks by "rerank" (default), "lexical" or
        "embedding" alone.  The query is described in ``result.attrs["query"]``.
        """
        self._check_fitted()
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if (title is None) == (text is None):
            raise ValueError("give either a song title or text=, not both or neither")
        mask = None
        if mood is not None:
            moods = sorted({m for m in self._moods if m})
            if mood not in moods:
                raise ValueError(f"unknown mood {mood!r}; the catalogue's moods are {moods}")
            mask = self._moods == mood
        if title is not None:
            song, note = self.find(title, artist)
            query = self._song_query(song)
            query["note"] = note
        else:
            query = self._text_query(text)
        cand = self._candidates(query, mask)
        order = self._rank(cand, method)[:top_k]
        return self._results(query, cand, order)

    def _song_query(self, song):
        exclude = self._title_ids(self._norm_titles[song])
        exclude = exclude[self._norm_artists[exclude] == self._norm_artists[song]]  # re-releases of this song
        terms = self.keywords_[song]
        return {"song": song, "terms": terms[terms >= 0], "vector": self.vectors_[song],
                "cluster": int(self._clusters[song]), "exclude": exclude,
                "title": str(self.catalogue_.at[song, schema.TITLE]),
                "artist": str(self.catalogue_.at[song, schema.ARTIST]),
                "mood": self._moods[song] or None}

    def _text_query(self, text):
        cleaned = clean_lyrics(text)
        counts = self.lexical_.count([cleaned])
        terms = counts.indices.astype(np.int64)
        vector = self._embed_text(cleaned)
        query = {"song": None, "terms": terms, "vector": vector, "cluster": -1, "exclude": np.empty(0, np.int64),
                 "title": None, "artist": None, "mood": None, "text": text, "note": None}
        if vector is None:
            query["note"] = "no model to embed free text: ranked by keywords only"
        elif len(self.catalogue_):
            nearest, _ = self.index_.search(vector, 1)
            query["cluster"] = int(self._clusters[nearest[0]]) if len(nearest) else -1
        if not len(terms) and vector is None:
            raise ValueError(f"none of the words of {text!r} is in the catalogue's vocabulary")
        return query

    def _embed_text(self, text):
        from .encoders import BertEncoder

        model = self._model()
        if model is None:
            return None
        if isinstance(model, BertEncoder):
            embedding = model.encode([text], batch_size=1)
        else:
            row = {model.text_column: [text]}
            audio = self.vectorizer_.audio_.columns if self.vectorizer_.audio_ is not None else ()
            for column in set(audio) | set(getattr(model, "audio_columns", None) or ()):
                row[column] = [np.nan]  # an average-sounding song: imputed medians
            embedding = model.embed(pd.DataFrame(row))
        return self.vectorizer_.transform(embedding, None)[0]

    def _candidates(self, query, mask=None):
        """Union of lexical and vector candidates with their features."""
        C = self.n_candidates
        exclude = np.asarray(query["exclude"], dtype=np.int64)
        if len(query["terms"]):
            lex_ids, lex_scores = self.lexical_.scores(query["terms"])
        else:
            lex_ids, lex_scores = np.empty(0, np.int64), np.empty(0, np.float32)
        top_ids, _ = best_scores(lex_ids, lex_scores, C, exclude=exclude, mask=mask)
        if query["vector"] is not None:
            vec_ids, _ = self.index_.search(query["vector"], C + len(exclude), mask=mask)
            vec_ids = vec_ids[~np.isin(vec_ids, exclude)][:C]
        else:
            vec_ids = np.empty(0, np.int64)
        ids = np.union1d(top_ids, vec_ids)
        pos = np.searchsorted(lex_ids, ids)
        found = (pos < len(lex_ids)) & (lex_ids[np.minimum(pos, max(len(lex_ids) - 1, 0))] == ids) if len(lex_ids) \
            else np.zeros(len(ids), bool)
        lexical = np.where(found, lex_scores[np.minimum(pos, max(len(lex_ids) - 1, 0))] if len(lex_ids) else 0, 0.0)
        cosine = (self.vectors_[ids] @ query["vector"]) if query["vector"] is not None else np.zeros(len(ids))
        same = (self._clusters[ids] == query["cluster"]) & (query["cluster"] >= 0)
        return {"ids": ids, "lexical": lexical.astype(np.float64), "cosine": cosine.astype(np.float64),
                "same_cluster": same, "in_lexical": np.isin(ids, top_ids), "in_vector": np.isin(ids, vec_ids)}

    def _rank(self, cand, method, weights=None):
        """Candidate positions in ranked order under ``method``."""
        ids = cand["ids"]
        if method == "lexical":
            pos = np.flatnonzero(cand["in_lexical"])
            key = cand["lexical"][pos]
        elif method == "embedding":
            pos = np.flatnonzero(cand["in_vector"] | (cand["in_lexical"] & (cand["cosine"] != 0)))
            key = cand["cosine"][pos]
        else:
            pos = np.arange(len(ids))
            key = _combine(cand, weights or self.weights_)
        order = np.lexsort((ids[pos], -key))
        return pos[order]

    def _results(self, query, cand, order):
        ids = cand["ids"][order]
        scores = _combine(cand, self.weights_)[order]
        shared = self.lexical_.shared_terms(query["terms"], ids) if len(query["terms"]) else [[] for _ in ids]
        terms = self.lexical_.terms_
        rows = []
        for rank, (i, p, words) in enumerate(zip(ids, order, shared), start=1):
            words = [str(terms[t]) for t in words]
            why = []
            if words:
                why.append("shared keywords: " + ", ".join(words[:6]))
            if query["vector"] is not None:
                why.append(f"embedding similarity {cand['cosine'][p]:.2f}")
            if cand["same_cluster"][p]:
                why.append(f"same cluster ({int(self._clusters[i])})")
            rows.append({
                "rank": rank, "title": self.catalogue_.at[i, schema.TITLE], "artist": self.catalogue_.at[i, schema.ARTIST],
                "mood": self._moods[i] or None, "cluster": int(self._clusters[i]), "score": float(scores[rank - 1]),
                "similarity": float(cand["cosine"][p]), "lexical": float(cand["lexical"][p]),
                "shared_keywords": words, "why": "; ".join(why),
            })
        out = pd.DataFrame(rows, columns=["rank", "title", "artist", "mood", "cluster", "score", "similarity",
                                          "lexical", "shared_keywords", "why"])
        out.attrs["query"] = {k: query.get(k) for k in ("title", "artist", "mood", "cluster", "text", "note")}
        out.attrs["query"]["keywords"] = [str(terms[t]) for t in query["terms"][:20]]
        return out

    # ========================================================= tune/evaluate
    def _query_table(self, queries):
        """Per query: candidates within the labelled catalogue and whether each shares the mood."""
        table = []
        for q in np.asarray(queries, dtype=np.int64):
            if not self._labelled[q]:
                continue
            query = self._song_query(int(q))
            cand = self._candidates(query, mask=self._labelled)
            cand["agree"] = self._moods[cand["ids"]] == self._moods[q]
            table.append(cand)
        return table

    def _precision(self, table, method, k, weights=None):
        """Precision@k of mood agreement per query (songs missing from the top k count as misses)."""
        out = np.empty(len(table))
        for j, cand in enumerate(table):
            top = self._rank(cand, method, weights)[:k]
            out[j] = cand["agree"][top].sum() / k
        return out

    def _tune(self, queries):
        table = self._query_table(queries)
        if len(table) < 5:
            logger.warning("only %d labelled tuning queries: using equal weights, no cluster term", len(table))
            return {"lexical": 0.5, "cluster": 0.0}, {"tuned": False, "queries": len(table)}
        k = self.tune_k
        objective = lambda w_lex, w_cl: float(self._precision(  # noqa: E731
            table, "rerank", k, {"lexical": w_lex, "cluster": w_cl}).mean())
        w_lex, p_lex, trace_lex = golden_section_max(lambda w: objective(w, 0.0), 0.0, 1.0)
        if self.map_ is not None:
            w_cl, p_cl, trace_cl = golden_section_max(lambda c: objective(w_lex, c), 0.0, 1.0)
            if p_cl <= p_lex:  # the cluster term must earn its place
                w_cl, p_cl = 0.0, p_lex
        else:
            w_cl, p_cl, trace_cl = 0.0, p_lex, []
        info = {"tuned": True, "queries": len(table), "k": k, "precision": p_cl,
                "trace_lexical": trace_lex, "trace_cluster": trace_cl,
                "lexical_only": float(self._precision(table, "lexical", k).mean()),
                "embedding_only": float(self._precision(table, "embedding", k).mean())}
        logger.info("tuned weights lexical=%.3f cluster=%.3f (precision@%d %.3f on %d queries)",
                    w_lex, w_cl, k, p_cl, len(table))
        return {"lexical": float(w_lex), "cluster": float(w_cl)}, info

    def evaluate(self, queries=None, k=10):
        """Precision@k of mood agreement on held-out query songs for each method, and the random baseline.

        Returns a DataFrame (one row per method: mean, standard error, queries) whose
        ``attrs`` hold the random baseline (Σ p_mood², p over the labelled catalogue)
        and a Wilcoxon signed-rank test of the tuned rerank against lexical only.
        """
        from scipy.stats import wilcoxon

        self._check_fitted()
        queries = self.eval_queries_ if queries is None else np.asarray(queries, dtype=np.int64)
        table = self._query_table(queries)
        if not table:
            raise ValueError("no labelled query songs to evaluate on; the catalogue needs a mood column")
        shares = pd.Series(self._moods[self._labelled]).value_counts(normalize=True)
        baseline = float((shares**2).sum())
        rows, per_query = [], {}
        for method in METHODS:
            p = self._precision(table, method, k)
            per_query[method] = p
            rows.append({"method": METHOD_NAMES[method], f"precision@{k}": float(p.mean()),
                         "stderr": float(p.std(ddof=1) / math.sqrt(len(p))) if len(p) > 1 else float("nan"),
                         "queries": len(p)})
        rows.append({"method": "random (Σ p²)", f"precision@{k}": baseline, "stderr": float("nan"),
                     "queries": len(table)})
        out = pd.DataFrame(rows)
        diff = per_query["rerank"] - per_query["lexical"]
        p_value = float(wilcoxon(diff).pvalue) if np.any(diff != 0) else 1.0
        out.attrs.update({"k": k, "random_baseline": baseline, "wilcoxon_rerank_vs_lexical": p_value,
                          "weights": dict(self.weights_), "moods": shares.round(4).to_dict()})
        return out

    # ================================================================= plots
    def plot_map(self, out_dir):
        """Write the k sweep and the 2-D map by mood and by cluster as PNG files; returns their paths."""
        self._check_fitted()
        if self.map_ is None:
            raise ValueError("this recommender has no song map (fitted with song_map=None)")
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        if len(self.map_.sweep_):
            paths.append(self.map_.plot_k_sweep(out / "k_sweep.png"))
        paths.append(self.map_.plot_map(out / "map_mood.png", self.catalogue_["mood"].astype(object),
                                        title="Song map by mood"))
        paths.append(self.map_.plot_map(out / "map_cluster.png", self._clusters, title="Song map by cluster"))
        return paths

    # =========================================================== persistence
    def save(self, path, *, include_model=True):
        """Write the recommender to folder ``path`` (no pickles: JSON, NumPy, Parquet, faiss, safetensors)."""
        self._check_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.lexical_.save(path / "lexical")
        self.index_.save(path / "vectors")
        np.save(path / "keywords.npy", self.keywords_)
        self.catalogue_.to_parquet(path / "catalogue.parquet", index=False)
        np.save(path / "tune_queries.npy", self.tune_queries_)
        np.save(path / "eval_queries.npy", self.eval_queries_)
        model_kind = None
        if include_model and self.model_ is not None:
            model_kind = _save_model(self.model_, path / "model")
        if self.map_ is not None:
            (path / "map").mkdir(exist_ok=True)
            np.save(path / "map" / "map_2d.npy", self.map_.map_2d_)
            np.save(path / "map" / "plot_index.npy", self.map_.plot_index_)
            self.map_.sweep_.to_csv(path / "map" / "k_sweep.csv", index=False)
            self.clusters_.to_json(path / "map" / "clusters.json", orient="records", indent=1)
        config = {
            "format": _FORMAT, "musemood": __version__,
            "params": {k: getattr(self, k) for k in ("scoring", "n_keywords", "n_embedding_keywords", "n_candidates",
                                                     "block_weights", "weights", "tune_k", "min_title_score",
                                                     "text_column", "mood_column", "max_length", "batch_size",
                                                     "random_state")},
            "weights_": self.weights_, "tuning_": self.tuning_, "vectorizer": self.vectorizer_.to_dict(),
            "model": model_kind, "fit_seconds": self.fit_seconds_,
            "map": None if self.map_ is None else {
                "n_clusters": int(self.map_.n_clusters_), "choice": self.map_.choice_,
                "elbow": getattr(self.map_, "elbow_", None),
                "best_silhouette_k": getattr(self.map_, "best_silhouette_k_", None)},
        }
        (path / "recommender.json").write_text(json.dumps(config, indent=1, default=_json_default))
        return path

    @classmethod
    def load(cls, path, *, mmap=False):
        """Load a recommender saved by :meth:`save`; the model loads on the first free-text query."""
        path = Path(path)
        config_path = path / "recommender.json"
        if not config_path.exists():
            raise FileNotFoundError(f"{path} holds no saved recommender (no recommender.json); fit one with "
                                    "Recommender().fit(df, model).save(path) or run `musemood demo`")
        config = json.loads(config_path.read_text())
        if config.get("format") != _FORMAT:
            raise ValueError(f"{path} was saved in recommender format {config.get('format')}; this musemood "
                             f"reads format {_FORMAT}: fit and save it again")
        rec = cls(song_map=None, **config["params"])
        rec.lexical_ = LexicalIndex.load(path / "lexical")
        rec.index_ = VectorIndex.load(path / "vectors", mmap=mmap)
        rec.vectors_ = rec.index_.vectors_
        rec.keywords_ = np.load(path / "keywords.npy")
        rec.catalogue_ = pd.read_parquet(path / "catalogue.parquet")
        for column in rec.catalogue_.columns:
            if column != "cluster":
                rec.catalogue_[column] = rec.catalogue_[column].astype("string")
        rec.tune_queries_ = np.load(path / "tune_queries.npy")
        rec.eval_queries_ = np.load(path / "eval_queries.npy")
        rec.weights_, rec.tuning_ = config["weights_"], config["tuning_"]
        rec.vectorizer_ = SongVectorizer.from_dict(config["vectorizer"])
        rec.fit_seconds_ = config.get("fit_seconds")
        rec.model_ = None
        rec._model_path = path / "model" if config.get("model") else None
        rec._model_kind = config.get("model")
        rec.map_, rec.clusters_ = None, None
        if config.get("map"):
            from .clustering import SongMap

            rec.map_ = SongMap()
            rec.map_.n_clusters_ = config["map"]["n_clusters"]
            rec.map_.choice_ = config["map"]["choice"]
            rec.map_.elbow_ = config["map"].get("elbow")
            rec.map_.best_silhouette_k_ = config["map"].get("best_silhouette_k")
            rec.map_.labels_ = rec.catalogue_["cluster"].to_numpy()
            rec.map_.map_2d_ = np.load(path / "map" / "map_2d.npy")
            rec.map_.plot_index_ = np.load(path / "map" / "plot_index.npy")
            rec.map_.sweep_ = pd.read_csv(path / "map" / "k_sweep.csv")
            rec.clusters_ = pd.read_json(path / "map" / "clusters.json", orient="records")
        rec._build_lookup()
        return rec

    def _model(self):
        if getattr(self, "model_", None) is None and getattr(self, "_model_path", None) is not None:
            self.model_ = _load_model(self._model_path, self._model_kind, self.max_length)
        return self.model_

    def _check_fitted(self):
        if not hasattr(self, "index_"):
            raise ValueError("this Recommender is not fitted: call fit(df, model) or Recommender.load(path)")

    def __repr__(self):
        if not hasattr(self, "index_"):
            return "Recommender(unfitted)"
        clusters = self.map_.n_clusters_ if self.map_ is not None else 0
        return (f"Recommender({len(self.catalogue_):,} songs, {len(self.lexical_.terms_):,} terms, "
                f"{self.index_.backend_} vector search, {clusters} clusters, weights {self.weights_})")


def _combine(cand, weights):
    lexical = cand["lexical"]
    top = lexical.max() if len(lexical) else 0.0
    lex = lexical / top if top > 0 else lexical
    w = float(weights["lexical"])
    return w * lex + (1 - w) * cand["cosine"] + float(weights.get("cluster", 0.0)) * cand["same_cluster"]


def golden_section_max(f, lo, hi, *, grid=11, tol=0.01, max_iter=30):
    """Maximise ``f`` on [lo, hi]: a coarse grid, then golden-section search around its best point.

    The objectives here (precision@k) are step functions of the weights, so a plain
    golden-section search could stop on a flat step; the grid brackets the best region
    first.  Returns ``(x, f(x), trace)`` with ``trace`` the (x, f(x)) pairs evaluated.
    """
    trace = []

    def g(x):
        value = float(f(x))
        trace.append((round(float(x), 5), value))
        return value

    xs = np.linspace(lo, hi, grid)
    values = [g(x) for x in xs]
    best = int(np.argmax(values))
    a, b = xs[max(best - 1, 0)], xs[min(best + 1, grid - 1)]
    invphi = (math.sqrt(5) - 1) / 2
    c, d = b - invphi * (b - a), a + invphi * (b - a)
    fc, fd = g(c), g(d)
    for _ in range(max_iter):
        if abs(b - a) < tol:
            break
        if fc >= fd:
            b, d, fd = d, c, fc
            c = b - invphi * (b - a)
            fc = g(c)
        else:
            a, c, fc = c, d, fd
            d = a + invphi * (b - a)
            fd = g(d)
    x_best, f_best = max(trace, key=lambda t: (t[1], -abs(t[0] - xs[best])))
    return float(x_best), float(f_best), trace


def _dedupe_rows(keywords):
    """Drop repeated term ids within each row (keeping the first), -1 padded."""
    out = np.full_like(keywords, -1)
    for i, row in enumerate(keywords):
        seen = list(dict.fromkeys(int(t) for t in row if t >= 0))
        out[i, :len(seen)] = seen
    return out


def _save_model(model, path):
    from .encoders import BertEncoder

    if isinstance(model, BertEncoder):
        model.model_.save_pretrained(path)
        model.tokenizer_.save_pretrained(path)
        return "encoder"
    if hasattr(model, "save"):
        model.save(path)
        return "classifier"
    logger.warning("cannot save a %s: free-text queries need it passed again", type(model).__name__)
    return None


def _load_model(path, kind, max_length):
    """A saved musemood classifier (``kind="classifier"``) or an encoder name/path (``"encoder"``);
    with ``kind=None`` a folder whose config.json names a musemood class is a classifier."""
    from .encoders import BertEncoder

    if kind is None and path is not None:
        config = Path(path) / "config.json"
        kind = "classifier" if config.exists() and "class" in json.loads(config.read_text()) else "encoder"
    if kind == "classifier":
        from .classifiers import load_model

        return load_model(path)
    return BertEncoder(None if path is None else str(path), max_length=max_length, stride=max_length // 4)


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# ====================================================== the default recommender
_DEFAULT = {}


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


def get_recommender(path=None):
    """The recommender :func:`recommend` uses: loaded once from ``path`` (default :func:`default_path`).

    With no saved recommender there, the demo one is built (a minute or two on 2 cores) and saved.
    """
    path = Path(path) if path is not None else default_path()
    key = str(path.resolve())
    if key not in _DEFAULT:
        if (path / "recommender.json").exists():
            _DEFAULT[key] = Recommender.load(path)
        else:
            logger.warning("no recommender at %s: building the demo one (the demo corpus and the packaged "
                           "encoder); `musemood demo` builds one on tBERT", path)
            _DEFAULT[key] = build_demo_recommender(path=path)
    return _DEFAULT[key]


def recommend(title=None, top_k=10, *, artist=None, text=None, mood=None, recommender=None):
    """Songs that feel like ``title`` (or like free ``text``), best first.

    Uses ``recommender`` (a :class:`Recommender` or a folder it was saved to), else the
    one saved under ``$MUSEMOOD_HOME/recommender`` (``musemood demo`` writes it), else
    builds the demo one.  See :meth:`Recommender.recommend` for the columns.

    >>> recommend("Summer Lights")                                       # doctest: +SKIP
    >>> recommend(text="songs about summer nights", mood="happy")        # doctest: +SKIP
    """
    rec = recommender if isinstance(recommender, Recommender) else get_recommender(recommender)
    return rec.recommend(title, top_k, artist=artist, text=text, mood=mood)
