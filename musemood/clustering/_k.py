"""Choosing the number of clusters from a sweep: :func:`choose_k` and :func:`elbow_point`."""

from __future__ import annotations

import numpy as np


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
