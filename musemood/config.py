"""Where musemood keeps user data (``MUSEMOOD_HOME``, default ``~/.musemood``) and the API keys file.

Keys for the scrapers come from the arguments of a client, else the environment, else the keys file:
``$MUSEMOOD_KEYS``, default ``$MUSEMOOD_HOME/keys.toml``, one ``NAME = "value"`` line per key::

    # ~/.musemood/keys.toml: private to you (chmod 600), never in a repository
    LASTFM_API_KEY = "..."
    SPOTIPY_CLIENT_ID = "..."
    SPOTIPY_CLIENT_SECRET = "..."
    GENIUS_ACCESS_TOKEN = "..."

Values are never logged or put in an error message.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from pathlib import Path

from ._validation import read_utf8

HOME_ENV = "MUSEMOOD_HOME"
KEYS_ENV = "MUSEMOOD_KEYS"
KEY_NAMES = ("LASTFM_API_KEY", "SPOTIPY_CLIENT_ID", "SPOTIPY_CLIENT_SECRET", "GENIUS_ACCESS_TOKEN")
"""The names a keys file may hold (those of the environment variables)."""
STORE_FILE = "scrape.sqlite"
"""The scrape store in :func:`home` when no ``--store`` is given."""
DATASET_FILE = "dataset.parquet"
"""The dataset ``build-dataset`` and ``scrape all`` write in :func:`home` when no ``--out`` is given."""

logger = logging.getLogger(__name__)


def home():
    """The data directory: ``$MUSEMOOD_HOME`` or ``~/.musemood``.  Not created here."""
    return Path(os.environ.get(HOME_ENV) or "~/.musemood").expanduser()


def keys_path():
    """The keys file: ``$MUSEMOOD_KEYS``, else ``keys.toml`` in :func:`home`.  It need not exist."""
    given = os.environ.get(KEYS_ENV)
    return Path(given).expanduser() if given else home() / "keys.toml"


def read_keys(path=None):
    """The keys of the keys file (``path``, else :func:`keys_path`) as ``{name: value}``; ``{}`` when
    there is no such file.  A file that is not TOML, a name not in :data:`KEY_NAMES` (a typo would
    otherwise look like a missing key) or a value that is not text is a ValueError naming the file."""
    path = Path(path) if path is not None else keys_path()
    if not path.exists():
        if os.environ.get(KEYS_ENV) and path == keys_path():  # asked for by name: a typo is not "no keys"
            raise FileNotFoundError(f"{KEYS_ENV} names {path}, which does not exist")
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        keys = tomllib.loads(read_utf8(path, "the keys file", quote=False))  # no text of it in a message
    except tomllib.TOMLDecodeError as exc:  # its message gives the line, not the text
        raise ValueError(f"the keys file {path} is not TOML ({exc}): write one NAME = \"value\" line per key") from None
    except OSError as exc:
        raise ValueError(f"the keys file {path} could not be read ({type(exc).__name__})") from None
    unknown = sorted(set(keys) - set(KEY_NAMES))
    if unknown:
        raise ValueError(f"the keys file {path} holds {', '.join(map(repr, unknown))}, which musemood does not use; "
                         f"the names are {', '.join(KEY_NAMES)}")
    not_text = [name for name, value in keys.items() if not isinstance(value, str)]
    if not_text:
        raise ValueError(f"in the keys file {path}, {', '.join(not_text)} must be text in quotes: NAME = \"value\"")
    _warn_if_others_can_read(path)
    return {name: value for name, value in keys.items() if value}


def has_key(name):
    """Whether the key ``name`` is set, in the environment or the keys file (its value is not returned)."""
    return bool(os.environ.get(name) or read_keys().get(name))


_WARNED = set()  # the keys files already warned of: one command reads its file for each key it needs


def _warn_if_others_can_read(path):
    if os.name != "posix" or path in _WARNED:
        return
    mode = path.stat().st_mode
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        _WARNED.add(path)
        logger.warning("the keys file %s can be read by other users of this machine: chmod 600 %s", path, path)
