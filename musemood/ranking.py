"""Candidates, scores and explanations: the recommender's hybrid retrieval.

:class:`HybridRetriever` answers a query (a catalogue song, or free text with an
optional vector) with the union of the ``n_candidates`` best songs of the lexical
index for the query's keywords and the ``n_candidates`` nearest song vectors,
each candidate with its lexical score, its cosine similarity and whether it is
in the query's cluster.  :func:`combine` turns those into the rerank score;
:meth:`HybridRetriever.rank` orders candidates by one method and
:meth:`HybridRetriever.results` explains them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema
from .persistence import check_arrays, load_npy, read_config, replacing, write_config
from .retrieval import LexicalIndex, VectorIndex
from .text import clean_lyrics

METHODS = ("lexical", "embedding", "rerank")
RESULT_COLUMNS = ["rank", "title", "artist", "mood", "cluster", "score", "similarity", "lexical",
                  "shared_keywords", "why"]


def combine(cand, weights):
    """Rerank score: ``w * lexical / max(lexical) + (1 - w) * cosine + w_cluster * same_cluster``."""
    lexical = cand["lexical"]
    top = lexical.max() if len(lexical) else 0.0
    lex = lexical / top if top > 0 else lexical
    w = float(weights["lexical"])
    return w * lex + (1 - w) * cand["cosine"] + float(weights.get("cluster", 0.0)) * cand["same_cluster"]


class HybridRetriever:
    """Lexical and vector candidates over one catalogue.

    Parameters
    ----------
    lexical : LexicalIndex
        Fitted inverted index over the catalogue's lyrics.
    index : VectorIndex
        Built over the catalogue's song vectors (row i = song i).
    keywords : ndarray of shape (n_songs, n)
        Each song's keyword term ids, -1 padded.
    catalogue : SongCatalogue
    n_candidates : int, default=200
    """

    def __init__(self, lexical: LexicalIndex, index: VectorIndex, keywords: np.ndarray, catalogue,
                 n_candidates: int = 200) -> None:
        self.lexical = lexical
        self.index = index
        self.keywords = keywords
        self.catalogue = catalogue
        self.n_candidates = n_candidates
        self.neighbours = None  # see precompute_neighbours

    def precompute_neighbours(self, *, batch_size: int = 4096, show_progress_bar: bool = False) -> HybridRetriever:
        """Search every catalogue song's vector candidates now, so that a song's query reads them from a
        table (``neighbours``, one row of ``n_candidates`` song ids per song, -1 padded) instead of
        searching: the same candidates, the vector search's time off each song query (free text and a
        mood filter still search).  It took 674 s for 1M songs on two cores with HNSW (docs/benchmarks.md)
        and holds ``4 * n_candidates`` bytes a song (763 MiB at 1M songs); saved with the retriever."""
        from tqdm.auto import tqdm

        n, C = len(self.catalogue), self.n_candidates
        table = np.full((n, C), -1, dtype=np.int32 if n < 2**31 else np.int64)
        excludes = [self.catalogue.same_song(song) for song in range(n)]
        sizes = np.fromiter((len(e) for e in excludes), dtype=np.int64, count=n)
        with tqdm(total=n, desc="Neighbours", unit="song", disable=not show_progress_bar) as bar:
            for size in np.unique(sizes):  # songs with as many copies ask for as many songs
                group = np.flatnonzero(sizes == size)
                for start in range(0, len(group), batch_size):
                    songs = group[start:start + batch_size]
                    found, _ = self.index.search_many(self.vectors[songs], C + int(size))
                    for song, ids in zip(songs, found):
                        kept = _without(ids[ids >= 0], excludes[song])[:C]
                        table[song, :len(kept)] = kept
                    bar.update(len(songs))
        self.neighbours = table
        return self

    @property
    def vectors(self):
        return self.index.vectors_

    def warm_up(self) -> HybridRetriever:
        """Answer one query (candidates and their explanations) and one song search, so that a server's
        first request is not the one that compiles the lexical index's loops (numba: about a second
        without its on-disk cache) or reads the indexes' first pages; ``musemood serve`` calls it
        before it takes requests."""
        if len(self.catalogue):
            query = self.song_query(0)
            cand = self.candidates(query)
            self.results(query, cand, np.arange(min(len(cand["ids"]), 1)), {"lexical": 0.5}, as_frame=False)
            self.catalogue.search(query["title"], 1)
        return self

    # --------------------------------------------------------------- queries
    def song_query(self, song: int) -> dict:
        """The query of catalogue song ``song``: its keywords, vector and cluster; itself excluded."""
        cat = self.catalogue
        terms = self.keywords[song]
        return {"song": song, "terms": terms[terms >= 0], "vector": self.vectors[song],
                "cluster": int(cat.clusters_[song]), "exclude": cat.same_song(song),
                "title": _text_or_none(cat.songs_.at[song, schema.TITLE]),
                "artist": _text_or_none(cat.songs_.at[song, schema.ARTIST]),
                "mood": cat.mood_of(song) or None}

    def songs_query(self, songs) -> dict:
        """The query of several catalogue songs (a playlist to continue): the union of their keywords, those
        more of them share first; the mean of their vectors, made unit length again; the cluster most of
        them are in (of a tie, the first song's); their mood if they share it; each excluded with its
        re-releases.  One song gives :meth:`song_query`'s candidates (its table of neighbours aside)."""
        cat = self.catalogue
        songs = list(dict.fromkeys(int(song) for song in songs))  # each once, in order
        # the keywords by how many songs share them, ties in the songs' order (most_common is stable)
        shared = Counter(int(t) for song in songs for t in self.keywords[song] if t >= 0).most_common()
        mean = np.mean([self.vectors[song] for song in songs], axis=0, dtype=np.float64)
        norm = np.linalg.norm(mean) if len(songs) > 1 else 0.0  # one song: its own vector, bit for bit
        clusters = [int(cat.clusters_[song]) for song in songs]
        moods = {cat.mood_of(song) or None for song in songs}
        return {"song": None, "terms": np.asarray([t for t, _ in shared], dtype=np.int64),
                "vector": (mean / norm if norm > 0 else mean).astype(self.vectors.dtype),
                "cluster": max(clusters, key=clusters.count),
                "exclude": np.unique(np.concatenate([cat.same_song(song) for song in songs])),
                "title": None, "artist": None, "mood": moods.pop() if len(moods) == 1 else None,
                "songs": [{"title": _text_or_none(cat.songs_.at[song, schema.TITLE]),
                           "artist": _text_or_none(cat.songs_.at[song, schema.ARTIST])} for song in songs]}

    def text_query(self, text: str, vector) -> dict:
        """The query of free ``text``: its indexed words and ``vector`` (``None``: keywords only)."""
        counts = self.lexical.count([clean_lyrics(text)])
        terms = counts.indices.astype(np.int64)
        query = {"song": None, "terms": terms, "vector": vector, "cluster": -1, "exclude": np.empty(0, np.int64),
                 "title": None, "artist": None, "mood": None, "text": text, "note": None}
        if vector is None:
            query["note"] = "no model to embed free text: ranked by keywords only"
        elif len(self.catalogue):
            nearest, _ = self.index.search(vector, 1)
            query["cluster"] = int(self.catalogue.clusters_[nearest[0]]) if len(nearest) else -1
        if not len(terms) and vector is None:
            raise ValueError(f"none of the words of {text!r} is in the catalogue's vocabulary")
        return query

    # ------------------------------------------------------------ candidates
    def candidates(self, query: dict, mask=None) -> dict:
        """Union of lexical and vector candidates with their features."""
        C = self.n_candidates
        exclude = np.asarray(query["exclude"], dtype=np.int64)
        terms = query["terms"]
        if self.neighbours is not None and mask is None and query["song"] is not None:
            vec_ids = self.neighbours[query["song"]]
            vec_ids = vec_ids[vec_ids >= 0].astype(np.int64)
        elif query["vector"] is not None:
            vec_ids, _ = self.index.search(query["vector"], C + len(exclude), mask=mask)
            vec_ids = _without(vec_ids, exclude)[:C]
        else:
            vec_ids = np.empty(0, np.int64)
        if len(terms):
            top_ids, top_scores, vec_scores = self.lexical.search(terms, C, exclude=exclude, mask=mask,
                                                                  scores_of=vec_ids)
        else:
            top_ids, top_scores, vec_scores = np.empty(0, np.int64), np.empty(0, np.float32), 0
        ids = np.union1d(top_ids, vec_ids)
        top_pos, vec_pos = np.searchsorted(ids, top_ids), np.searchsorted(ids, vec_ids)
        lexical = np.zeros(len(ids), dtype=np.float32)
        lexical[vec_pos] = vec_scores
        lexical[top_pos] = top_scores
        in_lexical, in_vector = np.zeros(len(ids), dtype=bool), np.zeros(len(ids), dtype=bool)
        in_lexical[top_pos] = True  # positions in the sorted union (np.isin cost 0.1 ms a query)
        in_vector[vec_pos] = True
        cosine = (self.vectors[ids] @ query["vector"]) if query["vector"] is not None else np.zeros(len(ids))
        clusters = self.catalogue.clusters_
        same = (clusters[ids] == query["cluster"]) & (query["cluster"] >= 0)
        return {"ids": ids, "lexical": lexical.astype(np.float64), "cosine": cosine.astype(np.float64),
                "same_cluster": same, "in_lexical": in_lexical, "in_vector": in_vector}

    @staticmethod
    def rank(cand: dict, method: str, weights: dict) -> np.ndarray:
        """Candidate positions in ranked order under ``method`` (ties broken by song row)."""
        ids = cand["ids"]
        if method == "lexical":
            pos = np.flatnonzero(cand["in_lexical"])
            key = cand["lexical"][pos]
        elif method == "embedding":
            pos = np.flatnonzero(cand["in_vector"] | (cand["in_lexical"] & (cand["cosine"] != 0)))
            key = cand["cosine"][pos]
        else:
            pos = np.arange(len(ids))
            key = combine(cand, weights)
        order = np.lexsort((ids[pos], -key))
        return pos[order]

    # --------------------------------------------------------------- results
    def results(self, query: dict, cand: dict, order: np.ndarray, weights: dict, *, as_frame: bool = True):
        """The ranked songs with scores and a reason per song: a DataFrame (the query described in
        ``attrs["query"]``), or with ``as_frame=False`` a dict ``{"query": ..., "results": [one dict
        per song]}`` of plain Python values, ready for JSON (pandas costs more than the rest of this
        method at ten rows)."""
        cat = self.catalogue
        ids = cand["ids"][order]
        scores = combine(cand, weights)[order]
        shared = self.lexical.shared_terms(query["terms"], ids) if len(query["terms"]) else [[] for _ in ids]
        terms = self.lexical.terms_
        words = [[str(terms[t]) for t in row] for row in shared]
        clusters = cat.clusters_[ids].tolist()
        # one take per column (a pandas lookup per cell cost more than the search)
        columns = {
            "rank": np.arange(1, len(ids) + 1), "title": cat.songs_[schema.TITLE].array.take(ids).tolist(),
            "artist": cat.songs_[schema.ARTIST].array.take(ids).tolist(),
            "mood": [m or None for m in cat.mood_of(ids)], "cluster": clusters, "score": scores.astype(float),
            "similarity": cand["cosine"][order].astype(float), "lexical": cand["lexical"][order].astype(float),
            "shared_keywords": words,
            "why": [_why(w, query, cand, p, c) for w, p, c in zip(words, order, clusters)],
        }
        described = {k: query.get(k) for k in ("title", "artist", "mood", "cluster", "text", "note")}
        if "songs" in query:  # a query of several songs names them
            described["songs"] = query["songs"]
        described["keywords"] = [str(terms[t]) for t in query["terms"][:20]]
        if not as_frame:
            values = [columns[c].tolist() if isinstance(columns[c], np.ndarray) else columns[c] for c in RESULT_COLUMNS]
            return {"query": described, "results": [dict(zip(RESULT_COLUMNS, row)) for row in zip(*values)]}
        out = pd.DataFrame(columns, columns=RESULT_COLUMNS)
        out.attrs["query"] = described
        return out

    # ----------------------------------------------------------- persistence
    def save(self, path) -> Path:
        path = Path(path)
        self.lexical.save(path / "lexical")
        self.index.save(path / "vectors")
        with replacing(path / "keywords.npy") as tmp, open(tmp, "wb") as handle:
            np.save(handle, self.keywords)
        return self.save_neighbours(path)

    def save_neighbours(self, path) -> Path:
        """Write :attr:`neighbours` (or remove a table an earlier save left) and the folder's config: after
        :meth:`precompute_neighbours` on a retriever loaded from ``path``, its other files stay as they are."""
        path = Path(path)
        if self.neighbours is not None:
            with replacing(path / "neighbours.npy") as tmp, open(tmp, "wb") as handle:
                np.save(handle, self.neighbours)
        elif (path / "neighbours.npy").exists():  # a table from an earlier save would not match this one
            (path / "neighbours.npy").unlink()
        return write_config(path, self, {"n_candidates": self.n_candidates}, neighbours=self.neighbours is not None)

    @classmethod
    def load(cls, path, catalogue, *, mmap=False) -> HybridRetriever:
        path = Path(path)
        config = read_config(path, cls)
        params = config["params"]
        lexical = LexicalIndex.load(path / "lexical", mmap=mmap)
        keywords = load_npy(path / "keywords.npy", mmap=mmap)
        check_arrays(path, {"keywords": keywords}, {"keywords": ("n", "w")}, sizes={"n": lexical.n_songs_})
        if keywords.size and (keywords.dtype.kind not in "iu" or keywords.min() < -1  # term ids; -1 pads
                              or keywords.max() >= len(lexical.terms_)):
            raise ValueError(f"{path / 'keywords.npy'} names terms beyond the {len(lexical.terms_):,} of "
                             f"{path / 'lexical'}: the folder mixes files from different saves; save it again")
        retriever = cls(lexical, VectorIndex.load(path / "vectors", mmap=mmap), keywords, catalogue, **params)
        if config.get("neighbours"):
            table = load_npy(path / "neighbours.npy", mmap=mmap)
            check_arrays(path, {"neighbours": table}, {"neighbours": ("n", "c")},
                         sizes={"n": lexical.n_songs_, "c": params["n_candidates"]})
            if table.size and (table.dtype.kind not in "iu" or table.min() < -1 or table.max() >= lexical.n_songs_):
                raise ValueError(f"{path / 'neighbours.npy'} names songs beyond the {lexical.n_songs_:,} of this "
                                 "catalogue: the folder mixes files from different saves; save it again")
            retriever.neighbours = table
        return retriever


def _without(ids, exclude):
    """``ids`` less those in ``exclude`` (the query song's few rows: one comparison each beats np.isin's sort)."""
    if len(exclude) > 64:
        return ids[~np.isin(ids, exclude)]
    keep = np.ones(len(ids), dtype=bool)
    for row in exclude:
        keep &= ids != row
    return ids[keep]


def _why(words, query, cand, p, cluster):
    why = []
    if words:
        why.append("shared keywords: " + ", ".join(words[:6]))
    if query["vector"] is not None:
        why.append(f"embedding similarity {cand['cosine'][p]:.2f}")
    if cand["same_cluster"][p]:
        why.append(f"same cluster ({cluster})")
    return "; ".join(why)


def _text_or_none(value):
    """A title or artist as a string, ``None`` where the catalogue has none (not "<NA>")."""
    return None if pd.isna(value) else str(value)
