"""The song map itself: :class:`SongMap` (see :mod:`musemood.clustering`)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone

from .. import schema
from ..vectors import _unit
from ._describe import describe_clusters, label_points
from ._k import choose_k, k_values, sweep_k
from ._persist import load_map, save_map
from ._plots import plot_k_sweep, plot_points


class SongMap:
    """UMAP + KMeans over song vectors.

    Parameters
    ----------
    n_clusters : int or "auto", default="auto"
        A fixed number of clusters, or the sweep's choice (see the module notes).
    k_range : tuple or "auto", default="auto"
        Smallest and largest k of the sweep (inclusive; every k between), or
        ``"auto"``: a range and grid that grow with the catalogue (module notes).
    k_rule : {"finest", "elbow", "silhouette"}, default="finest"
        How the sweep picks k (module notes).
    n_components : int, default=10
        UMAP output dimensions (the space that is clustered).
    n_neighbors, min_dist, metric : UMAP parameters, default 15, 0.0, "cosine"
    pca_components : int or None, default=50
        Reduce wider vectors with PCA first (faster neighbour search, little loss).
    fit_sample : int, default=50_000
        Fit on at most this many songs; transform the rest.
    silhouette_sample : int, default=5_000
    sweep_sample : int, default=20_000
        The k sweep runs on at most this many of the fitted songs; the chosen k is then
        fitted on all of them (at 50,000 fitted songs: 20 s -> 8 s, measured).
    silhouette_tolerance : float, default=0.05
    reducer : object with ``fit`` and ``transform``, optional
        Replaces UMAP (e.g. ``sklearn.decomposition.PCA(10)``).
    clusterer : object with ``fit`` and ``predict``, optional
        Replaces KMeans; if it has an ``n_clusters`` parameter the sweep sets it.
    random_state : int, default=0
    plot_sample : int, default=20_000
        Songs placed on the 2-D map (a second UMAP from the reduced vectors).
    """

    def __init__(self, n_clusters="auto", *, k_range="auto", k_rule="finest", n_components=10, n_neighbors=15,
                 min_dist=0.0, metric="cosine", pca_components=50, fit_sample=50_000, silhouette_sample=5_000,
                 sweep_sample=20_000, silhouette_tolerance=0.05, reducer=None, clusterer=None, random_state=0,
                 plot_sample=20_000):
        self.n_clusters = n_clusters
        self.k_range = k_range
        self.k_rule = k_rule
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.metric = metric
        self.pca_components = pca_components
        self.fit_sample = fit_sample
        self.silhouette_sample = silhouette_sample
        self.sweep_sample = sweep_sample
        self.silhouette_tolerance = silhouette_tolerance
        self.reducer = reducer
        self.clusterer = clusterer
        self.random_state = random_state
        self.plot_sample = plot_sample

    # ------------------------------------------------------------------- fit
    def fit(self, X) -> SongMap:
        """Reduce and cluster the song vectors ``X``; sets ``embedding_``, ``labels_``, ``sweep_``..."""
        from .._validation import check_matrix

        X = check_matrix(X, "the song vectors X")
        self._check_params()
        n = len(X)
        self.n_features_in_ = X.shape[1]
        if n < 3:
            raise ValueError(f"a song map needs at least 3 songs, got {n}")
        rng = np.random.default_rng(self.random_state)
        sample = np.sort(rng.choice(n, self.fit_sample, replace=False)) if n > self.fit_sample else np.arange(n)
        if self.n_clusters != "auto" and self.n_clusters > len(sample):
            raise ValueError(f"SongMap: n_clusters={self.n_clusters} is more than the {len(sample)} songs it "
                             "clusters; ask for fewer clusters, or 'auto'")
        self.sample_ = sample
        self.pca_ = None
        if self.pca_components and X.shape[1] > self.pca_components and len(sample) > self.pca_components:
            from sklearn.decomposition import PCA

            self.pca_ = PCA(self.pca_components, random_state=self.random_state).fit(X[sample])
        Xs = self._pca(X[sample])
        self.anchors_ = np.asarray(Xs, dtype=np.float32)  # what transform() compares new songs with
        self.reducer_ = self._make_reducer(len(sample))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*n_jobs.*")  # UMAP: seeded runs are single-threaded
            sample_embedding = np.asarray(self.reducer_.fit_transform(Xs), dtype=np.float32)
        self.embedding_ = np.empty((n, sample_embedding.shape[1]), dtype=np.float32)
        self.embedding_[sample] = sample_embedding
        rest = np.setdiff1d(np.arange(n), sample)
        for start in range(0, len(rest), 50_000):
            part = rest[start:start + 50_000]
            self.embedding_[part] = self.reducer_.transform(self._pca(X[part]))
        self._choose_k(sample_embedding)
        self.labels_ = np.asarray(self.clusterer_.predict(self.embedding_), dtype=np.int64)
        self._map_2d(rng)
        return self

    def fit_predict(self, X) -> np.ndarray:
        return self.fit(X).labels_

    def _pca(self, X):
        if self.pca_ is None:
            return X
        if isinstance(self.pca_, dict):  # a loaded map keeps PCA as arrays
            return self._pca_arrays(X)
        return self.pca_.transform(X).astype(np.float32)

    def _pca_state(self):
        """The fitted PCA as arrays (what a saved map keeps)."""
        if isinstance(self.pca_, dict):
            return self.pca_
        return {"mean": self.pca_.mean_, "components": self.pca_.components_}

    def _pca_arrays(self, X):
        pca = self._pca_state()
        return ((X - pca["mean"].astype(np.float32)) @ pca["components"].astype(np.float32).T).astype(np.float32)

    # ------------------------------------------------------------ new songs
    def transform(self, X) -> np.ndarray:
        """Positions of new song vectors in the clustered space (``n_songs x n_components``).

        A song lands at the similarity-weighted mean position of its ``n_neighbors``
        nearest fitted songs (cosine or Euclidean, after the map's PCA); a song equal to
        a fitted one lands on it.
        """
        from .._validation import check_matrix

        self._check_fitted()
        X = np.atleast_2d(np.asarray(X, dtype=np.float32)) if np.ndim(X) == 1 else X
        if np.shape(X)[-1] != self.n_features_in_:
            raise ValueError(f"this map was fitted on {self.n_features_in_}-dimensional song vectors, got "
                             f"{np.shape(X)[-1]}; use vectors from the same model and vectorizer")
        X = check_matrix(X, "the song vectors X")
        Z = X if self.pca_ is None else self._pca_arrays(X)  # the same sums before and after load
        anchors, positions = self.anchors_, self.embedding_[self.sample_]
        k = min(self.n_neighbors, len(anchors))
        cosine = self.metric == "cosine"
        ref = _unit(anchors) if cosine else anchors
        out = np.empty((len(Z), positions.shape[1]), dtype=np.float32)
        for start in range(0, len(Z), 1024):
            q = Z[start:start + 1024]
            if cosine:
                dist = 1.0 - _unit(q) @ ref.T
            else:
                dist = np.sqrt(np.maximum((q**2).sum(1)[:, None] - 2 * q @ ref.T + (ref**2).sum(1)[None, :], 0))
            near = np.argpartition(dist, k - 1, axis=1)[:, :k]
            d = np.maximum(np.take_along_axis(dist, near, axis=1), 0.0)
            w = 1.0 / (d + 1e-6)
            w /= w.sum(axis=1, keepdims=True)
            out[start:start + len(q)] = np.einsum("nk,nkd->nd", w, positions[near])
        return out

    def predict(self, X) -> np.ndarray:
        """Cluster of each new song vector (the nearest centre of the placed songs)."""
        return self._assign(self.transform(X))

    def _assign(self, Z):
        centres = self.cluster_centers_
        if centres is not None:
            dist = (Z**2).sum(1)[:, None] - 2 * Z @ centres.T + (centres**2).sum(1)[None, :]
            return dist.argmin(axis=1).astype(np.int64)
        fitted = self.embedding_[self.sample_]  # no centres: the cluster of the nearest fitted song
        dist = (Z**2).sum(1)[:, None] - 2 * Z @ fitted.T + (fitted**2).sum(1)[None, :]
        return self.labels_[self.sample_][dist.argmin(axis=1)]

    @property
    def cluster_centers_(self):
        centres = getattr(self, "_centres", None)
        if centres is None and hasattr(self, "clusterer_"):
            centres = getattr(self.clusterer_, "cluster_centers_", None)
        return None if centres is None else np.asarray(centres, dtype=np.float32)

    def _check_fitted(self):
        if not hasattr(self, "labels_"):
            raise ValueError("this SongMap is not fitted: call fit(X) or SongMap.load(path)")

    # ----------------------------------------------------------- persistence
    def save(self, path):
        """Write the fitted map to folder ``path``: ``config.json`` and ``.npy`` arrays (no pickles).

        An injected ``reducer`` or ``clusterer`` is recorded by class name only: the loaded
        map places new songs by neighbours and centres (see :meth:`transform`), not with it.
        """
        return save_map(self, path)

    @classmethod
    def load(cls, path):
        """Read a map written by :meth:`save`; it places new songs as the saved one did."""
        return load_map(cls, path)

    def _make_reducer(self, n):
        if self.reducer is not None:
            return clone(self.reducer) if hasattr(self.reducer, "get_params") else self.reducer
        import umap

        return umap.UMAP(n_components=self.n_components, n_neighbors=min(self.n_neighbors, max(2, n - 1)),
                         min_dist=self.min_dist, metric=self.metric, random_state=self.random_state,
                         init="spectral" if n > self.n_components + 1 else "random")

    def _make_clusterer(self, k, n):
        if self.clusterer is None:
            from sklearn.cluster import KMeans

            # four k-means++ restarts on small maps; one above 10,000 songs, where a restart costs
            # more (the sweep at 50,000 songs: 35 s with four, 13 s with one) and gains little
            return KMeans(n_clusters=k, n_init=4 if n <= 10_000 else 1, random_state=self.random_state)
        clusterer = clone(self.clusterer) if hasattr(self.clusterer, "get_params") else self.clusterer
        if k is not None and "n_clusters" in getattr(clusterer, "get_params", dict)():
            clusterer.set_params(n_clusters=k)
        return clusterer

    def _choose_k(self, Z):
        sweeps = self.n_clusters == "auto" and (
            self.clusterer is None or "n_clusters" in getattr(self.clusterer, "get_params", dict)())
        if not sweeps:
            k = None if self.n_clusters == "auto" else int(self.n_clusters)
            self.clusterer_ = self._make_clusterer(k, len(Z)).fit(Z)
            self.sweep_ = pd.DataFrame(columns=["k", "inertia", "silhouette"])
            self.n_clusters_ = len(np.unique(self.clusterer_.predict(Z)))
            self.choice_ = "fixed" if k else "clusterer"
            return
        ks = self.k_values(len(Z))
        if len(ks) < 3:
            raise ValueError(f"k_range {self.k_range} leaves fewer than 3 values of k for {len(Z)} songs to choose "
                             "from: widen k_range, fix n_clusters, or map no songs (Recommender(song_map=None))")
        full = Z
        if len(Z) > self.sweep_sample:
            rng = np.random.default_rng(self.random_state)
            Z = Z[np.sort(rng.choice(len(Z), self.sweep_sample, replace=False))]
        self.sweep_, fitted = sweep_k(Z, ks, self._make_clusterer, silhouette_sample=self.silhouette_sample,
                                      random_state=self.random_state)
        k, self.choice_, self.elbow_, self.best_silhouette_k_ = choose_k(self.sweep_, self.k_rule,
                                                                         self.silhouette_tolerance)
        self.n_clusters_ = int(k) if self.n_clusters == "auto" else int(self.n_clusters)
        self.clusterer_ = (fitted[self.n_clusters_] if len(full) == len(Z) else
                           self._make_clusterer(self.n_clusters_, len(full)).fit(full))

    def k_values(self, n):
        """The values of k the sweep tries for ``n`` fitted songs (see ``k_range``)."""
        return k_values(self.k_range, n)

    def _check_params(self):
        from .._validation import check_params

        check_params(self, options={"k_rule": schema.K_RULES}, types={"k_rule": "str", "silhouette_tolerance": "float"})
        k = self.n_clusters
        if not (isinstance(k, str) and k == "auto") and not (
                isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1):
            raise ValueError(f"SongMap: n_clusters must be 'auto' (the k sweep) or a whole number of clusters, 1 or "
                             f"more, got {k!r}")
        k_range = self.k_range
        if k_range != "auto" and not (isinstance(k_range, (tuple, list)) and len(k_range) == 2
                                      and all(isinstance(k, (int, np.integer)) and not isinstance(k, bool)
                                              for k in k_range) and 2 <= k_range[0] <= k_range[1]):
            raise ValueError(f"SongMap: k_range must be 'auto' or (smallest k, largest k) with 2 <= smallest <= "
                             f"largest, got {k_range!r}")

    def _map_2d(self, rng):
        """2-D coordinates of up to ``plot_sample`` songs, from the reduced vectors."""
        n = len(self.embedding_)
        self.plot_index_ = (np.sort(rng.choice(n, self.plot_sample, replace=False)) if n > self.plot_sample
                            else np.arange(n))
        Z = self.embedding_[self.plot_index_]
        if Z.shape[1] <= 2:
            self.map_2d_ = Z[:, :2]
            return
        if self.reducer is not None:  # keep users' injected reducers honest: project with PCA, not UMAP
            from sklearn.decomposition import PCA

            self.map_2d_ = PCA(2, random_state=self.random_state).fit_transform(Z).astype(np.float32)
            return
        import umap

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*n_jobs.*")
            self.map_2d_ = umap.UMAP(n_components=2, n_neighbors=min(15, max(2, len(Z) - 1)), min_dist=0.1,
                                     random_state=self.random_state,
                                     init="spectral" if len(Z) > 3 else "random").fit_transform(Z).astype(np.float32)

    @property
    def label_points_(self) -> dict:
        """``{cluster: (x, y, point)}``: where each cluster's label goes on the 2-D map, see
        :func:`label_points` (computed once per fit, on first use)."""
        self._check_fitted()
        fitted = (self.map_2d_, self.labels_, self.plot_index_)  # a refit gives new arrays
        cached = getattr(self, "_label_points", None)
        if cached is None or not all(a is b for a, b in zip(cached[0], fitted)):
            plotted = np.asarray(self.labels_)[self.plot_index_]
            cached = self._label_points = (fitted, label_points(self.map_2d_, plotted))
        return cached[1]

    # ------------------------------------------------------------- describe
    def describe(self, counts, terms, moods=None, n_words=8):
        """One row per cluster: size, top words (class-based TF-IDF) and mood mix (see :func:`describe_clusters`)."""
        return describe_clusters(self.labels_, counts, terms, moods, n_words)

    # ---------------------------------------------------------------- plots
    def plot_all(self, out_dir, moods=None):
        """Write ``k_sweep.png`` (after a sweep), ``map_mood.png`` (with ``moods``) and ``map_cluster.png``."""
        from pathlib import Path

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        if len(self.sweep_):
            paths.append(self.plot_k_sweep(out / "k_sweep.png"))
        if moods is not None:
            paths.append(self.plot_map(out / "map_mood.png", np.asarray(moods, dtype=object), title="Song map by mood"))
        paths.append(self.plot_map(out / "map_cluster.png", self.labels_, title="Song map by cluster"))
        return paths

    def plot_k_sweep(self, path):
        """Distortion and silhouette per k, the chosen k marked; saved as PNG."""
        return plot_k_sweep(self.sweep_, self.n_clusters_, self.choice_, path,
                            tolerance=self.silhouette_tolerance if self.choice_ == "finest" else None)

    def plot_map(self, path, colour_by, *, title=None, missing="unlabelled"):
        """The 2-D map coloured by one value per song (mood, cluster...); saved as PNG."""
        values = pd.Series(np.asarray(colour_by, dtype=object)[self.plot_index_]).fillna(missing).astype(str)
        return plot_points(self.map_2d_, values, path, title=title or "Song map", missing=missing)
