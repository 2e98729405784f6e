"""Where musemood keeps user data: ``MUSEMOOD_HOME`` (default ``~/.musemood``)."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "MUSEMOOD_HOME"


def home():
    """The data directory: ``$MUSEMOOD_HOME`` or ``~/.musemood``.  Not created here."""
    return Path(os.environ.get(HOME_ENV) or "~/.musemood").expanduser()
