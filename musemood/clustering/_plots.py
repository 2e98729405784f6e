"""The song map's plots: the k sweep and the 2-D map, as PNG files (matplotlib, no display needed)."""

from __future__ import annotations

from .._plotting import drawn_as_written


@drawn_as_written
def plot_k_sweep(sweep, chosen, choice, path, *, tolerance=None):
    """Distortion and silhouette per k of a sweep, the chosen k marked; saved as PNG.

    With ``tolerance``, the band of silhouettes within it of the best is shaded (the
    "finest" rule takes the largest k inside it).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4))
    ax = fig.subplots()
    ax.plot(sweep["k"], sweep["inertia"], "o-", color="tab:blue", label="distortion (inertia)")
    ax.set_xlabel("k (clusters)")
    ax.set_ylabel("distortion", color="tab:blue")
    ax2 = ax.twinx()
    ax2.plot(sweep["k"], sweep["silhouette"], "s--", color="tab:orange", label="silhouette")
    ax2.set_ylabel("silhouette (clustered space)", color="tab:orange")
    if tolerance is not None:
        best = float(sweep["silhouette"].max())
        ax2.axhspan(best - tolerance, best, color="tab:orange", alpha=0.12,
                    label=f"within {tolerance:g} of the best silhouette")
        ax2.legend(loc="upper right", fontsize=8)
    ax.axvline(chosen, color="grey", linestyle=":")
    ax.set_title(f"Choosing k: {chosen} ({choice})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


@drawn_as_written
def plot_points(points, values, path, *, title, missing="unlabelled"):
    """A 2-D scatter coloured by ``values`` (strings, ``missing`` in grey); saved as PNG."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 6))
    ax = fig.subplots()
    groups = sorted(values.unique(), key=lambda v: (v == missing, _natural(v)))
    cmap = _colours(len(groups))
    for i, value in enumerate(groups):
        pts = points[(values == value).to_numpy()]
        colour = "lightgrey" if value == missing else cmap[i]
        ax.scatter(pts[:, 0], pts[:, 1], s=6, alpha=0.7, color=colour, label=f"{value} ({len(pts)})")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    ax.legend(markerscale=2.5, fontsize=7, loc="best", ncol=2 if len(groups) > 10 else 1)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def _natural(value):
    return (0, int(value), "") if str(value).lstrip("-").isdigit() else (1, 0, str(value))


def _colours(n):
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]
