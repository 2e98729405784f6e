"""Compiled loops of the lexical index (numba, which umap-learn already brings).

A keyword query touches a few tens of thousands of postings out of tens of millions.
NumPy can only merge them by sorting; these loops add each posting into a per-thread
score array instead and keep the best songs in a heap, without sorting anything:
at a million songs a query's best 200 took 1.0 ms against 1.5 ms
(benchmarks/lexical.py, docs/benchmarks.md).

Scores are summed in float32 in the order of the query's terms, so a song's score is
the same whether :meth:`~musemood.retrieval.LexicalIndex.search` ranks it, returns it
through ``scores_of`` or :meth:`~musemood.retrieval.LexicalIndex.scores` lists it.

The score array is never cleared: ``stamp[s] == gen`` marks the songs this query
has touched, and each query takes a new ``gen``.
"""

from __future__ import annotations

import threading

import numba
import numpy as np

_local = threading.local()
_LAST_GEN = np.iinfo(np.int32).max


def _compiled(function):
    """``function`` compiled without the GIL, its machine code cached on disk where numba finds a
    writable folder (next to this file, else the user's cache folder, or ``NUMBA_CACHE_DIR``); with
    none (a read-only install run by a user without a home) compiled again in each process."""
    try:
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return numba.njit(nogil=True)(function)


def scratch(n_songs):
    """This thread's score and stamp arrays (at least ``n_songs`` long) and a fresh generation."""
    acc, stamp, gen = getattr(_local, "state", (None, None, 0))
    if acc is None or len(acc) < n_songs:
        acc, stamp, gen = np.zeros(n_songs, np.float32), np.zeros(n_songs, np.int32), 0
    gen += 1
    if gen == _LAST_GEN:  # after 2**31 queries on one thread: start the stamps again
        stamp[:] = 0
        gen = 1
    _local.state = (acc, stamp, gen)
    return acc, stamp, gen


@_compiled
def accumulate(indptr, indices, data, terms, weights, acc, stamp, gen, touched):
    """Add ``weights[j] * data`` of each posting of ``terms[j]`` into ``acc``; the songs touched
    go to ``touched`` in order of first touch; returns how many."""
    n = 0
    for j in range(len(terms)):
        t = terms[j]
        w = weights[j]
        for p in range(indptr[t], indptr[t + 1]):
            s = indices[p]
            if stamp[s] != gen:
                stamp[s] = gen
                acc[s] = w * data[p]
                touched[n] = s
                n += 1
            else:
                acc[s] += w * data[p]
    return n


@_compiled
def _worse(score_a, id_a, score_b, id_b):
    return score_a < score_b or (score_a == score_b and id_a > id_b)


@_compiled
def _sift_down(scores, ids, i, n):
    while True:
        child = 2 * i + 1
        if child >= n:
            return
        if child + 1 < n and _worse(scores[child + 1], ids[child + 1], scores[child], ids[child]):
            child += 1
        if not _worse(scores[child], ids[child], scores[i], ids[i]):
            return
        scores[i], scores[child] = scores[child], scores[i]
        ids[i], ids[child] = ids[child], ids[i]
        i = child


@_compiled
def top_touched(touched, acc, stamp, gen, mask, exclude, k):
    """The ``k`` best of the ``touched`` songs (higher score, then lower id, first), unordered,
    leaving out songs where ``mask`` (if not empty) is false and songs in ``exclude``:
    ``(ids, scores)``.  Excluded songs lose this generation's stamp."""
    if k < 1:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    for e in exclude:
        if stamp[e] == gen:
            stamp[e] = gen - 1
    ids = np.empty(k, np.int64)
    scores = np.empty(k, np.float32)
    m = 0
    masked = len(mask) > 0
    for s in touched:
        if stamp[s] != gen or (masked and not mask[s]):
            continue
        score = acc[s]
        if m < k:
            ids[m] = s
            scores[m] = score
            m += 1
            if m == k:
                for i in range(k // 2 - 1, -1, -1):
                    _sift_down(scores, ids, i, k)
        elif _worse(scores[0], ids[0], score, s):
            ids[0] = s
            scores[0] = score
            _sift_down(scores, ids, 0, k)
    return ids[:m], scores[:m]


@_compiled
def contains(indptr, indices, terms, songs, out):
    """``out[i, j]``: whether song ``songs[i]`` is in the posting list of ``terms[j]`` (binary search;
    postings are sorted by song)."""
    for j in range(len(terms)):
        first, end = indptr[terms[j]], indptr[terms[j] + 1]
        for i in range(len(songs)):
            lo, hi = first, end
            while lo < hi:
                mid = (lo + hi) // 2
                if indices[mid] < songs[i]:
                    lo = mid + 1
                else:
                    hi = mid
            out[i, j] = lo < end and indices[lo] == songs[i]
