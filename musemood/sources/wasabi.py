"""Songs from the WASABI corpus dump, and crowd tags from dumps that spare the Last.fm API.

:func:`read_wasabi_songs` streams WASABI's songs CSV in chunks (2M rows never sit in memory at
once), keeps English songs that have a Spotify and a Last.fm link, and drops songs that appear
on several albums (same normalised title and artist).  Columns are found by their WASABI names
(``_id``, ``title``, ``artist``/``name``, ``albumTitle``, ``urlSpotify``, ``urlLastFm``,
``id_song_musicbrainz``, ``language_detect``) or by ours (``song_id``, ``spotify_id``, ...);
pass ``columns=`` to map others.

:func:`read_tag_dump` reads tags with counts from WASABI's Last.fm (social or emotion) tag
dumps, as a long table (``song id, tag, count`` rows, CSV or Parquet) or JSON lines
(``{"id": ..., "tags": [[tag, count], ...]}``); :func:`read_msd_lastfm` reads the Million Song
Dataset's Last.fm JSON files (``{"artist", "title", "tags": [[tag, "100"], ...], ...}``),
matched to songs by normalised title and artist.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from .._validation import check_fields_match_header, header_separator, refuse_not_utf8, usecols_for
from ..text import normalize_title

#: Our name -> the names a column may have in a dump (first found wins).
COLUMNS = {
    "song_id": ("_id", "song_id", "id"),
    "title": ("title",),
    "artist": ("artist", "artist_name", "name"),
    "album": ("albumTitle", "album_title", "album"),
    "spotify_id": ("urlSpotify", "spotify_id", "spotify_url"),
    "lastfm_url": ("urlLastFm", "lastfm_url", "lastfm_id"),
    "mbid": ("id_song_musicbrainz", "mbid", "musicbrainz_id"),
    "language": ("language_detect", "language", "lang"),
}
ENGLISH = {"english", "en", "eng"}
_SPOTIFY_ID = re.compile(r"(?:track[/:])?([0-9A-Za-z]{22})(?:\?.*)?$")


def spotify_id_of(value):
    """The 22-character track id in a Spotify URL, URI or bare id; None when there is none."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    match = _SPOTIFY_ID.search(str(value).strip())
    return match.group(1) if match else None


def _resolve_columns(available, columns, path):
    found, looked = {}, {}
    for ours, names in COLUMNS.items():
        names = (columns[ours],) if columns and ours in columns else names
        found[ours], looked[ours] = next((n for n in names if n in available), None), names
    missing = [c for c in ("song_id", "title", "artist") if found[c] is None]
    if missing:
        wanted = "; ".join(f"{c}: one of {list(looked[c])}" for c in missing)
        raise ValueError(f"{path} is not a WASABI songs file: it has no column for {missing} ({wanted}; its columns: "
                         f"{sorted(available)}). Give the WASABI songs CSV, or name your columns with "
                         "read_wasabi_songs(columns={'song_id': ..., 'title': ..., 'artist': ...})")
    return found


def read_wasabi_songs(path, *, chunksize=100_000, english_only=True, require=("spotify_id", "lastfm_url"),
                      columns=None, limit=None, progress=None, stats=None):
    """Stream the songs to keep from a WASABI songs CSV, chunk by chunk.

    Yields lists of song dicts (``song_id``, ``title``, ``artist``, ``album``, ``spotify_id``,
    ``lastfm_url``, ``mbid``), one list per chunk, and counts in ``stats`` how many rows were
    read (``rows``), kept (``kept``) and dropped per reason.

    Parameters
    ----------
    path : str or Path
        The songs CSV (tab, comma or semicolon separated; the separator is sniffed).
    chunksize : int, default=100_000
        Rows per chunk: memory grows with this, not with the file.
    english_only : bool, default=True
        Keep songs whose detected language is English.
    require : tuple, default=("spotify_id", "lastfm_url")
        Links a song must have.
    columns : dict, optional
        Our column name -> the file's, for files that name columns otherwise.
    limit : int, optional
        Stop after this many kept songs.
    progress : callable, optional
        Called with the number of rows read after each chunk.
    stats : collections.Counter, optional
        Filled with the counts as the chunks go by.
    """
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no WASABI songs file at {path}")
    sep = header_separator(path)
    try:
        header = pd.read_csv(path, sep=sep, nrows=0).columns
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        refuse_not_utf8(exc, path)  # WASABI's files are UTF-8; one saved again by a spreadsheet may not be
        raise ValueError(f"{path} is not a readable CSV ({exc}); the file may be truncated: download it again") \
            from None
    found = _resolve_columns(set(header), columns, path)
    usecols = usecols_for(header, [c for c in found.values() if c is not None])
    stats = Counter() if stats is None else stats
    seen = set()
    try:
        reader = pd.read_csv(path, sep=sep, usecols=usecols, dtype=str, chunksize=chunksize,
                             keep_default_na=False, on_bad_lines="error")
        for chunk in reader:
            check_fields_match_header(chunk, path)
            chunk = chunk.rename(columns={v: k for k, v in found.items() if v is not None})
            _check_not_merged(chunk, path, stats["rows"], sep)
            stats["rows"] += len(chunk)
            kept = []
            for row in chunk.to_dict("records"):
                reason = _drop_reason(row, english_only, require, seen)
                if reason:
                    stats[reason] += 1
                    continue
                kept.append({"song_id": row["song_id"], "title": row["title"], "artist": row["artist"],
                             "album": row.get("album") or None, "spotify_id": spotify_id_of(row.get("spotify_id")),
                             "lastfm_url": row.get("lastfm_url") or None, "mbid": row.get("mbid") or None})
                if limit is not None and stats["kept"] + len(kept) >= limit:
                    break
            stats["kept"] += len(kept)
            if progress:
                progress(stats["rows"])
            if kept:
                yield kept
            if limit is not None and stats["kept"] >= limit:
                break
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        refuse_not_utf8(exc, path)
        raise ValueError(f"{path} is not a readable CSV after row {stats['rows']} ({exc}); "
                         "the file may be truncated: download it again") from None


