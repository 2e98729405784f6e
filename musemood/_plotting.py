"""What every plot of user text needs: labels drawn as written."""

from __future__ import annotations

import functools


def drawn_as_written(plot):
    """``plot`` with matplotlib's mathtext off while it draws and saves: a label or title with two dollar
    signs (classes "$" and "$$", a model "v$2$") is drawn as written, where it raised a ValueError or was
    drawn as math."""

    @functools.wraps(plot)
    def drawn(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False}):
            return plot(*args, **kwargs)

    return drawn
