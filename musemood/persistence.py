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
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from ._version import __version__

#: Version of the folder layout; bumped when a part's files change incompatibly.
FORMAT = 2
CONFIG = "config.json"


def _part_inside(path, names):
    """Where a folder holds, one level down, a part of the class asked for (a recommender's ``model/``,
    a classifier's ``encoder/``): the hint to give that folder instead, or ``""``."""
    for sub in sorted(p for p in path.iterdir() if p.is_dir()):
        found = saved_class(sub)
        if found in names:
            return f"; the {found} inside it is {sub}: give that folder"
    return ""


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
    """Write the ``config.json`` of ``obj`` in folder ``path``; returns the folder.

    Call it last, once the part's own files are written: it records each file's size and
    SHA-256 (``files``), which :func:`read_config` checks, so a truncated, changed or
    missing file is reported by name instead of loading into wrong answers.  Sub-folders
    that hold a part of their own (their own musemood ``config.json``) are checked by it.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = {"format": FORMAT, "class": type(obj).__name__, "params": jsonable(params),
              "versions": versions(), **jsonable(extra), "files": manifest(path)}
    tmp = path / (CONFIG + ".tmp")
    tmp.write_text(json.dumps(config, indent=1))
    tmp.replace(path / CONFIG)  # a crash never leaves half a config.json
    return path


#: Files larger than this are checked by size only when loaded (hashing them would slow loading).
CHECKSUM_LIMIT = 512 * 2**20


def manifest(path):
    """``{relative path: [bytes, sha256 or None]}`` of the files a part's folder holds itself."""
    path = Path(path)
    out = {}
    for file in sorted(_own_files(path)):
        size = file.stat().st_size
        out[file.relative_to(path).as_posix()] = [size, _sha256(file) if size <= CHECKSUM_LIMIT else None]
    return out


def _own_files(folder, top=True):
    for item in folder.iterdir():
        if item.is_dir():
            if not _is_part(item):
                yield from _own_files(item, top=False)
        elif not (top and item.name in (CONFIG, CONFIG + ".tmp")) and not _is_temporary(item):
            yield item


def _is_temporary(file):
    return file.name.startswith(".") and file.name.endswith(".tmp")  # replacing()'s, left by a killed save


@contextmanager
def replacing(file):
    """Write ``file`` by way of a temporary file beside it, which replaces it once written.

    A process that mapped the old file (a part loaded with ``mmap=True``, e.g. by ``musemood
    serve``) keeps reading the old file, whole, rather than bytes of the new one under its
    arrays; and a save killed half-way leaves the old file as it was.  Yields the path to write.
    """
    file = Path(file)
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, file)
    finally:
        tmp.unlink(missing_ok=True)


def _peek(folder):
    """The ``config.json`` of ``folder`` as a dict, or ``None`` (missing, unreadable, not an object)."""
    try:
        config = json.loads((Path(folder) / CONFIG).read_text())
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def saved_class(folder):
    """The class name a musemood ``save()`` recorded in ``folder``, or ``None`` (e.g. a Hugging Face folder).

    Unchecked: use it to choose what to load, then :func:`read_config` checks the folder.
    """
    config = _peek(folder)
    return None if config is None else config.get("class")


def _is_part(folder):
    config = _peek(folder)
    return config is not None and "class" in config and "format" in config


