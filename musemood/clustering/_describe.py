"""Describing clusters: where to put each one's label on the map (:func:`label_points`) and its top
words and mood mix (:func:`describe_clusters`)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def label_points(points, labels) -> dict:
    """``{cluster: (x, y, point)}``: each cluster's plotted song nearest the cluster's (upper) median
    point, at row ``point`` of ``points``, the map's 2-D positions (``labels``: their clusters).

    On the cluster even when the map splits it in parts, where its centre might fall between them.
    """
    xy = np.asarray(points, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    out = {}
    for cluster in np.unique(labels):  # a pass per cluster: once per map
        members = np.flatnonzero(labels == cluster)
        median = np.sort(xy[members], axis=0)[len(members) // 2]
        nearest = members[np.argmin(((xy[members] - median) ** 2).sum(axis=1))]
        out[int(cluster)] = (float(xy[nearest, 0]), float(xy[nearest, 1]), int(nearest))
    return out


def describe_clusters(labels, counts, terms, moods=None, n_words=8):
    """One row per cluster of ``labels``: size, top words (class-based TF-IDF) and mood mix.

    ``counts`` is the songs x terms count matrix of the catalogue (e.g.
    :meth:`musemood.retrieval.LexicalIndex.fit_transform`), ``terms`` its terms,
    ``moods`` one label per song (missing = unlabelled).  Top words use
    BERTopic's c-TF-IDF: a term's frequency in the cluster times
    log(1 + mean words per cluster / the term's frequency over all clusters).
    """
    import scipy.sparse as sp

    k = int(labels.max()) + 1
    membership = sp.csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    per_cluster = np.asarray((membership @ counts).todense(), dtype=np.float64)
    tf = per_cluster / np.maximum(per_cluster.sum(axis=1, keepdims=True), 1)
    idf = np.log1p(per_cluster.sum(axis=1).mean() / np.maximum(per_cluster.sum(axis=0), 1))
    ctfidf = tf * idf
    moods = None if moods is None else pd.Series(np.asarray(moods, dtype=object))
    rows = []
    for c in range(k):
        members = labels == c
        top = np.argsort(-ctfidf[c], kind="stable")[:n_words]
        row = {"cluster": c, "songs": int(members.sum()), "share": float(members.mean()),
               "top_words": [str(terms[t]) for t in top if ctfidf[c, t] > 0]}
        if moods is not None:
            mix = moods[members].dropna().value_counts(normalize=True)
            row["labelled"] = int(moods[members].notna().sum())
            row["mood_mix"] = {str(m): round(float(p), 3) for m, p in mix.items()}
            row["dominant_mood"] = str(mix.index[0]) if len(mix) else None
        rows.append(row)
    return pd.DataFrame(rows)
