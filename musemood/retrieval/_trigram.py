"""Fuzzy search candidates over many short strings: :class:`TrigramIndex`."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._lexical import LexicalIndex


class TrigramIndex:
    """Candidates for fuzzy search over many short strings (titles, artists): TF-IDF over their
    character trigrams, as PostgreSQL's pg_trgm finds similar strings.

    A scorer such as rapidfuzz's ``WRatio`` compares a query with every string, a second per query
    at a million songs; this index picks the few hundred strings that share the query's rarer
    trigrams, for the scorer to rank.  Strings are padded with a space on each side and cut into
    byte trigrams of their UTF-8 (vectorised: 2.5 s for a million titles with their artists).
    The postings are a :class:`LexicalIndex` (``tfidf`` scoring), saved and mapped as one.
    """

    def __init__(self, lexical=None):
        self.lexical = lexical

    @staticmethod
    def _codes(text):
        b = np.frombuffer(f" {text} ".encode("utf-8"), dtype=np.uint8).astype(np.uint32)
        return np.unique((b[:-2] << 16) | (b[1:-1] << 8) | b[2:])

    def build(self, strings):
        """Index ``strings`` (their order gives the ids :meth:`candidates` returns)."""
        strings = list(strings)
        if any("\x00" in s for s in strings):
            raise ValueError("strings to index must not hold NUL characters")
        data = np.frombuffer(("\x00 " + " \x00 ".join(strings) + " \x00").encode("utf-8"), dtype=np.uint8)
        sep = data == 0
        row = np.cumsum(sep) - 1
        codes = (data[:-2].astype(np.uint32) << 16) | (data[1:-1].astype(np.uint32) << 8) | data[2:]
        inside = ~(sep[:-2] | sep[1:-1] | sep[2:])
        codes, rows = codes[inside], row[:-2][inside]
        present = np.zeros(1 << 24, dtype=bool)
        present[codes] = True
        unique = np.flatnonzero(present)
        column = np.zeros(1 << 24, dtype=np.int32)
        column[unique] = np.arange(len(unique), dtype=np.int32)
        counts = sp.csr_matrix((np.ones(len(codes), np.float32), column[codes],
                                np.searchsorted(rows, np.arange(len(strings) + 1))),
                               shape=(len(strings), len(unique)))
        counts.sum_duplicates()
        self.lexical = LexicalIndex.from_counts(counts, [f"{c:06x}" for c in unique], scoring="tfidf", min_df=1,
                                                max_df=1.0, stop_words=None)
        return self

    def candidates(self, text, limit=500):
        """Ids of the (at most) ``limit`` indexed strings most like ``text``, best first; none when
        they share no trigram."""
        index = self.lexical
        ids = index.term_ids([f"{c:06x}" for c in self._codes(text)])
        if not len(ids):
            return np.empty(0, dtype=np.int64)
        return index.search(ids, limit)[0]

    def save(self, path):
        return self.lexical.save(path)

    @classmethod
    def load(cls, path, *, mmap=False):
        return cls(LexicalIndex.load(path, mmap=mmap))
