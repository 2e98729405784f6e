"""Candidate retrieval for the recommender: a lexical inverted index and a vector index.

:class:`LexicalIndex` is an inverted index over cleaned lyrics: a sparse
term-by-song matrix (scipy CSR, one row of postings per term) weighted by
BM25 or TF-IDF.  A query is a handful of keywords, so scoring touches only the
postings of those terms, added up by a compiled loop (numba) that keeps the best
songs in a heap; nothing loops over all songs or sorts the songs a query touches.

:class:`VectorIndex` finds the nearest song vectors by inner product (cosine
on unit vectors): exact NumPy search for small catalogues, a faiss IVF index
above ``exact_threshold`` songs (HNSW on request; of faiss-cpu, hnswlib and
usearch, faiss reached recall@10 >= 0.95 fastest at 1M songs on our machine, and
it installs from wheels everywhere; the index type was chosen by measurement, see
docs/benchmarks.md).

:func:`embedding_keywords` picks a song's keywords the KeyBERT way: candidate
terms (the song's top TF-IDF terms) ranked by the cosine similarity of their
encoder vectors to the song's encoder vector.

Parts: ``_lexical`` (:class:`LexicalIndex`, :func:`top_terms`), ``_trigram`` (:class:`TrigramIndex`,
the song search's candidates), ``_vector`` (:class:`VectorIndex`) and ``_keywords``
(:func:`embedding_keywords`); import them from here.
"""

from ._keywords import embedding_keywords
from ._lexical import SCORINGS, TOKEN_PATTERN, LexicalIndex, top_terms
from ._trigram import TrigramIndex
from ._vector import AUTO_ANN, BACKENDS, VectorIndex

__all__ = ["AUTO_ANN", "BACKENDS", "SCORINGS", "TOKEN_PATTERN", "LexicalIndex", "TrigramIndex", "VectorIndex",
           "embedding_keywords", "top_terms"]
