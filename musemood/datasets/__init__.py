"""Datasets: the embedded demo corpus and Parquet/CSV readers and writers.

A dataset is a :class:`pandas.DataFrame` with the columns of
:mod:`musemood.schema`, one row per song.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .. import labels as _labels
from .. import schema
from .._validation import (FILE_ROWS, SEPARATORS, check_fields_match_header, header_separator, not_text,
                           refuse_not_utf8, usecols_for)
from ..text import normalize_title
from ._demo import LATENT_MOOD, THEME, generate
from ._report import dataset_report

__all__ = [
    "LATENT_MOOD",
    "THEME",
    "assign_splits",
    "dataset_format",
    "dataset_report",
    "drop_duplicate_songs",
    "load_dataset",
    "load_demo",
    "save_dataset",
    "validate_dataset",
]


def load_demo(
    n_songs=1000,
    *,
    random_state=0,
    tag_counts="raw",
    mood_sets="binary",
    label=True,
    show_progress_bar=None,
):
    """Generate the demo corpus: songs with lyrics, crowd tags and audio features.

    The corpus is made by musemood's own code from phrase banks written for it
    and is released under CC0.  It is deterministic for a given
    ``random_state`` and designed as a fair stand-in for real data (see
    ``docs/demo-corpus.md``): themes cut across moods, listeners' tags disagree
    with the lyrics now and then, audio features overlap between moods, some
    songs lack tags or audio features, and a few songs appear on two albums.

    Parameters
    ----------
    n_songs : int, default=1000
        Number of rows, re-released duplicates included (about 3%).
    random_state : int, default=0
        Seed; the same seed gives the same corpus.
    tag_counts : {"raw", "lastfm"}, default="raw"
        Raw tag counts as in the WASABI and Million Song Dataset dumps, or
        Last.fm API weights (the song's top tag = 100).
    mood_sets : {"binary", "four"} or mapping, default="binary"
        Mood sets used by the k/epsilon rule when ``label`` is true.
    label : bool, default=True
        Add ``label`` and ``label_reason`` from :func:`musemood.labels.label_songs`
        with its default parameters.
    show_progress_bar : bool, default=None
        Show a progress bar; ``None`` shows one for 20,000 songs or more
        (about a millisecond each).

    Returns
    -------
    pandas.DataFrame
        The schema's columns plus ``latent_mood`` and ``theme``, the hidden
        variables the generator drew each song from (for evaluation only:
        models should learn ``label``).  Write it with :func:`save_dataset`:
        ``DataFrame.to_parquet`` cannot write the ``(tag, count)`` tuples of ``tags``.
    """
    if isinstance(n_songs, bool) or not isinstance(n_songs, (int, np.integer)) or n_songs < 1:
        raise ValueError(f"n_songs must be a positive integer, got {n_songs!r}")
    if tag_counts not in ("raw", "lastfm"):
        raise ValueError(f"tag_counts must be 'raw' or 'lastfm', got {tag_counts!r}")
    if show_progress_bar is None:
        show_progress_bar = n_songs >= 20_000
    df = generate(int(n_songs), random_state, tag_counts=tag_counts, show_progress_bar=show_progress_bar)
    df[schema.SPLIT] = assign_splits(df, random_state=random_state, stable=False)
    if label:
        df = _labels.label_songs(df, mood_sets=mood_sets)
    first = [c for c in schema.COLUMNS if c in df.columns]
    return df[first + [c for c in df.columns if c not in first]]


def assign_splits(df, fractions=(0.7, 0.15, 0.15), *, random_state=0, stable=True):
    """Assign each song to train/valid/test, keeping copies of a song together.

    Songs with the same normalised title and artist (re-releases, live
    versions) always land in the same split, so no song leaks from training
    into evaluation.  Returns a Series of split names aligned with ``df``.

    With ``stable=True`` (the default) a song's split comes from a hash of its
    normalised title and artist and ``random_state`` alone, whatever the other
    songs: a dataset built again after more songs were scraped keeps every
    earlier song in its split, so none moves from test to train between
    builds.  ``stable=False`` draws the splits in table order from one random
    generator, so each song's split depends on the songs before it (the demo
    corpus's splits, kept so that its published figures stand).
    """
    fractions = np.asarray(fractions, dtype=float)
    if fractions.shape != (3,) or np.any(fractions < 0) or not np.isclose(fractions.sum(), 1):
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    key = _song_key(df)
    groups = pd.unique(key)
    if stable:
        if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
            raise ValueError(f"random_state must be a whole number for stable splits, got {random_state!r}")
        salt = f"{int(random_state)}\x00".encode()
        u = np.array([int.from_bytes(hashlib.blake2b(salt + group.encode("utf-8"), digest_size=8).digest(), "big")
                      for group in groups], dtype=np.float64) / 2.0**64
    else:
        u = np.random.default_rng(random_state).random(len(groups))
    edges = np.cumsum(fractions)[:-1]
    split_of_group = dict(zip(groups, np.asarray(schema.SPLITS)[np.searchsorted(edges, u, side="right")]))
    return pd.Series([split_of_group[k] for k in key], index=df.index, name=schema.SPLIT)


def drop_duplicate_songs(df):
    """Keep the first row of every song that appears on several albums.

    Songs are matched on normalised title and artist
    (:func:`musemood.text.normalize_title`), so "Song (Live)" and
    "Song - Remastered 2011" by the same artist count as one.
    """
    return df.loc[~_song_key(df).duplicated().to_numpy()]


def _song_key(df):
    missing = [c for c in (schema.TITLE, schema.ARTIST) if c not in df.columns]
    if missing:
        raise KeyError(f"songs are matched by title and artist, and the table lacks {missing} "
                       f"(has {list(df.columns)})")
    return pd.Series(
        [normalize_title(t) + "\x00" + normalize_title(a) for t, a in zip(df[schema.TITLE], df[schema.ARTIST])],
        index=df.index,
    )


def validate_dataset(df, *, require=schema.REQUIRED_COLUMNS):
    """Check that ``df`` has the schema's columns; raise ``ValueError`` naming what is missing."""
    missing = [c for c in require if c not in df.columns]
    if missing:
        raise ValueError(
            f"dataset is missing columns {missing}; it has {list(df.columns)}. "
            "See musemood.schema for the column names."
        )
    if schema.SONG_ID in df.columns and df[schema.SONG_ID].duplicated().any():
        dup = df.loc[df[schema.SONG_ID].duplicated(), schema.SONG_ID].iloc[0]
        raise ValueError(f"song_id must be unique; {dup!r} appears more than once")
    return df


def save_dataset(df, path):
    """Write a dataset in the format its suffix names: Parquet (``.parquet``/``.pq``), CSV or TSV.

    In Parquet, tags are a list of ``{tag, count}`` records and the file's metadata
    records the musemood version; in CSV/TSV, tags are JSON (``[["happy", 10], ...]``),
    which :func:`load_dataset` reads back.  The file is written to a temporary name and
    renamed, so a crash never leaves half a file.  Returns the path.
    """
    path = Path(path)
    suffix = dataset_format(path)
    out = df.copy()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    if suffix in (".csv", ".tsv"):
        if schema.TAGS in out.columns:
            out[schema.TAGS] = [None if r is None else json.dumps([[d["tag"], d["count"]] for d in r])
                                for r in (_tags_to_records(t) for t in out[schema.TAGS])]
        out.to_csv(tmp, sep="\t" if suffix == ".tsv" else ",", index=False)
    else:
        _write_parquet(out, tmp)
    os.replace(tmp, path)
    return path


def _write_parquet(out, path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .._version import __version__

    if schema.TAGS in out.columns:
        out[schema.TAGS] = [_tags_to_records(t) for t in out[schema.TAGS]]
    table = pa.Table.from_pandas(out, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"musemood"] = json.dumps({"version": __version__}).encode()
    pq.write_table(table.replace_schema_metadata(meta), path)


def dataset_format(path):
    """The suffix of a dataset file (``.parquet``, ``.pq``, ``.csv`` or ``.tsv``), else a ValueError.

    Commands call it on an output path before the work whose result the file would hold.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if path.is_dir() and suffix not in (".parquet", ".pq"):  # a Parquet dataset may be a folder of parts
        raise ValueError(f"{path} is a folder, not a dataset file (.parquet, .csv or .tsv)")
    if suffix not in (".parquet", ".pq", ".csv", ".tsv"):
        hint = (" (spreadsheets open and save .csv files: choose \"CSV UTF-8\")"
                if suffix in (".xlsx", ".xls", ".xlsm", ".ods", ".numbers") else
                " (a compressed file: decompress it, or use .parquet, which is compressed and reads faster)"
                if suffix in (".gz", ".bz2", ".xz", ".zip", ".zst", ".7z") else "")
        raise ValueError(f"{path}: unknown file type {suffix!r}; use .parquet, .csv or .tsv{hint}")
    return suffix


def load_dataset(path, *, columns=None, tags=True):
    """Read a dataset written by :func:`save_dataset` (or any Parquet/CSV file, or a folder of Parquet
    files: its parts, in file-name order).

    Tags come back as lists of ``(tag, count)`` tuples.  A CSV's ``tags``
    column may hold JSON (``[["happy", 10], ...]`` or ``{"happy": 10}``).  ``tags=False`` leaves the
    tags column unread, for work that does not use it (the recommender, the mood models): read as Python
    lists, the demo's tags took 370-460 MiB more per 50,000 songs (7-9 GiB a million) and 1.2-2.2 s
    instead of 0.08 s (2026-12-08, 2 cores).
    Raises ``FileNotFoundError`` or ``ValueError`` with the file's name when
    the file is missing or unreadable.
    """
    path = Path(path)
    df = _numbered(_read_table(path, columns, exclude=() if tags else (schema.TAGS,)))
    if schema.TAGS in df.columns:
        df[schema.TAGS], problems = read_tag_cells(df[schema.TAGS])
        if problems:
            row, message = problems[0]
            rows = _rows_in_words([r for r, _ in problems])
            also = f". {len(problems):,} rows have tags that cannot be read: {rows}" if len(problems) > 1 else ""
            raise ValueError(f"{path}, row {row}: {message}{also}")
    return df


def _numbered(df):
    """``df`` indexed by its rows' numbers in the file, and marked so (``attrs``): a frame filtered or sampled
    since keeps them, and messages name a song by its row in the file.  An index that a Parquet file kept
    with a name (a table saved with ``song_id`` as its index) comes back as the column it was."""
    index = df.index
    if not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1):  # else: no copy made
        named = [name for name in index.names if name is not None]
        df = df.reset_index(drop=not named or any(name in df.columns for name in named))
    df.attrs[FILE_ROWS] = True
    return df


def _read_table(path, columns=None, *, allow_empty=False, exclude=()):
    """:func:`load_dataset` but for its reading of the tags: a CSV's tags stay its cells' text.  The columns
    of ``exclude`` are not read (when ``columns`` is None)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no dataset at {path}")
    if path.is_dir() and path.suffix.lower() not in (".parquet", ".pq"):
        return _read_parts(path, columns, exclude)
    suffix = dataset_format(path)
    if path.is_file() and path.stat().st_size == 0:
        raise ValueError(f"{path} is empty (0 bytes): was it written completely? Recreate it")
    problem = not_text(path) if suffix in (".csv", ".tsv") else None
    if problem:
        raise ValueError(problem)
    try:
        if suffix in (".parquet", ".pq"):
            if columns is None and exclude:
                columns = _parquet_columns_but(path, exclude)
            df = _without_categories(pd.read_parquet(path, columns=columns))
        else:
            sep = _separator(path, "\t" if suffix == ".tsv" else ",")
            df = _read_delimited(path, sep, columns, exclude)
            if sep == ";":
                df = _decimal_commas(df, path)
    except Exception as exc:  # pyarrow and the csv parser raise many types
        if isinstance(exc, ValueError) and str(exc).startswith(f"{path}:"):  # ours: says what is wrong already
            raise
        refuse_not_utf8(exc, path)  # a whole file, in another encoding: where, and what to convert it from
        raise ValueError(  # (a UnicodeDecodeError left here is of a file that is UTF-8 now: changed meanwhile)
            f"{path} could not be read as {suffix[1:].upper()} ({type(exc).__name__}: {exc}). "
            "The file may be truncated, corrupt or of another type: recreate it."
        ) from None
    if suffix in (".csv", ".tsv"):
        check_fields_match_header(df, path)
    if not len(df) and not allow_empty:
        raise ValueError(f"{path} holds no songs (only a header); give a dataset with at least one row")
    return df


def _parquet_columns_but(path, exclude):
    """The columns of the Parquet file or folder at ``path`` but ``exclude`` and the index pandas saved
    (read back as the index all the same), for ``pd.read_parquet(columns=)``; None when none is excluded."""
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    schema_ = (ds.dataset(path, format="parquet", partitioning="hive").schema if Path(path).is_dir()
               else pq.read_schema(path))  # a file's own columns (not the folders' names it lies in)
    if not any(name in exclude for name in schema_.names):
        return None
    index = {name for name in (schema_.pandas_metadata or {}).get("index_columns", []) if isinstance(name, str)}
    return [name for name in schema_.names if name not in exclude and name not in index]


def _without_categories(df):
    """``df`` with its category columns (Parquet's dictionary-encoded ones: pandas writes a category column so
    and reads it back so) as plain columns of their values, which the checks and models read as text or
    numbers; whole numbers with a value missing become floats, as pandas reads them from Parquet."""
    for position, dtype in enumerate(df.dtypes):
        if isinstance(dtype, pd.CategoricalDtype):
            values = df.iloc[:, position]
            kind = dtype.categories.dtype
            if kind.kind in "iu" and values.isna().any():
                kind = np.float64
            elif kind.kind == "b" and values.isna().any():
                kind = object
            df.isetitem(position, values.astype(kind))
    return df


def parquet_parts(folder):
    """The Parquet files of a dataset folder in path order (subfolders too, as a data lake partitions a
    table), without hidden files and the ``_``-prefixed ones that writers such as Spark leave beside them."""
    return sorted(p for p in Path(folder).rglob("*")
                  if p.is_file() and p.suffix.lower() in (".parquet", ".pq") and not p.name.startswith((".", "_")))


#: How Hive (and Spark, pyarrow, pandas after it) names the partition of a missing value.
HIVE_MISSING = "__HIVE_DEFAULT_PARTITION__"


def _partitions(file, folder):
    """``{column: value}`` that the ``key=value`` folders between ``folder`` and ``file`` name: a table partitioned
    by a column holds it in its folder names only.  A value is text, ``None`` for Hive's default partition."""
    from urllib.parse import unquote

    keys = {}
    for part in file.relative_to(folder).parts[:-1]:
        key, equals, value = part.partition("=")
        if equals and key:
            keys[unquote(key)] = None if value == HIVE_MISSING else unquote(value)
    return keys


def _read_part(file, folder, columns, exclude=()):
    """One part of a dataset folder, with its partition columns (the asked ones, when ``columns`` is given)."""
    keys = _partitions(file, folder)
    if columns is not None:
        keys = {key: value for key, value in keys.items() if key in columns}
        columns = [column for column in columns if column not in keys]
    frame = _read_table(file, columns, allow_empty=True, exclude=exclude)
    for key, value in keys.items():
        if key in frame.columns:
            raise ValueError(f"{file} holds a column {key!r} and lies in a folder {key}=..., which partitions the "
                             f"dataset by {key!r}: a value comes from one or the other; rename the folder or drop "
                             "the column")
        frame[key] = pd.Series(value, index=frame.index, dtype=object)
    return frame, keys


def _partition_types(frames, keys):
    """Partition columns whose values are all whole numbers (none missing), or all numbers, read as such, as
    pyarrow and pandas read them."""
    for key in keys:
        values = pd.concat([frame[key] for frame in frames if key in frame.columns])
        numbers = pd.to_numeric(values, errors="coerce")
        if values.dropna().empty or numbers.isna().sum() != values.isna().sum():  # some text, or nothing
            continue
        whole = not values.isna().any() and bool((numbers == numbers.round()).all())
        for frame in frames:
            if key in frame.columns:
                converted = pd.to_numeric(frame[key])
                frame[key] = converted.astype("int64") if whole else converted.astype("float64")


def _read_parts(folder, columns=None, exclude=()):
    """A folder of Parquet files (a data lake's parts, or what ``musemood embed`` reads) as one table: the
    files in path order, each read and checked as a file is (an empty part is no song), all with the same
    columns."""
    files = parquet_parts(folder)
    if not files:
        raise ValueError(f"{folder} is a folder without Parquet files; give a dataset file (.parquet, .csv or "
                         ".tsv), or a folder of Parquet parts (read in file-name order)")
    frames, keys = zip(*(_read_part(file, folder, columns, exclude) for file in files))
    _partition_types(frames, set().union(*keys))
    first = list(frames[0].columns)
    for file, frame in zip(files[1:], frames[1:]):
        if set(frame.columns) != set(first):
            missing = [c for c in first if c not in frame.columns]
            extra = [c for c in frame.columns if c not in first]
            raise ValueError(f"{file} has other columns than {files[0].name}, the folder's first part ("
                             + "; ".join(part for part in (f"missing {missing}" if missing else "",
                                                           f"extra {extra}" if extra else "") if part)
                             + "): the parts of one dataset share their columns; rewrite it, or move it out")
    df = pd.concat([frame[first] for frame in frames], ignore_index=True)
    if not len(df):
        parts = "its Parquet part is" if len(files) == 1 else f"its {len(files)} Parquet parts are"
        raise ValueError(f"{folder} holds no songs: {parts} empty")
    return df


def _decimal_commas(df, path):
    """A semicolon-separated file's columns of numbers written with a decimal comma ("0,52", as a spreadsheet
    writes them where the comma is the decimal mark) as numbers; a column with any other text stays text."""
    import logging

    number = r"[-+]?\d*,?\d+(?:[eE][-+]?\d+)?"
    text = {schema.SONG_ID, schema.TITLE, schema.ARTIST, schema.ALBUM, schema.LYRICS, schema.TAGS}
    converted = []
    for column in df.columns:
        values = df[column].dropna()
        if column in text or not len(values) or pd.api.types.is_numeric_dtype(values) \
                or not values.map(type).eq(str).all():
            continue
        if values.str.fullmatch(number).all() and values.str.contains(",", regex=False).any():
            df[column] = pd.to_numeric(df[column].str.replace(",", ".", regex=False))
            converted.append(str(column))
    if converted:
        logging.getLogger(__name__).warning("%s: decimal commas read as numbers in %s", path, ", ".join(converted))
    return df


def _separator(path, expected):
    """:func:`musemood._validation.header_separator`, said in a warning when it is not ``expected``: the
    file is read all the same."""
    import logging

    sep = header_separator(path, expected)
    if sep != expected:
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:  # without Excel's BOM
            header = f.readline().rstrip("\r\n")
        logging.getLogger(__name__).warning(
            "%s is separated by %s (its header: %r), not %s as a %s file would be: read with %s", path,
            SEPARATORS[sep], header[:80], SEPARATORS[expected], Path(path).suffix, SEPARATORS[sep])
    return sep


#: What marks a missing value in a CSV (pandas' defaults), except in the columns of TEXT_AS_WRITTEN.
MISSING_MARKERS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                   "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
#: Columns read as written but for an empty field: a song called "None" or "NULL", a band called "NaN".
TEXT_AS_WRITTEN = frozenset({schema.SONG_ID, schema.TITLE, schema.ARTIST, schema.ALBUM, schema.LYRICS})


def _read_delimited(path, sep, columns, exclude=()):
    """A CSV or TSV read with CSV quoting, checked where a field opens with a quote mark.

    A field that opens with a quote mark and is not closed as quoting needs (a closing mark at the field's
    end, marks inside doubled) makes pandas drop its quote marks, or swallow the next lines (their ids and
    labels) until a closing one, without a word.  Such a file is checked with Python's strict CSV reader.
    A TSV often has no quoting at all (Poem Sentiment's, a database export): it is then read a line a row
    without quoting, with a warning.  A CSV needs its quoting (commas in the lyrics), so it is refused,
    naming the line, as is a TSV that does not read a line a row either.
    """
    import csv
    import io
    import logging
    import re

    header = pd.read_csv(path, sep=sep, nrows=1, header=None, dtype=str).iloc[0].tolist()  # names as written
    twice = next((name for i, name in enumerate(header) if name in header[:i]), None)
    if twice is not None:  # pandas would read the second as "name.1" and a model take the first
        raise ValueError(f"{path}: its header names the column {twice!r} twice (columns "
                         f"{header.index(twice) + 1} and {header.index(twice, header.index(twice) + 1) + 1}); "
                         "rename or remove one")
    if columns is None and any(name in exclude for name in header):
        columns = [name for name in header if name not in exclude]
    if columns is not None:
        columns = usecols_for(header, columns)
    missing = {name if isinstance(name, str) else f"Unnamed: {i}": [""] if name in TEXT_AS_WRITTEN else MISSING_MARKERS
               for i, name in enumerate(header)}  # pandas names a column without a name "Unnamed: i"
    options = dict(sep=sep, usecols=columns, keep_default_na=False, na_values=missing)
    try:
        df, error = pd.read_csv(path, **options), None
    except pd.errors.ParserError as exc:  # e.g. a quote mark never closed: "EOF inside string"
        df, error = None, exc
    opens = re.compile(r'(?:^|%s)"' % re.escape(sep), flags=re.MULTILINE)  # a field opening with a quote mark
    raw = Path(path).read_text(encoding="utf-8")
    problem = None
    if opens.search(raw):
        reader = csv.reader(io.StringIO(raw, newline=""), delimiter=sep, strict=True)
        try:
            for _ in reader:
                pass
        except csv.Error as exc:
            problem = f"line {reader.line_num}: {exc}"
    if problem is None:
        if error is not None:
            raise error
        return df
    if sep == "\t":
        lines = [line for line in raw.splitlines() if line.strip()]
        try:
            plain = pd.read_csv(io.StringIO(raw), **options, quoting=csv.QUOTE_NONE)
        except (ValueError, pd.errors.ParserError):
            plain = None
        if plain is not None and len(plain) == len(lines) - 1:
            quoting = ("could not be read" if df is None else f"gave {len(df)} rows" if len(df) != len(plain)
                       else "dropped quote marks")
            logging.getLogger(__name__).warning(
                "%s has no quoting: read a line a row (%d rows), its quote marks kept as text (read with quoting, "
                "it %s)", path, len(plain), quoting)
            return plain
        unquoted = ", and without quoting its lines do not all have the header's fields"
    else:
        unquoted = ""
    raise ValueError(f"{path}: a field opens with a quote mark that is not closed as CSV quoting needs "
                     f"({problem}){unquoted}: read as it is, rows would be merged or quote marks dropped. Quote "
                     "its fields as a spreadsheet does (a quote mark inside a field doubled), or remove the stray "
                     "quote mark")


def _tags_to_records(tags):
    if tags is None or (isinstance(tags, float) and np.isnan(tags)):
        return None
    pairs = tags.items() if isinstance(tags, dict) else tags
    return [{"tag": str(t), "count": float(c)} for t, c in pairs]


def read_tag_cells(values, *, show_progress_bar=False):
    """Each song's tags as a list of ``(tag, count)`` pairs, from a CSV cell's JSON or a list or mapping in
    memory; returns ``(tags, problems)``, ``problems`` a list of ``(position, what is wrong)`` for every song
    whose tags cannot be read (their tags read as none), so that a caller can name them all."""
    from tqdm.auto import tqdm

    tags, problems = [], []
    bar = tqdm(values, desc="Parsing tags", unit="song", disable=not show_progress_bar, dynamic_ncols=True,
               mininterval=0.5)
    for position, value in enumerate(bar):
        try:
            tags.append(_cell_tags(value))
        except ValueError as exc:
            tags.append([])
            problems.append((position, str(exc)))
    return tags, problems


def _cell_tags(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            value = _python_literal(value, exc)
    if isinstance(value, dict):
        value = list(value.items())
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(f"tags are {value!r}; give a list of [tag, count] pairs or an object {{tag: count}}")
    out = []
    for item in value:
        try:
            tag, count = (item["tag"], item["count"]) if isinstance(item, dict) else item
            count = float(count)
        except (KeyError, TypeError, ValueError):  # not a pair, or a count that is not a number
            raise ValueError(f"the tag entry {_plain_item(item)!r} is not a tag with a number of listeners (a "
                             "[tag, count] pair, or {\"tag\": ..., \"count\": ...})") from None
        if not math.isfinite(count) or count < 0:  # math's, not NumPy's: 30 times faster on one number
            raise ValueError(f"tag {tag!r} has the count {count:g}; counts are numbers >= 0 (raw counts, or "
                             "Last.fm's weights 0-100)")
        out.append((str(tag), int(count) if count.is_integer() else count))
    return out


#: NumPy 2's repr of a number (``np.int64(10)``), as DataFrame.to_csv writes counts NumPy made.
_NUMPY_NUMBER = re.compile(r"\bnp\.(?:u?int|float)\d*\(([-+0-9.eE]+|nan|inf)\)")


def _python_literal(text, json_error):
    """Tags as ``DataFrame.to_csv`` writes a list of pairs or a dict: Python's repr, read as literals only;
    or a NumPy array of them as NumPy prints it (:func:`_numpy_print_as_list`)."""
    import ast

    text = _NUMPY_NUMBER.sub(r"\1", text)
    try:
        return ast.literal_eval(text)
    except SyntaxError:
        listed = _numpy_print_as_list(text)
        if listed is not None:
            return _python_literal(listed, json_error)
    except (ValueError, TypeError, MemoryError, RecursionError):
        pass
    raise ValueError(f"tags are neither JSON nor a Python list or dict ({json_error}); give a list of "
                     "[tag, count] pairs or an object {tag: count}") from None


def _numpy_print_as_list(text):
    """A NumPy array of tags as NumPy prints it, ``[{'tag': 'sad', 'count': 3.0} {'tag': ...}]`` (no
    commas between the elements, lines wrapped), as a Python list literal; None when ``text`` is not such
    a print.  This is what ``DataFrame.to_csv`` writes for the tags of a table read from Parquet, where a
    list column comes back as NumPy arrays.  A comma goes between two values with none between them, found
    by Python's tokenizer, so a tag holding "} {" stays as it is; a 2-D array (of pairs) is read the same
    way.  NumPy cuts a print of over 1,000 elements short with "...": refused, as the tags left out
    cannot be read back."""
    import io
    import tokenize

    if not (text.startswith("[") and text.rstrip().endswith("]")):
        return None
    starts = np.cumsum([0] + [len(line) for line in io.StringIO(text).readlines()])  # the tokenizer's lines
    commas, previous = [], None
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
                continue
            if token.string == "...":
                raise ValueError("tags are a NumPy array printed cut short (\"...\" in place of the tags over its "
                                 "first and last ones), as DataFrame.to_csv writes more than 1,000 of them: the "
                                 "tags left out are lost. Write the file again with musemood.datasets.save_dataset, "
                                 "which writes tags as JSON, or keep it as Parquet")
            if previous is not None and _value_edge(previous, ")]}") and _value_edge(token, "([{"):
                row, col = token.start
                commas.append(int(starts[row - 1]) + col)
            previous = token
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    if not commas:
        return None
    pieces = [text[i:j] for i, j in zip([0, *commas], [*commas, len(text)])]
    return ",".join(pieces)


_LITERAL_NAMES = ("None", "True", "False")


def _value_edge(token, brackets):
    """A token that opens (``brackets`` "([{") or closes (")]}") a value of a printed array: such a bracket, a
    string, a number or None/True/False.  Python's own reprs always put a comma or a colon between two
    values; NumPy's print puts only spaces or a line break."""
    import tokenize

    return (token.type == tokenize.OP and token.string in brackets) or token.type in (
        tokenize.STRING, tokenize.NUMBER) or (token.type == tokenize.NAME and token.string in _LITERAL_NAMES)


def _rows_in_words(rows, shown=10):
    """``rows 1, 2 and 4`` (the first ``shown``, then how many more)."""
    words = [str(row) for row in rows[:shown]]
    if len(rows) > shown:
        return f"rows {', '.join(words)} and {len(rows) - shown:,} more"
    return f"rows {', '.join(words[:-1])} and {words[-1]}" if len(words) > 1 else f"row {words[0]}"


def _plain_item(item):
    """A tag entry as plain Python (Parquet gives NumPy arrays and dicts), for messages."""
    return item.tolist() if hasattr(item, "tolist") else item
