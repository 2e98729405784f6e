"""The vector side of retrieval: :class:`VectorIndex`, nearest song vectors by inner product."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..persistence import check_arrays, load_npy, read_config, replacing, write_config


BACKENDS = ("auto", "exact", "hnsw", "ivf")
#: The approximate index ``backend="auto"`` builds above ``exact_threshold`` songs.
AUTO_ANN = "ivf"


class VectorIndex:
    """Nearest song vectors by inner product: exact below ``exact_threshold`` songs, faiss above.

    Parameters
    ----------
    backend : {"auto", "exact", "hnsw", "ivf"}, default="auto"
        ``"auto"``: exact up to ``exact_threshold`` songs, :data:`AUTO_ANN` above.
        ``"hnsw"``: a faiss HNSW graph; ``"ivf"``: a faiss inverted file, much faster
        to build.  Both hold float16 copies of the vectors (half the memory of float32
        copies, faster to search, the same recall at 1M songs) and score the songs they
        find exactly from the float32 vectors.  The choice is measured in
        docs/benchmarks.md (benchmarks/vector_index.py).
    exact_threshold : int, default=50_000
        With ``backend="auto"``, catalogues up to this size are searched exactly
        (a matrix-vector product is already sub-millisecond there).
    m, ef_construction, ef_search : int, default=16, 128, 128
        HNSW graph degree, build beam and search beam.  Recall@10 against exact search
        per ``ef_search`` is measured in docs/benchmarks.md (benchmarks/ann.py); raise
        ``ef_search`` for more recall at more latency.
    nlist, nprobe : int or "auto", default="auto"
        IVF lists (``"auto"``: 4 x sqrt(songs)) and lists searched per query (``"auto"``:
        256 or a tenth of the lists, whichever is more: recall@10 0.98 at 100k and at 1M
        songs, measured).
    threads : int or None, default=None
        Threads for building (faiss uses all cores by default); searches run on one thread.
    """

    def __init__(self, backend="auto", *, exact_threshold=50_000, m=16, ef_construction=128, ef_search=128,
                 nlist="auto", nprobe="auto", threads=None):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, got {backend!r}")
        self.backend = backend
        self.exact_threshold = exact_threshold
        self.m = m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.nlist = nlist
        self.nprobe = nprobe
        self.threads = threads

    def build(self, vectors):
        """Index ``vectors`` (float32, rows should be unit length for cosine)."""
        self.vectors_ = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = self.vectors_.shape
        self.backend_ = self.backend if self.backend != "auto" else ("exact" if n <= self.exact_threshold else AUTO_ANN)
        self.index_ = None
        if self.backend_ == "exact":
            return self
        faiss = _faiss()
        if self.threads:
            faiss.omp_set_num_threads(self.threads)
        if self.backend_ == "hnsw":
            index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_fp16, self.m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = self.ef_construction
        else:
            nlist = max(1, min(n, int(4 * np.sqrt(n)) if self.nlist == "auto" else int(self.nlist)))
            index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_fp16,
                                                  faiss.METRIC_INNER_PRODUCT)
            rng = np.random.default_rng(0)  # 64 training vectors per list (faiss warns below 39)
            sample = self.vectors_[np.sort(rng.choice(n, min(n, 64 * nlist), replace=False))]
            index.train(sample)
        index.add(self.vectors_)
        self.index_ = index
        return self

    def search(self, query, top_k=10, *, mask=None):
        """The ``top_k`` nearest songs to one query vector: ``(song_ids, similarities)``, best first.

        ``mask`` (boolean, one per song) restricts the result to songs where it is true.  An IVF index
        applies it while it searches (it reads the same lists whatever it keeps).  With HNSW, the
        unfiltered search's songs that pass the mask answer if there are ``top_k`` of them; otherwise
        faiss searches again keeping only songs that pass (the walk goes through the others), its beam
        widened by ``1 / sqrt(share)`` for the share of the first search's songs that passed.  When none
        passed, or the beam would pass ``max(4 * top_k, 2000)``, or either index finds too few, the songs
        that pass are searched exactly: a filter that drops the query's whole neighbourhood would
        otherwise leave the walk among songs it cannot return.
        """
        query = np.asarray(query, dtype=np.float32).ravel()
        n = len(self.vectors_)
        kept = n if mask is None else int(np.count_nonzero(mask))  # count_nonzero: a tenth of mask.sum()'s time
        k = min(top_k, kept)
        if k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        if self.backend_ in ("hnsw", "ivf"):
            fetch = int(np.ceil(k * 1.5) + 10)  # exact scores then reorder a wider set
            if mask is not None and self.backend_ == "ivf":  # it reads the same lists whatever it keeps
                ids, sims = self._ann(query, min(kept, fetch), mask=mask)
            else:
                ids, sims = self._ann(query, min(n, fetch))
            if mask is not None and self.backend_ == "hnsw" and len(ids):
                passed = mask[ids]
                ids, sims = ids[passed], sims[passed]
                share = passed.mean()
                if len(ids) < k and share > 0 and fetch / np.sqrt(share) <= max(4 * k, 2000):
                    ids, sims = self._ann(query, min(kept, fetch), beam=int(np.ceil(fetch / np.sqrt(share))),
                                          mask=mask)
            if len(ids) >= k:
                return ids[:k], sims[:k]
            # a narrow filter: search the filtered songs exactly
            return _exact_rows(self.vectors_, np.flatnonzero(mask) if mask is not None else np.arange(n), query, k)
        sims = self.vectors_ @ query
        if mask is not None:
            sims = np.where(mask, sims, -np.inf)
        ids, _ = _exact_from_sims(sims, k)
        return ids, sims[ids]

    def search_many(self, queries, top_k=10):
        """:meth:`search` (without a mask) of each row of ``queries``: ``(song_ids, similarities)`` of shape
        ``(n_queries, top_k)``, best first, song id -1 past the songs found.  The same songs as one
        :meth:`search` a row; HNSW answers the rows in one faiss call, on every core faiss uses."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = min(top_k, len(self.vectors_))
        ids_out = np.full((len(queries), max(k, 0)), -1, dtype=np.int64)
        sims_out = np.zeros((len(queries), max(k, 0)), dtype=np.float32)
        if self.backend_ == "hnsw" and k > 0:
            fetch = min(len(self.vectors_), int(np.ceil(k * 1.5) + 10))
            params = _faiss().SearchParametersHNSW(efSearch=max(self.ef_search, fetch))
            scores, found = self.index_.search(queries, fetch, params=params)
            for row, query in enumerate(queries):
                kept = found[row] >= 0
                ids, sims = self._rescored(found[row][kept].astype(np.int64), scores[row][kept], query)
                if len(ids) < k:  # as search(): too few found, search exactly
                    ids, sims = _exact_rows(self.vectors_, np.arange(len(self.vectors_)), query, k)
                ids_out[row, :len(ids[:k])], sims_out[row, :len(ids[:k])] = ids[:k], sims[:k]
            return ids_out, sims_out
        for row, query in enumerate(queries):
            ids, sims = self.search(query, k)
            ids_out[row, :len(ids)], sims_out[row, :len(ids)] = ids, sims
        return ids_out, sims_out

    def _ann(self, query, k, *, beam=None, mask=None):
        """faiss's ``k`` best songs for ``query`` (HNSW: with a beam of ``beam``, at least ``ef_search``),
        only songs where ``mask`` is true if given, scored exactly."""
        faiss = _faiss()
        bits = sel = None  # both must live until the search ends: the selector points into bits
        if mask is not None:
            bits = np.packbits(mask, bitorder="little")  # faiss reads bit i at byte i >> 3, bit i & 7
            sel = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))
        params = (faiss.SearchParametersHNSW(efSearch=max(self.ef_search, beam or k), sel=sel)
                  if self.backend_ == "hnsw" else faiss.SearchParametersIVF(nprobe=self._nprobe(), sel=sel))
        sims, ids = self.index_.search(query[None, :], k, params=params)
        return self._rescored(ids[0][ids[0] >= 0].astype(np.int64), sims[0][ids[0] >= 0], query)

    def _rescored(self, ids, sims, query):
        """The songs faiss found for ``query``, best first: scored again exactly from the float32 vectors
        (ties to the lower id) unless the index holds float32 copies itself (an older HNSWFlat save)."""
        if not isinstance(self.index_, _faiss().IndexHNSWFlat):
            sims = self.vectors_[ids] @ query
            order = np.lexsort((ids, -sims))
            ids, sims = ids[order], sims[order]
        return ids, sims

    def _nprobe(self):
        nlist = self.index_.nlist
        return max(1, min(nlist, max(256, nlist // 10) if self.nprobe == "auto" else int(self.nprobe)))

    def save(self, path):
        """Write the index to folder ``path``: ``config.json``, ``vectors.npy`` and the faiss index if any."""
        params = {k: getattr(self, k) for k in ("backend", "exact_threshold", "m", "ef_construction", "ef_search",
                                                 "nlist", "nprobe", "threads")}
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        with replacing(path / "vectors.npy") as tmp, open(tmp, "wb") as handle:
            np.save(handle, self.vectors_)
        if self.index_ is not None:
            with replacing(path / f"{self.backend_}.faiss") as tmp:
                _faiss().write_index(self.index_, str(tmp))
        return write_config(path, self, params, backend_=self.backend_)

    @classmethod
    def load(cls, path, *, mmap=False):
        """Read an index written by :meth:`save`; ``mmap`` maps the vectors and the faiss index's
        vectors or lists instead of reading them (processes that load the same folder then share them)."""
        path = Path(path)
        config = read_config(path, cls)
        index = cls(**config["params"])
        index.backend_ = config.get("backend_")
        if index.backend_ not in BACKENDS[1:]:
            raise ValueError(f"{path / 'config.json'}: backend_ must be one of {', '.join(BACKENDS[1:])}, got "
                             f"{index.backend_!r}; save the index again")
        index.vectors_ = load_npy(path / "vectors.npy", mmap=mmap)
        check_arrays(path, {"vectors": index.vectors_}, {"vectors": ("n", "d")}, finite=not mmap)
        index.index_ = None
        if index.backend_ != "exact":
            file = path / f"{index.backend_}.faiss"
            try:
                faiss = _faiss()
                flags = 0 if not mmap else faiss.IO_FLAG_MMAP_IFC if index.backend_ == "hnsw" else faiss.IO_FLAG_MMAP
                index.index_ = faiss.read_index(str(file), flags)
            except RuntimeError as exc:  # faiss reports a bad file as a RuntimeError
                raise ValueError(f"{file} is not a readable faiss index ({str(exc).splitlines()[0]}); "
                                 "save the index again") from None
            if (index.index_.ntotal, index.index_.d) != index.vectors_.shape:
                raise ValueError(f"{file} holds {index.index_.ntotal:,} vectors of {index.index_.d} "
                                 f"dimensions but {path / 'vectors.npy'} has shape {index.vectors_.shape}: the folder "
                                 "mixes files from different saves; save the index again")
        return index


EXACT_CHUNK = 16_384
"""Rows gathered at a time by :func:`_exact_rows` (10 MiB of 160-dimensional float32 vectors)."""


def _exact_rows(vectors, rows, query, k):
    """The ``k`` rows of ``rows`` (sorted song ids) nearest to ``query``, exactly: ``(ids, similarities)``,
    best first, ties to the lower id.  The rows' vectors are gathered :data:`EXACT_CHUNK` at a time:
    gathering a quarter of a million songs' at once (160 MB at 1M songs) took 60 ms to 350 ms, chunks
    take about 42 ms."""
    best_ids, best_sims = [], []
    for start in range(0, len(rows), EXACT_CHUNK):
        part = rows[start:start + EXACT_CHUNK]
        ids, sims = _exact(vectors[part], query, k)
        best_ids.append(part[ids])
        best_sims.append(sims)
    ids, sims = np.concatenate(best_ids), np.concatenate(best_sims)
    order = np.lexsort((ids, -sims))[:k]
    return ids[order], sims[order]


def _exact(vectors, query, k):
    sims = vectors @ query
    ids, _ = _exact_from_sims(sims, k)
    return ids, sims[ids]


def _exact_from_sims(sims, k):
    k = min(k, len(sims))
    part = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
    order = np.lexsort((part, -sims[part]))
    return part[order], sims[part[order]]


def _faiss():
    try:
        import faiss
    except ImportError:
        raise ImportError("the HNSW index needs faiss: pip install faiss-cpu (or use backend='exact')") from None
    return faiss
