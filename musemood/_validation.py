"""Checks of parameter values, shared by the estimators and the parts that load from config.json.

Each parameter's type comes from the dataclass annotation (``int | None``) and its range or
choices from a table here, so a bad value is caught with the same message whether it came from
code (``fit``) or from a hand-edited ``config.json`` (``load``).
"""

from __future__ import annotations

import dataclasses
import math
import numbers

#: name -> (low, high, include low, include high) for numbers; None means unbounded.
RANGES = {
    "dropout": (0, 1, True, False), "lora_dropout": (0, 1, True, False),
    "weight_decay": (0, None, True, None), "max_grad_norm": (0, None, False, None),
    "validation_fraction": (0, 1, True, False), "warmup_ratio": (0, 1, True, True),
    "max_length": (8, 100_000, True, True), "max_chunks": (1, None, True, None),
    "epochs": (0, 100_000, True, True), "head_epochs": (0, 100_000, True, True),
    "batch_size": (1, 1_000_000, True, True), "learning_rate": (0, 10, False, True),
    "head_learning_rate": (0, 10, False, True), "early_stopping_patience": (0, None, True, None),
    "head_patience": (0, None, True, None), "hidden_size": (0, 1_000_000, True, True),
    "lora_r": (1, 4096, True, True), "lora_alpha": (1, None, True, None), "n_topics": (1, 10_000, True, True),
    "random_state": (0, 2**32 - 1, True, True),
    "min_steps": (0, None, True, None), "few_shot_below": (0, None, True, None),
    "contrastive_epochs": (1, 100_000, True, True), "contrastive_learning_rate": (0, 10, False, True),
    "n_keywords": (1, 10_000, True, True), "n_embedding_keywords": (0, 10_000, True, True),
    "n_candidates": (1, None, True, None), "tune_k": (1, None, True, None), "min_title_score": (0, 100, True, True),
    "silhouette_tolerance": (0, 2, True, True),
    "embedding_dim": (1, 100_000, True, True), "vocab_size": (1, None, True, None), "min_count": (1, None, True, None),
    "max_tokens": (1, 1_000_000, True, True), "min_df": (1, None, True, None), "max_features": (1, None, True, None),
}


def _types(annotation):
    return {part.strip() for part in str(annotation).split("|")}


def _describe(types, bounds):
    kinds = sorted(t for t in types if t != "None")
    text = " or ".join(kinds)
    if bounds:
        lo, hi, lo_in, hi_in = bounds
        if lo is not None and hi is not None:
            text += f" in {'[' if lo_in else '('}{lo}, {hi}{']' if hi_in else ')'}"
        elif lo is not None:
            text += f" {'>=' if lo_in else '>'} {lo}"
    if "None" in types:
        text += ", or None"
    return text


def _ok_type(value, types):
    if value is None:
        return "None" in types
    checks = {
        "int": lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "tuple": lambda v: isinstance(v, (tuple, list)),
        "dict": lambda v: isinstance(v, dict),
    }
    known = [checks[t] for t in types if t in checks]
    return not known or len(known) < len(types - {"None"}) or any(check(value) for check in known)


