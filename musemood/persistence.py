"""One save format for every part: a folder with ``config.json`` and the part's own files.

Every savable part of musemood (the encoder, the classifiers, LDA topics, the audio
feature encoder, the song map, the lexical and vector indexes, the recommender) writes
a folder whose ``config.json`` is::

    {"format": 2, "class": "SongMap", "params": {...}, "versions": {...}, ...}

``versions`` records musemood, numpy, torch and transformers (those that are
imported), so a folder says what made it.  The part's arrays sit beside it as
``.npy`` or safetensors files, never pickles; a composite (tBERT, the recommender)
saves its parts into sub-folders with their own ``save``.  :func:`read_config`
checks the class and the format and says which file is wrong when one is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ._version import __version__

#: Version of the folder layout; bumped when a part's files change incompatibly.
FORMAT = 2
CONFIG = "config.json"


def versions():
    """Versions of musemood and of the libraries that shape saved numbers (when imported)."""
    out = {"musemood": __version__}
    for name in ("numpy", "torch", "transformers", "sklearn"):
        module = sys.modules.get(name)
        if module is not None:
            out[name] = getattr(module, "__version__", None)
    return out


def jsonable(value):
    """``value`` with tuples, paths and NumPy scalars/arrays turned into JSON types."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.random.RandomState):
        raise ValueError("random_state must be an int or None to save this part")
    if type(value).__name__ == "device":  # torch.device
        return str(value)
    return value


def write_config(path, obj, params, **extra):
    """Create folder ``path`` and write its ``config.json`` for ``obj``; returns the folder."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = {"format": FORMAT, "class": type(obj).__name__, "params": jsonable(params),
              "versions": versions(), **jsonable(extra)}
    (path / CONFIG).write_text(json.dumps(config, indent=1))
    return path


def read_config(path, cls=None, *, formats=(FORMAT,)):
    """The ``config.json`` of a saved part, checked against the expected class and formats.

    Raises ``FileNotFoundError`` when the folder or file is missing and ``ValueError`` when
    the file is not valid JSON or holds another class or format; each message names the
    file and what to do.
    """
    path = Path(path)
    file = path / CONFIG
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is not a folder; give the folder a musemood part was saved to")
    if not file.exists():
        raise FileNotFoundError(f"{path} holds no {CONFIG}: it was not written by a musemood save()")
    try:
        config = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{file} is not valid JSON ({exc}); save the part again") from None
    if not isinstance(config, dict):
        raise ValueError(f"{file} does not hold a musemood config (a JSON object); save the part again")
    names = {cls} if isinstance(cls, str) else {c.__name__ for c in cls} if isinstance(cls, tuple) else \
        ({cls.__name__} if cls is not None else None)
    if names is not None and config.get("class") not in names:
        raise ValueError(f"{file} holds a {config.get('class') or 'non-musemood part'}, "
                         f"not a {' or '.join(sorted(names))}")
    fmt = config.get("format", 1)
    if fmt not in formats:
        raise ValueError(f"{file} is in save format {fmt}; this musemood ({__version__}) reads format "
                         f"{', '.join(map(str, formats))}: save it again with this version")
    return config
