"""The keyword side of retrieval: :class:`LexicalIndex`, an inverted index over cleaned lyrics (a
sparse term-by-song matrix, scipy CSR, one row of postings per term) weighted by BM25 or TF-IDF, and
:func:`top_terms`, each song's highest-weighted terms.  A query is a handful of keywords, so scoring
touches only the postings of those terms, added up by a compiled loop (numba, :mod:`musemood._kernels`)
that keeps the best songs in a heap; nothing loops over all songs or sorts the songs a query touches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..persistence import check_arrays, load_npy, load_npz, read_config, replacing, write_config
from ..text import lyric_stop_words

SCORINGS = ("tfidf", "bm25")
TOKEN_PATTERN = r"(?u)\b[^\W\d_][^\W\d_']+\b"


class LexicalIndex:
    """Inverted index over song lyrics with BM25 or TF-IDF scoring.

    Parameters
    ----------
    scoring : {"tfidf", "bm25"}, default="tfidf"
        ``"tfidf"``: a song's weights are sublinear TF x smoothed IDF, L2-normalised,
        and a keyword query is an IDF-weighted unit vector, so the score is a cosine.
        ``"bm25"``: Okapi BM25 weights (Lucene's IDF, ``k1``, ``b``), query terms weigh 1.
    k1, b : float, default=1.2, 0.75
        BM25 term-frequency saturation and length normalisation.
    min_df, max_df : int or float, default=2, 0.5
        Terms in fewer songs (count) or in a larger share of songs are not indexed.
    ngram_range : tuple, default=(1, 1)
        Word n-grams to index, as in scikit-learn's ``CountVectorizer``.
    stop_words : "lyrics", "english", list or None, default="lyrics"
        ``"lyrics"``: scikit-learn's English list with sung sounds ("la", "oh", "yeah") and the
        pieces a contraction leaves ("won", "don", "ll"; :func:`musemood.text.lyric_stop_words`).
    max_features : int or None, default=None
        Keep only the most frequent terms.

    Attributes
    ----------
    terms_ : ndarray of str
        The indexed terms; a term's id is its position.
    postings_ : scipy.sparse.csr_matrix of shape (n_terms, n_songs)
        Term weights per song (row t holds the songs that contain term t).
    idf_ : ndarray
        Inverse document frequency per term under the chosen scoring.
    """

    def __init__(self, scoring="tfidf", *, k1=1.2, b=0.75, min_df=2, max_df=0.5, ngram_range=(1, 1),
                 stop_words="lyrics", max_features=None):
        if scoring not in SCORINGS:
            raise ValueError(f"scoring must be one of {SCORINGS}, got {scoring!r}")
        self.scoring = scoring
        self.k1 = k1
        self.b = b
        self.min_df = min_df
        self.max_df = max_df
        self.ngram_range = tuple(ngram_range)
        self.stop_words = stop_words
        self.max_features = max_features

    # ----------------------------------------------------------------- build
    def _vectorizer(self, vocabulary=None, *, prune=True):
        from sklearn.feature_extraction.text import CountVectorizer

        prune = prune and vocabulary is None
        return CountVectorizer(
            lowercase=True, token_pattern=TOKEN_PATTERN, ngram_range=self.ngram_range,
            stop_words=list(lyric_stop_words()) if self.stop_words == "lyrics" else self.stop_words,
            min_df=self.min_df if prune else 1, max_df=self.max_df if prune else 1.0,
            max_features=self.max_features if prune else None, vocabulary=vocabulary, dtype=np.float32,
        )

    def fit_transform(self, texts, *, chunk_size=100_000):
        """Index ``texts``; return their term counts (songs x terms, CSR) for further use.

        Texts are counted ``chunk_size`` at a time over a vocabulary that grows chunk by chunk,
        then pruned (``min_df``, ``max_df``, ``max_features``) and sorted: the counts and terms
        of scikit-learn's ``CountVectorizer`` (ties at the ``max_features`` cut are broken
        alphabetically), without its one-pass intermediates, whose peak was several times the
        counts at a million songs.
        """
        texts = texts if isinstance(texts, list) else list(texts)
        vocabulary, parts = {}, []
        for start in range(0, len(texts), chunk_size):
            chunk = texts[start:start + chunk_size]
            vectorizer = self._vectorizer(prune=False)
            try:
                counts = vectorizer.fit_transform(chunk)
                names = vectorizer.get_feature_names_out()
            except ValueError:  # no words in this chunk
                counts, names = sp.csr_matrix((len(chunk), 0), dtype=np.float32), []
            ids = np.fromiter((vocabulary.setdefault(t, len(vocabulary)) for t in names), np.int64, len(names))
            parts.append((counts.data, ids[counts.indices], counts.indptr))
        terms = np.asarray(list(vocabulary), dtype=object)
        keep = self._kept_terms(parts, terms, len(texts))
        terms = terms[keep]
        order = np.argsort(terms, kind="stable")  # scikit-learn's alphabetical term ids
        new_id = np.full(len(vocabulary), -1, dtype=np.int32)
        new_id[keep[order]] = np.arange(len(keep), dtype=np.int32)
        self.terms_ = terms[order]
        counts = _join_parts(parts, new_id, len(texts), len(keep))
        self._index(counts)
        return counts

    def _kept_terms(self, parts, terms, n_texts):
        """Ids of the ``terms`` (in first-seen order) that pass min_df, max_df and max_features."""
        n_terms = len(terms)
        df = np.zeros(n_terms, dtype=np.int64)
        tf = np.zeros(n_terms, dtype=np.float64)
        for data, ids, _ in parts:
            df[:ids.max(initial=-1) + 1] += np.bincount(ids)
            tf[:ids.max(initial=-1) + 1] += np.bincount(ids, weights=data)
        if not n_terms:
            raise ValueError("no terms to index: the lyrics are empty or only stop words")
        high = self.max_df if isinstance(self.max_df, (int, np.integer)) else self.max_df * n_texts
        low = self.min_df if isinstance(self.min_df, (int, np.integer)) else self.min_df * n_texts
        keep = np.flatnonzero((df >= low) & (df <= high))
        if self.max_features is not None and len(keep) > self.max_features:
            alphabetical = np.argsort(np.argsort(terms[keep], kind="stable"))
            keep = np.sort(keep[np.lexsort((alphabetical, -tf[keep]))[:self.max_features]])
        if not len(keep):
            raise ValueError(f"no terms left to index after pruning (min_df={self.min_df}, max_df={self.max_df}); "
                             "lower min_df for tiny catalogues")
        return keep

    def fit(self, texts):
        """Index ``texts`` (one cleaned lyric per song)."""
        self.fit_transform(texts)
        return self

    @classmethod
    def from_counts(cls, counts, terms, **params):
        """An index over a ready songs x terms count matrix (e.g. from another tokenizer)."""
        index = cls(**params)
        index.terms_ = np.asarray(terms, dtype=object)
        index._index(sp.csr_matrix(counts, dtype=np.float32))
        return index

    def _index(self, counts):
        n_songs, n_terms = counts.shape
        df = np.bincount(counts.indices, minlength=n_terms).astype(np.float64)
        self.n_songs_ = n_songs
        self.tfidf_idf_ = np.log((1 + n_songs) / (1 + df)) + 1.0  # scikit-learn's smoothed IDF
        if self.scoring == "bm25":
            self.idf_ = np.log1p((n_songs - df + 0.5) / (df + 0.5))
            lengths = np.asarray(counts.sum(axis=1)).ravel()
            self.avg_length_ = float(lengths.mean()) if n_songs else 0.0
        else:
            self.idf_ = self.tfidf_idf_
            self.avg_length_ = None
        self.postings_ = self.weigh(counts).T.tocsr()
        self.postings_.sort_indices()
        self._set_term_ids()

    def _set_term_ids(self):
        self._term_ids = {t: i for i, t in enumerate(self.terms_)}
        self._query_vectorizer = None  # made on the first free-text query (see count)

    def weigh(self, counts):
        """Weights of a songs x terms count matrix under this index's scoring."""
        w = sp.csr_matrix(counts, dtype=np.float32, copy=True)
        tf = w.data
        if self.scoring == "bm25":
            lengths = np.asarray(counts.sum(axis=1)).ravel()
            norm = self.k1 * (1 - self.b + self.b * lengths / max(self.avg_length_, 1e-9))
            norm = np.repeat(norm, np.diff(w.indptr))
            w.data = (tf * (self.k1 + 1) / (tf + norm) * self.idf_[w.indices]).astype(np.float32)
            return w
        return self.tfidf(w)

    def tfidf(self, counts):
        """Sublinear TF-IDF weights, rows L2-normalised (for keywords, whatever the scoring)."""
        from sklearn.preprocessing import normalize

        w = sp.csr_matrix(counts, dtype=np.float32, copy=True)
        w.data = ((1 + np.log(w.data)) * self.tfidf_idf_[w.indices]).astype(np.float32)
        return normalize(w, copy=False)

    # ----------------------------------------------------------------- query
    def count(self, texts):
        """Term counts of new texts over the indexed vocabulary."""
        vectorizer = self._query_vectorizer
        if vectorizer is None:  # scikit-learn checks the vocabulary once (0.2 s at 300k terms), not per query
            vectorizer = self._vectorizer(vocabulary=self._term_ids)
            vectorizer.transform([""])
            self._term_ids = vectorizer.vocabulary_  # scikit-learn's copy: one term -> id dict kept, not two
            self._query_vectorizer = vectorizer
        return vectorizer.transform(texts)

    def term_ids(self, terms):
        """Ids of the indexed terms among ``terms`` (unknown terms are left out)."""
        return np.asarray([self._term_ids[t] for t in terms if t in self._term_ids], dtype=np.int64)

    def query_vector(self, term_ids):
        """A 1 x n_terms query over ``term_ids`` (duplicates count once)."""
        term_ids = self._checked_terms(term_ids)
        if self.scoring == "bm25":
            data = np.ones(len(term_ids), dtype=np.float32)
        else:
            data = self.idf_[term_ids].astype(np.float32)
            data /= max(float(np.linalg.norm(data)), 1e-12)
        return sp.csr_matrix((data, term_ids, [0, len(term_ids)]), shape=(1, len(self.terms_)))

    def _accumulate(self, term_ids):
        """Sum the query's postings into this thread's score array: ``(touched songs, scores, stamps,
        generation)`` (see :mod:`musemood._kernels`)."""
        from .. import _kernels  # numba takes 0.4 s to import: only when a query comes

        query = self.query_vector(term_ids)
        postings = self.postings_
        starts, stops = postings.indptr[query.indices], postings.indptr[query.indices + 1]
        touched = np.empty(min(int((stops - starts).sum()), self.n_songs_), dtype=np.int32)
        acc, stamp, gen = _kernels.scratch(self.n_songs_)
        n = _kernels.accumulate(postings.indptr, postings.indices, postings.data, query.indices.astype(np.int64),
                                query.data, acc, stamp, gen, touched)
        return touched[:n], acc, stamp, gen

    def scores(self, term_ids):
        """Every song that contains a query term, with its score: ``(song_ids, scores)``, ids ascending."""
        touched, acc, _, _ = self._accumulate(term_ids)
        ids = np.sort(touched).astype(np.int64)
        return ids, acc[ids]

    def search(self, term_ids, top_k=100, *, exclude=None, mask=None, scores_of=None):
        """The ``top_k`` best songs for a keyword query: ``(song_ids, scores)``, best first (ties: lower
        id first), leaving out ``exclude``d songs and songs where the boolean ``mask`` is false.

        ``scores_of``: song ids whose scores to return as well, as a third array (0 for a song
        with none of the terms; excluded and masked songs get theirs too).

        Compiled (numba): the postings are added into a score array and a heap keeps the best, with
        no sort of the tens of thousands of songs a query touches.
        """
        from .. import _kernels

        exclude = self._song_ids(np.atleast_1d([] if exclude is None else exclude), "exclude")
        if mask is None:
            mask = np.zeros(0, dtype=bool)
        elif np.asarray(mask).dtype != bool or len(mask) != self.n_songs_:
            raise ValueError(f"mask must be a boolean array of one value per song ({self.n_songs_:,})")
        touched, acc, stamp, gen = self._accumulate(term_ids)
        if scores_of is not None:  # read before the top loop takes excluded songs' stamps
            scores_of = self._song_ids(scores_of, "scores_of")
            scores_of = np.where(stamp[scores_of] == gen, acc[scores_of], np.float32(0))
        ids, scores = _kernels.top_touched(touched, acc, stamp, gen, np.asarray(mask), exclude, max(int(top_k), 0))
        order = np.lexsort((ids, -scores))
        return (ids[order], scores[order]) if scores_of is None else (ids[order], scores[order], scores_of)

    def _song_ids(self, ids, name):
        """``ids`` as int64 song ids, refused (IndexError) if any lies outside the index: the compiled
        loops do not check bounds."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) and (ids.min() < 0 or ids.max() >= self.n_songs_):
            raise IndexError(f"{name} holds song ids outside 0..{self.n_songs_ - 1}")
        return ids

    def _checked_terms(self, term_ids):
        """The distinct ``term_ids`` (int64, ascending), refused (IndexError) if any lies outside the
        vocabulary."""
        term_ids = np.unique(np.asarray(term_ids, dtype=np.int64))
        if len(term_ids) and (term_ids[0] < 0 or term_ids[-1] >= len(self.terms_)):
            raise IndexError(f"term ids outside 0..{len(self.terms_) - 1}")
        return term_ids

    def shared_terms(self, term_ids, song_ids):
        """For each of ``song_ids``, the query terms it contains (lists of term ids, ascending)."""
        from .. import _kernels

        song_ids = self._song_ids(song_ids, "song_ids")
        terms = self._checked_terms(term_ids)
        found = np.zeros((len(song_ids), len(terms)), dtype=bool)
        _kernels.contains(self.postings_.indptr, self.postings_.indices, terms, song_ids, found)
        return [terms[row].tolist() for row in found]

    # ----------------------------------------------------------- persistence
    def save(self, path):
        """Write the index to folder ``path``: ``config.json``, ``terms.json``, postings and IDF arrays."""
        params = {k: getattr(self, k) for k in ("scoring", "k1", "b", "min_df", "max_df", "ngram_range",
                                                 "stop_words", "max_features")}
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        with replacing(path / "postings.npz") as tmp, open(tmp, "wb") as handle:  # uncompressed: mappable
            sp.save_npz(handle, self.postings_, compressed=False)
        np.save(path / "idf.npy", self.idf_)
        np.save(path / "tfidf_idf.npy", self.tfidf_idf_)
        (path / "terms.json").write_text(json.dumps(list(map(str, self.terms_))))
        return write_config(path, self, params, n_songs=self.n_songs_, avg_length=self.avg_length_)

    @classmethod
    def load(cls, path, *, mmap=False):
        """Read an index written by :meth:`save`; ``mmap`` maps the postings instead of reading them
        (processes that load the same folder then share them)."""
        path = Path(path)
        config = read_config(path, cls)
        index = cls(**config["params"])
        try:
            index.terms_ = np.asarray(json.loads((path / "terms.json").read_text()), dtype=object)
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path / 'terms.json'} is not a list of terms ({exc}); save the index again") from None
        index.postings_ = _load_csr(path / "postings.npz", mmap=mmap)
        index.idf_ = load_npy(path / "idf.npy")
        index.tfidf_idf_ = load_npy(path / "tfidf_idf.npy")
        check_arrays(path, {"terms": index.terms_, "postings": index.postings_, "idf": index.idf_,
                            "tfidf_idf": index.tfidf_idf_},
                     {"terms": ("t",), "postings": ("t", "n"), "idf": ("t",), "tfidf_idf": ("t",)},
                     sizes={"n": config["n_songs"]}, names={"terms": "terms.json", "postings": "postings.npz"})
        index.n_songs_ = config["n_songs"]
        index.avg_length_ = config["avg_length"]
        index._set_term_ids()
        return index


def _load_csr(file, *, mmap=False):
    """A CSR matrix saved by ``scipy.sparse.save_npz``; with ``mmap`` its arrays stay in the file."""
    arrays = load_npz(file, mmap=mmap)
    try:
        if str(arrays["format"].item(), "ascii") != "csr":
            raise ValueError(f"a {arrays['format'].item()!r} matrix, not csr")
        matrix = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]),
                               shape=tuple(int(n) for n in arrays["shape"]), copy=False)
        indptr, indices = matrix.indptr, matrix.indices
        if indptr[0] != 0 or (np.diff(indptr) < 0).any() or indptr[-1] != len(indices):
            raise ValueError("its row pointers do not run from 0 to the number of entries")
        if len(indices) and (indices.min() < 0 or indices.max() >= matrix.shape[1]):
            raise ValueError(f"it names columns outside 0..{matrix.shape[1] - 1}")
        return matrix
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{file} is not a readable sparse matrix ({exc}); save the index again") from None


def _join_parts(parts, new_id, n_rows, n_terms):
    """One CSR count matrix from chunks of (data, term ids, indptr), terms renumbered by ``new_id``
    (-1 drops a term); each chunk is freed once copied."""
    kept_per_row = []
    for data, ids, indptr in parts:
        rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        kept_per_row.append(np.bincount(rows[new_id[ids] >= 0], minlength=len(indptr) - 1))
    indptr = np.concatenate([[0], np.cumsum(np.concatenate(kept_per_row or [[]]), dtype=np.int64)])
    data = np.empty(indptr[-1], dtype=np.float32)
    indices = np.empty(indptr[-1], dtype=np.int32)
    at = 0
    while parts:
        part_data, ids, _ = parts.pop(0)
        ids = new_id[ids]
        keep = ids >= 0
        size = int(keep.sum())
        data[at:at + size], indices[at:at + size] = part_data[keep], ids[keep]
        at += size
    counts = sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_terms))
    counts.sort_indices()
    return counts


def top_terms(weights, n):
    """The ``n`` highest-weighted term ids of each row of a CSR matrix, best first; -1 pads short rows.

    Vectorised: one sort of all non-zeros by (row, -weight), no loop over rows.
    """
    weights = sp.csr_matrix(weights)
    n_rows = weights.shape[0]
    rows = np.repeat(np.arange(n_rows), np.diff(weights.indptr))
    order = np.lexsort((weights.indices, -weights.data, rows))
    rank = np.arange(len(order)) - weights.indptr[rows[order]]
    keep = order[rank < n]
    out = np.full((n_rows, n), -1, dtype=np.int64)
    out[rows[keep], (rank[rank < n])] = weights.indices[keep]
    return out