def check_params(obj, where=None, *, options=None, types=None):
    """Check ``obj``'s parameters: type, range (:data:`RANGES`) and ``options`` (name -> choices).

    The types are the dataclass annotations, or ``types`` (name -> ``"int | None"``) for a class
    that is not a dataclass.  ``where`` says where the values came from (a config.json); errors
    name it and the parameter.
    """
    place = f"{where}: " if where else f"{type(obj).__name__}: "
    annotations = types if types is not None else {f.name: f.type for f in dataclasses.fields(obj)}
    for name, annotation in annotations.items():
        value, types_ = getattr(obj, name), _types(annotation)
        bounds = RANGES.get(name)
        allowed = (options or {}).get(name)
        if allowed is not None and isinstance(value, str) and value not in allowed:
            raise ValueError(f"{place}{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
        if not _ok_type(value, types_):
            raise ValueError(f"{place}{name} must be {_describe(types_, bounds)}, got {value!r}")
        if bounds and isinstance(value, numbers.Real) and not isinstance(value, bool):
            lo, hi, lo_in, hi_in = bounds
            bad = (math.isnan(value) or (lo is not None and (value < lo or (value == lo and not lo_in)))
                   or (hi is not None and (value > hi or (value == hi and not hi_in))))
            if bad:
                raise ValueError(f"{place}{name} must be {_describe(types_, bounds)}, got {value!r}")


def check_top_k(top_k):
    """``top_k`` as a positive whole number, else a ValueError saying so."""
    if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1:
        raise ValueError(f"top_k must be a positive whole number of songs, got {top_k!r}")
    return int(top_k)


def check_unique_columns(frame, columns=None, name="X"):
    """Refuse a DataFrame in which one of ``columns`` (default: any) names two or more columns.

    pandas allows such frames (``pd.concat(axis=1)``, a rename onto a name in use), and
    ``frame[name]`` is then a table, not a column: read as texts it gives the column names.
    """
    counts = frame.columns.value_counts()
    twice = [c for c in counts.index[counts > 1] if columns is None or c in columns]
    if twice:
        listing = ", ".join(f"{c!r} ({counts[c]} times)" for c in twice)
        raise ValueError(f"{name} has more than one column named {listing}; keep one of each (pd.concat(axis=1) or "
                         "a rename onto a name already in use makes such columns)")


def check_matrix(X, name="X", *, dim=None, rows=None, ids=None):
    """``X`` as a finite 2-D float32 array (one row per song), else a ValueError naming the row.

    ``dim`` and ``rows`` are the numbers of columns and rows (songs) expected; ``ids`` (song
    ids, one per row) names the song.
    """
    import numpy as np

    try:
        array = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a 2-D array of numbers (one row per song): {exc}") from None
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (one row per song), got an array of shape {array.shape}")
    if dim is not None and array.shape[1] != dim:
        raise ValueError(f"{name} has {array.shape[1]} columns where {dim} are expected")
    if rows is not None and len(array) != rows:
        raise ValueError(f"{name} has {len(array)} rows for {rows} songs; give one vector per song")
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        song = f" (song_id {ids[row]!r})" if ids is not None else ""
        more = f" and {int(bad.sum()) - 1} more rows" if bad.sum() > 1 else ""
        raise ValueError(f"{name} holds NaN or infinite values in row {row}{song}{more}; vectors must be finite: "
                         "check the model or the file they came from")
    return array


def headerless_hint(columns):
    """A sentence when the column names look like a first row of data (a file without a header line), else ''."""
    names = [str(c) for c in columns]

    def number(name):
        try:
            float(name)
        except ValueError:
            return False
        return True

    numbers = sum(number(n) for n in names)
    sentence = any(len(n.split()) >= 6 for n in names)
    if names and (2 * numbers >= len(names) or (numbers and sentence)):
        return ("The first row looks like data, not a header: if the file has no header line, add one "
                "(e.g. 'id,lyrics,label', with the file's separator) or name its columns. ")
    return ""


SEPARATORS = {",": "commas", "\t": "tabs", ";": "semicolons", "|": "bars"}
#: What a missing value is, for messages: a label or feature written "None" is read as none, not as a class.
MISSING_IN_WORDS = "an empty field, or NA, N/A, None, NULL or NaN in a CSV"


SAVE_AS_UTF8 = 'a spreadsheet\'s "CSV UTF-8", an editor\'s "UTF-8"'


def not_utf8(chunks, where, *, quote=True):
    """What keeps text from being UTF-8, for a message, or None when it is: ``chunks`` are its bytes in
    order (a file read in blocks), ``where`` names it.  Says where (line, counting from 1, and byte, from
    0), what the byte reads as in Windows-1252 (the encoding of many a spreadsheet's "CSV" on Windows, a
    superset of Latin-1's letters) with the text around it (not with ``quote=False``: a file of secrets),
    and how to convert it; a UTF-16 file (a spreadsheet's "Unicode Text", Windows PowerShell's ``>``) is
    said as such."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    done = lines = 0  # bytes and line breaks before the decoder's pending bytes
    head = b""
    for chunk in chunks:
        if not head:
            head = chunk[:2]
            if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
                return (f"{where} is UTF-16 text, not UTF-8: save it as UTF-8 ({SAVE_AS_UTF8}), or convert it: "
                        "iconv -f utf-16 -t utf-8 IN > OUT")
        pending = decoder.getstate()[0]
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            data, start = exc.object, exc.start  # pending bytes and this chunk; start: the bad byte in them
            bad = data[start:exc.end]
            line_start = data.rfind(b"\n", 0, start) + 1
            near = data[max(line_start, start - 20):start + 20].split(b"\n")[0]
            near = near.decode("cp1252", errors="replace").strip()
            reads = bad.decode("cp1252", errors="replace")
            line = lines + data.count(b"\n", 0, start) + 1
            return (f"{where}, line {line} (byte {done - len(pending) + start:,}): "
                    + (f"{bad!r} is not UTF-8; in Windows-1252, the encoding of many spreadsheets on Windows, it "
                       f"reads as {reads!r} (near {near!r}). " if quote else "a byte that is not UTF-8. ")
                    + f"Save it as UTF-8 ({SAVE_AS_UTF8}), or convert it: iconv -f cp1252 -t utf-8 IN > OUT")
        done += len(chunk)
        lines += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return f"{where} ends in the middle of a UTF-8 character: was it written completely? Recreate it"
    return None


def not_text(path):
    """What makes the file at ``path`` no text file, for a message, or None: NUL bytes in its first 4 KiB
    (more than a stray one), which no text in UTF-8 holds.  UTF-16 without a byte-order mark (every other
    byte NUL in English text) is valid UTF-8 byte for byte, and was read into column names such as
    't\x00i\x00t\x00l\x00e'."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if b"\x00" not in head:
        return None
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16's byte-order mark
        return not_utf8([head], path)
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if max(even, odd) > 0.3 * len(head) / 2 and min(even, odd) < 0.05 * len(head) / 2:  # NUL beside each letter
        return (f"{path} is UTF-16 text (without a byte-order mark), not UTF-8: save it as UTF-8 ({SAVE_AS_UTF8}), "
                f"or convert it: iconv -f utf-16{'le' if odd > even else 'be'} -t utf-8 IN > OUT")
    if even + odd < 0.01 * len(head):  # a stray NUL in a text (a scraped lyric): left to the CSV reader
        return None
    return (f"{path} holds NUL bytes, which no text file holds: it is not a CSV or TSV (a binary file, or a "
            "file of another type, renamed?); give the dataset as .csv, .tsv or .parquet")


def read_utf8(path, what, *, quote=True):
    """The text of the small file at ``path`` (a byte-order mark, as Windows' Notepad writes, left out); a
    ValueError that names ``what`` file it is and says where it is not UTF-8 (:func:`not_utf8`)."""
    from pathlib import Path

    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(not_utf8([data], f"{what} {path}", quote=quote)) from None


def refuse_not_utf8(exc, path):
    """After a reader of the file at ``path`` failed with ``exc``: a ValueError saying where the file is not
    UTF-8 and how to convert it (:func:`not_utf8`), when that is what failed; else nothing, for the caller's
    own message (a truncated or corrupt file)."""
    if isinstance(exc, UnicodeDecodeError):
        problem = not_utf8(file_blocks(path), path)
        if problem is not None:
            raise ValueError(problem) from None


def file_blocks(path, size=1 << 20):
    """The bytes of the file at ``path``, a block of ``size`` at a time."""
    with open(path, "rb") as f:
        while block := f.read(size):
            yield block


def header_separator(path, expected=","):
    """The separator of a delimited text file, read off its header line: ``expected`` (a .csv's commas,
    a .tsv's tabs), unless the header has none of it and exactly one other separator of
    :data:`SEPARATORS` splits it (a spreadsheet's "CSV" where the decimal mark is a comma is separated
    by semicolons)."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        header = f.readline().rstrip("\r\n")
    others = [sep for sep in SEPARATORS if sep != expected and sep in header]
    return others[0] if expected not in header and len(others) == 1 else expected


def usecols_for(header, wanted):
    """``usecols`` for pandas' ``read_csv`` of the ``wanted`` columns: None when they are every column of
    ``header``.  Asked for every column by name, pandas drops the fields of a row beyond the header's
    without a word; read without ``usecols`` it takes them as an index, which
    :func:`check_fields_match_header` refuses."""
    return None if set(header) == set(wanted) else list(wanted)


def check_fields_match_header(frame, path):
    """Refuse a table read from a CSV whose rows hold more fields than its header names columns: pandas
    takes the extra leading fields as an index, so every column holds another column's values, without a
    word (read with ``usecols`` from :func:`usecols_for`)."""
    import pandas as pd

    if not isinstance(frame.index, pd.RangeIndex):
        raise ValueError(f"{path}: its rows hold more fields than its header names columns, so each field would "
                         "be read into another column; quote the fields that hold the separator, or name every "
                         "column in the header")


def check_label_variants(labels, where="y"):
    """Refuse class labels that differ only in case or surrounding spaces ("happy", "happy ", "Happy", as a
    spreadsheet's cells may hold them): a classifier would learn each as a mood of its own."""
    import pandas as pd

    labels = pd.Series(labels)
    variants = {}
    for value in pd.unique(labels.dropna()):
        if isinstance(value, str):
            variants.setdefault(value.strip().casefold(), []).append(value)
    clash = next((sorted(group) for group in variants.values() if len(group) > 1), None)
    if clash:
        counts = labels.value_counts()
        named = " and ".join(f"{value!r} ({counts[value]} song{'' if counts[value] == 1 else 's'})" for value in clash)
        raise ValueError(f"{where}: the labels {named} differ only in case or spaces, so they would be learnt as "
                         "different moods; write each mood one way (e.g. labels.str.strip().str.lower())")


#: Largest class over smallest from which :func:`imbalance_note` speaks up.
IMBALANCE_RATIO = 5


def rule_rejected(frame, label_column):
    """Songs the k/epsilon rule did not label, as ``musemood label --out`` writes them (no label, a
    ``label_reason``), as a boolean Series; ``None`` for a label column the rule does not write."""
    from . import schema

    if label_column != schema.LABEL or schema.LABEL_REASON not in frame.columns:
        return None
    return frame[label_column].isna() & frame[schema.LABEL_REASON].notna()


def imbalance_note(labels):
    """What to read when the classes of ``labels`` (no missing ones) are imbalanced, the largest at least
    :data:`IMBALANCE_RATIO` times the smallest; else ``None``."""
    import pandas as pd

    counts = pd.Series(labels).value_counts()
    if len(counts) < 2 or counts.iloc[0] < IMBALANCE_RATIO * counts.iloc[-1]:
        return None
    return (f"imbalanced classes: {counts.index[0]} has {counts.iloc[0]:,} songs and {counts.index[-1]} "
            f"{counts.iloc[-1]:,} ({counts.iloc[0] / counts.iloc[-1]:.1f} to 1): accuracy rewards predicting the "
            "largest class; read macro-F1, and train with --class-weight balanced (class_weight='balanced')")


def looks_like_regression(values):
    """True when every value is a number and they are not whole class numbers (scikit-learn's
    ``type_of_target`` says "continuous"): a target such as valence, not mood labels."""
    import pandas as pd
    from sklearn.utils.multiclass import type_of_target

    numbers = pd.to_numeric(pd.Series(values), errors="coerce")
    return bool(numbers.notna().all()) and type_of_target(numbers.to_numpy(dtype=float)) == "continuous"


#: ``frame.attrs`` key that :func:`musemood.datasets.load_dataset` sets: the frame's index is its rows' numbers
#: in the file, which a frame keeps through filtering and sampling (pandas carries ``attrs`` along).
FILE_ROWS = "musemood_file_rows"


def row_of(frame, mask, skip=(), *, title=False):
    """Where the first row of ``mask`` is, for a message: ``row N (song_id 'x')``, counting from 0 (in the
    file it was read from, for a frame of :func:`~musemood.datasets.load_dataset` filtered since); the song
    id is left out when the table has none or it is one of ``skip`` (the column the message is about).
    ``title``: the song's title too, when it has one (``row N (song_id 'x', title 'y')``)."""
    import numpy as np

    from . import schema

    first = int(np.flatnonzero(np.asarray(mask))[0])
    label = frame.index[first]  # the file's row number, unless the caller indexed the table otherwise since
    row = int(label) if frame.attrs.get(FILE_ROWS) and isinstance(label, (int, np.integer)) else first
    named = [f"song_id {frame[schema.SONG_ID].iloc[first]!r}"] if (
        schema.SONG_ID in frame.columns and schema.SONG_ID not in skip) else []
    if title and schema.TITLE in frame.columns and isinstance(frame[schema.TITLE].iloc[first], str):
        named.append(f"title {frame[schema.TITLE].iloc[first]!r}")
    return f"row {row}" + (f" ({', '.join(named)})" if named else "")


def is_missing(value):
    """True for a missing value: None, NaN, or pandas' NA (a "string" column's missing value, as
    ``convert_dtypes()`` makes; ``str`` of it is "<NA>")."""
    return value is None or (isinstance(value, float) and value != value) or type(value).__name__ == "NAType"


def is_text_or_missing(value):
    """True for a string or a missing value (:func:`is_missing`): what a text column may hold."""
    return isinstance(value, str) or is_missing(value)