def _check_not_merged(chunk, path, start, sep):
    """Refuse a title or artist holding a line break followed by the separator: a quote mark opening a field
    of a file with no quoting ran over the next rows, which would be lost without a word."""
    swallowed = "\n[^\n]*" + re.escape(sep)  # a row's fields after a line break inside one value
    for column in ("title", "artist"):
        merged = chunk[column].str.contains(swallowed, regex=True).to_numpy()
        if merged.any():
            row = start + int(merged.argmax()) + 1
            raise ValueError(f"{path}: row {row}'s {column} holds line breaks and the next rows' fields: a quote "
                             "mark at its start ran over them, as when a file with no quoting is read with CSV "
                             "quoting. Save the file with its fields quoted as CSV quotes them (a quote mark inside "
                             "a field doubled), or remove the stray quote mark")


def _drop_reason(row, english_only, require, seen):
    if not row.get("song_id") or not row.get("title") or not row.get("artist"):
        return "no id, title or artist"
    if english_only and str(row.get("language") or "").strip().lower() not in ENGLISH:
        return "not English"
    if "spotify_id" in require and not spotify_id_of(row.get("spotify_id")):
        return "no Spotify id"
    if "lastfm_url" in require and not row.get("lastfm_url"):
        return "no Last.fm link"
    key = normalize_title(row["title"]) + "\x00" + normalize_title(row["artist"])
    if key in seen:
        return "duplicate (same song on another album)"
    seen.add(key)
    return None


def read_tag_dump(path, *, id_column=None, tag_column="tag", count_column="count"):
    """``{song id: [(tag, count), ...]}`` from a WASABI Last.fm tag dump (long table or JSON lines)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no tag dump at {path}")
    try:
        return _tag_dump(path, id_column, tag_column, count_column)
    except UnicodeDecodeError as exc:
        refuse_not_utf8(exc, path)
        raise


def _tag_dump(path, id_column, tag_column, count_column):
    import pandas as pd

    out = {}
    if path.suffix.lower() in (".json", ".jsonl", ".ndjson"):
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    song = str(record.get(id_column or "id", record.get("_id", record.get("song_id"))))
                    out[song] = [(str(t), float(c)) for t, c in record["tags"]]
                except (ValueError, KeyError, TypeError) as exc:
                    raise ValueError(f"{path}, line {number}: not a tag record ({exc}); expected "
                                     '{"id": ..., "tags": [[tag, count], ...]}') from None
        return out
    if path.suffix.lower() in (".parquet", ".pq"):
        table = pd.read_parquet(path)
    else:
        table = pd.read_csv(path, sep=header_separator(path), dtype={id_column: str} if id_column else None)
        check_fields_match_header(table, path)
    id_column = id_column or next((c for c in ("song_id", "_id", "id", "id_song") if c in table.columns), None)
    missing = [c for c in (id_column, tag_column, count_column) if c not in table.columns]
    if missing:
        raise ValueError(f"{path} lacks columns {missing} (it has {list(table.columns)}); pass id_column=, "
                         "tag_column=, count_column=")
    table = table.sort_values([id_column, count_column], ascending=[True, False], kind="stable")
    for song, group in table.groupby(id_column, sort=False):
        out[str(song)] = list(zip(group[tag_column].astype(str), group[count_column].astype(float)))
    return out


def read_msd_lastfm(folder):
    """``{(normalised title, normalised artist): [(tag, count), ...]}`` from the MSD Last.fm JSON files."""
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"no Last.fm dataset folder at {folder}")
    out = {}
    for path in sorted(folder.rglob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            key = (normalize_title(record["title"]), normalize_title(record["artist"]))
            out[key] = [(str(t), float(c)) for t, c in record.get("tags", [])]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path} is not a Last.fm dataset track file ({exc})") from None
    return out
