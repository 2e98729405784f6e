"""A fitted :class:`~musemood.clustering.SongMap` on disk: ``config.json`` and ``.npy`` arrays, no
pickles (:func:`save_map`, :func:`load_map`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..persistence import check_arrays, load_npy, read_config, write_config

PARAMS = ("n_clusters", "k_range", "k_rule", "n_components", "n_neighbors", "min_dist", "metric", "pca_components",
          "fit_sample", "silhouette_sample", "sweep_sample", "silhouette_tolerance", "random_state", "plot_sample")
ARRAYS = ("labels", "embedding", "sample", "anchors", "map_2d", "plot_index")


def save_map(song_map, path):
    """Write fitted ``song_map`` to folder ``path`` (see :meth:`SongMap.save`)."""
    song_map._check_fitted()
    params = {k: getattr(song_map, k) for k in PARAMS}
    parts = {"reducer": _name(song_map.reducer), "clusterer": _name(song_map.clusterer)}
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    arrays = {name: getattr(song_map, name + "_") for name in ARRAYS}
    if song_map.pca_ is not None:
        pca = song_map._pca_state()
        arrays.update(pca_mean=pca["mean"], pca_components=pca["components"])
    if song_map.cluster_centers_ is not None:
        arrays["centres"] = song_map.cluster_centers_
    for name, value in arrays.items():
        np.save(path / f"{name}.npy", np.asarray(value))
    return write_config(path, song_map, params, parts=parts, n_clusters_=int(song_map.n_clusters_),
                        choice_=song_map.choice_, elbow_=getattr(song_map, "elbow_", None),
                        best_silhouette_k_=getattr(song_map, "best_silhouette_k_", None),
                        n_features_in_=int(song_map.n_features_in_), sweep_=song_map.sweep_.to_dict(orient="list"))


def load_map(cls, path):
    """A ``cls`` (SongMap) read from folder ``path``, every array checked against the others."""
    path = Path(path)
    config = read_config(path, cls)
    try:
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in config["params"].items()}
        out = cls(**params)
        out._check_params()
        for name in ("n_clusters_", "choice_", "elbow_", "best_silhouette_k_", "n_features_in_"):
            setattr(out, name, config[name])
        out.sweep_ = pd.DataFrame(config["sweep_"], columns=["k", "inertia", "silhouette"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path / 'config.json'} is not a SongMap's config ({type(exc).__name__}: {exc}); "
                         "save the map again") from None
    arrays = {name: load_npy(path / f"{name}.npy") for name in ARRAYS}
    for name in ("pca_mean", "pca_components", "centres"):
        arrays[name] = load_npy(path / f"{name}.npy") if (path / f"{name}.npy").exists() else None
    # n songs, c map dimensions, s fitted sample, p PCA components, f input features, k clusters
    anchors = ("s", "p") if arrays["pca_mean"] is not None else ("s", "f")
    check_arrays(path, arrays, {"labels": ("n",), "embedding": ("n", "c"), "sample": ("s",), "anchors": anchors,
                                "map_2d": ("m", 2), "plot_index": ("m",), "pca_mean": ("f",),
                                "pca_components": ("p", "f"), "centres": ("k", "c")},
                 sizes={"f": out.n_features_in_, "k": out.n_clusters_},
                 bounds={"labels": "k", "sample": "n", "plot_index": "n"})
    for name in ARRAYS:
        setattr(out, name + "_", arrays[name])
    out.pca_ = ({"mean": arrays["pca_mean"], "components": arrays["pca_components"]}
                if arrays["pca_mean"] is not None else None)
    out._centres = arrays["centres"]
    return out


def _name(part):
    return None if part is None else type(part).__name__
