"""The number of clusters: the values of k to try (:func:`k_values`), the sweep over them
(:func:`sweep_k`), and the choice from the sweep (:func:`choose_k`, :func:`elbow_point`)."""

from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger("musemood.clustering")  # the name it had before the module was split


def k_values(k_range, n):
    """The values of k a sweep tries for ``n`` fitted songs: every k of ``k_range`` (smallest, largest),
    or for ``"auto"`` every k from 2 to 20, then steps of about 15% up to one cluster per 40 songs (at
    least 16, at most 200)."""
    if k_range == "auto":
        hi = min(max(16, n // 40), 200, n - 1)
        grid = set(range(2, min(20, hi) + 1))
        k = 20.0
        while k < hi:
            k *= 1.15
            grid.add(min(int(round(k)), hi))
        return sorted(grid)
    lo, hi = k_range
    return list(range(max(2, lo), min(hi, n - 1) + 1))


def sweep_k(Z, ks, make_clusterer, *, silhouette_sample, random_state):
    """Fit ``make_clusterer(k, len(Z))`` on ``Z`` for each k of ``ks``: ``(sweep, fitted)``, the sweep a
    table of k, inertia and silhouette (on at most ``silhouette_sample`` songs) and ``fitted`` the
    clusterers by k."""
    import pandas as pd
    from sklearn.metrics import silhouette_score

    rows, fitted = [], {}
    for k in ks:
        model = make_clusterer(k, len(Z)).fit(Z)
        labels = model.predict(Z)
        sil = (silhouette_score(Z, labels, sample_size=min(silhouette_sample, len(Z)),
                                random_state=random_state) if len(np.unique(labels)) > 1 else np.nan)
        inertia = float(getattr(model, "inertia_", np.nan))
        rows.append({"k": k, "inertia": inertia, "silhouette": float(sil)})
        fitted[k] = model
        logger.info("k=%d inertia=%.4g silhouette=%.3f", k, inertia, sil)
    return pd.DataFrame(rows), fitted


def choose_k(sweep, rule="finest", tolerance=0.05):
    """Pick k from a sweep (columns k, inertia, silhouette) by ``rule`` (see the module notes).

    Returns ``(k, choice, elbow, best)``: the k, the rule that decided ("finest", "elbow"
    or "silhouette"), the elbow of the distortion curve and the k of the best silhouette.
    """
    elbow = elbow_point(sweep["k"].to_numpy(), sweep["inertia"].to_numpy())
    best = int(sweep.loc[sweep["silhouette"].idxmax(), "k"])
    sil = dict(zip(sweep["k"], sweep["silhouette"]))
    if rule == "finest":
        return int(sweep.loc[sweep["silhouette"] >= sil[best] - tolerance, "k"].max()), "finest", elbow, best
    if rule == "elbow" and elbow is not None and sil[elbow] >= sil[best] - tolerance:
        return int(elbow), "elbow", elbow, best
    return best, "silhouette", elbow, best


def elbow_point(ks, distortion):
    """The k of maximum curvature of the distortion curve, both axes scaled to [0, 1].

    The curve is the polyline through the sweep's points; its curvature at an inner
    point is the turning angle between the segments that meet there (the discrete
    analogue of curvature for a polyline).  Returns ``None`` for fewer than 3 points
    or a flat curve.
    """
    ks, y = np.asarray(ks, dtype=float), np.asarray(distortion, dtype=float)
    if len(ks) < 3 or not np.isfinite(y).all() or np.ptp(y) == 0:
        return None
    x = (ks - ks.min()) / np.ptp(ks)
    y = (y - y.min()) / np.ptp(y)
    angle = np.arctan2(np.diff(y), np.diff(x))
    turning = np.abs(np.diff(angle))
    return int(ks[1 + int(np.argmax(turning))])


def finer_split(sweep, k, above=3):
    """``(k, silhouette)`` of the sweep's best silhouette among the k above ``above``, when the chosen ``k``
    is not above it (else, or when the sweep stops there, ``None``).  A group far from the rest takes the best
    silhouette at k = 2 by far, and the rules choose it; this is the map to suggest beside it."""
    if k > above:
        return None
    finer = sweep[(sweep["k"] > above) & sweep["silhouette"].notna()]
    if finer.empty:
        return None
    best = finer.loc[finer["silhouette"].idxmax()]
    return int(best["k"]), float(best["silhouette"])