def _sha256(file):
    import hashlib

    digest = hashlib.sha256()
    with open(file, "rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_files(path, config):
    """Check the files ``config["files"]`` records: present, same size, same checksum."""
    path = Path(path)
    for name, (size, digest) in (config.get("files") or {}).items():
        file = path / name
        if not file.exists():
            raise FileNotFoundError(f"{file} is missing: the saved {config.get('class')} is incomplete; "
                                    "copy the whole folder, or save it again")
        found = file.stat().st_size
        if found != size:
            raise ValueError(f"{file} has {found:,} bytes where {path / CONFIG} records {size:,}: the file is "
                             "truncated or was changed; save the part again")
        if digest is not None and _sha256(file) != digest:
            raise ValueError(f"{file} does not match the checksum in {path / CONFIG}: the file is corrupt or "
                             "was changed; save the part again")


def read_config(path, cls=None, *, formats=(FORMAT,), verify=True):
    """The ``config.json`` of a saved part, checked against the expected class and formats.

    Raises ``FileNotFoundError`` when the folder or file is missing and ``ValueError`` when
    the file is not valid JSON or holds another class or format; each message names the
    file and what to do.  With ``verify`` (the default) the part's files are checked too
    (:func:`verify_files`); a caller that only dispatches to the class's own ``load``,
    which checks them, passes ``verify=False``.
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
                         f"not a {' or '.join(sorted(names))}{_part_inside(path, names)}")
    fmt = config.get("format", 1)
    if fmt not in formats:
        raise ValueError(f"{file} is in save format {fmt}; this musemood ({__version__}) reads format "
                         f"{', '.join(map(str, formats))}: save it again with this version")
    for key in ("params", "files"):
        if not isinstance(config.get(key, {}), dict):
            raise ValueError(f"{file}: {key!r} must be a JSON object, got {config[key]!r}; save the part again")
    if verify:
        verify_files(path, config)
    return config


def verify_tree(path):
    """:func:`verify_files` for a saved part and every part saved inside it (without loading any)."""
    path = Path(path)
    read_config(path)
    for sub in sorted(p for p in path.rglob("*") if p.is_dir() and p != path and _is_part(p)):
        read_config(sub)


def load_npy(file, *, mmap=False):
    """``np.load`` without pickles; an unreadable file is a ``ValueError`` naming it."""
    import numpy as np

    try:
        return np.load(file, mmap_mode="r" if mmap else None, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"{file} is missing: copy the whole folder, or save the part again") from None
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{file} is not a readable NumPy array ({exc}); save the part again") from None


def load_npz(file, *, mmap=False):
    """The arrays of an ``.npz`` file, ``{name: array}``, without pickles.

    With ``mmap``, members stored uncompressed (``np.savez``, ``scipy.sparse.save_npz(...,
    compressed=False)``) are mapped read-only from the file instead of read into memory, as
    ``np.load(..., mmap_mode="r")`` does for an ``.npy`` (it cannot for an ``.npz``): processes
    that load the same file then share its pages.  Compressed members are read.
    """
    import struct
    import zipfile

    import numpy as np

    file = Path(file)
    try:
        if not mmap:
            with np.load(file, allow_pickle=False) as arrays:
                return {name: arrays[name] for name in arrays.files}
        out = {}
        with zipfile.ZipFile(file) as archive, open(file, "rb") as handle:
            for info in archive.infolist():
                name = info.filename.removesuffix(".npy")
                if info.compress_type != zipfile.ZIP_STORED:
                    with archive.open(info) as member:
                        out[name] = np.lib.format.read_array(member, allow_pickle=False)
                    continue
                handle.seek(info.header_offset)
                local = handle.read(30)  # the member's local header, then its name and extra field
                if len(local) < 30 or local[:4] != b"PK\x03\x04":
                    raise ValueError(f"no local header for {info.filename}")
                name_length, extra_length = struct.unpack("<HH", local[26:30])
                handle.seek(info.header_offset + 30 + name_length + extra_length)
                version = np.lib.format.read_magic(handle)
                shape, fortran, dtype = (np.lib.format.read_array_header_1_0(handle) if version == (1, 0) else
                                         np.lib.format.read_array_header_2_0(handle))
                if dtype.hasobject:
                    raise ValueError(f"{info.filename} holds Python objects")
                if not int(np.prod(shape)):
                    out[name] = np.empty(shape, dtype=dtype)
                    continue
                out[name] = np.memmap(file, dtype=dtype, mode="r", offset=handle.tell(), shape=shape,
                                      order="F" if fortran else "C")
        return out
    except FileNotFoundError:
        raise FileNotFoundError(f"{file} is missing: copy the whole folder, or save the part again") from None
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, struct.error) as exc:
        raise ValueError(f"{file} is not a readable NumPy archive ({exc}); save the part again") from None


def check_arrays(folder, arrays, shapes, *, sizes=None, bounds=None, names=None, finite=True):
    """Check that a part's arrays agree with each other and with its ``config.json``.

    ``shapes`` maps an array's name to its shape in symbols (``("n", "d")``) or numbers; arrays
    sharing a symbol must agree on it, and ``sizes`` fixes symbols from the config (e.g. the
    number of clusters).  ``bounds`` maps an index array to the symbol its values must stay
    below (``{"sample": "n"}``).  Floating arrays must be finite (unless ``finite=False``, for
    memory-mapped arrays too large to read at load).  ``names`` gives each array's
    file name (default ``<name>.npy``).  Errors name the file that disagrees and the one it
    disagrees with.
    """
    import numpy as np

    folder = Path(folder)
    names = names or {}
    seen = {symbol: (value, folder / CONFIG) for symbol, value in (sizes or {}).items()}

    def where(name):
        return folder / names.get(name, f"{name}.npy")

    for name, spec in shapes.items():
        if arrays.get(name) is None:
            continue
        array = np.asarray(arrays[name]) if not hasattr(arrays[name], "shape") else arrays[name]
        if array.ndim != len(spec):
            raise ValueError(f"{where(name)} holds a {array.ndim}-D array where a {len(spec)}-D one is expected: "
                             "the file is not the one this part saved; save the part again")
        for axis, symbol in enumerate(spec):
            expected, source = (symbol, None) if isinstance(symbol, int) else seen.setdefault(
                symbol, (array.shape[axis], where(name)))
            if array.shape[axis] != expected:
                other = f"{source} says {expected:,}" if source else f"{expected:,} is expected"
                raise ValueError(f"{where(name)} has {array.shape[axis]:,} along axis {axis} where {other}: the "
                                 "folder mixes files from different saves or was edited; save the part again")
        values = array.data if hasattr(array, "tocsr") else array  # a SciPy sparse matrix: its stored values
        if finite and array.dtype.kind == "f" and not np.isfinite(values).all():
            raise ValueError(f"{where(name)} holds NaN or infinite values: the part was saved from a broken fit "
                             "or the file was changed; fit and save it again")
    for name, symbol in (bounds or {}).items():
        array = arrays.get(name)
        if array is None or not len(array):
            continue
        limit = seen.get(symbol, (None,))[0]
        if array.dtype.kind not in "iu" or array.min() < 0 or (limit is not None and array.max() >= limit):
            raise ValueError(f"{where(name)} holds rows outside 0..{(limit or 0) - 1}: the folder mixes files "
                             "from different saves or was edited; save the part again")
