"""The song catalogue: who is who in a recommender, and finding a song by a (misspelt) title.

:class:`SongCatalogue` holds one row per song (title, artist, mood, cluster, and
``song_id`` / ``split`` when known) and answers title lookups: exact after
normalisation, then fuzzy (rapidfuzz) above ``min_title_score``, with errors that
carry the closest titles (:class:`SongNotFoundError`) or the artists that share a
title (:class:`AmbiguousTitleError`).
"""

from __future__ import annotations

import contextvars
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema
from ._validation import check_unique_columns, is_text_or_missing, row_of
from .persistence import read_config, replacing, write_config
from .text import fold_signature, normalize_title, valid_unicode

logger = logging.getLogger(__name__)

#: Above this many songs, fuzzy lookups score only the candidates of a trigram index
#: (:class:`~musemood.retrieval.TrigramIndex`) instead of every song's title.
FUZZY_INDEX_ABOVE = 50_000
#: How many candidates the trigram index gives the fuzzy scorer.
FUZZY_CANDIDATES = 2000
#: True where the caller shows each answer's ``query["note"]`` itself (the CLI prints it, the HTTP API
#: sends it): the catalogue then leaves a misspelt title's note out of the log (a server's log would
#: otherwise hold what its users typed).
NOTE_SHOWN = contextvars.ContextVar("musemood_note_shown", default=False)


def _search_key(title, artist):
    """The string a song is searched by: its normalised title and artist (the trigram index holds the same)."""
    return f"{title} {artist}"


def _one_chunk(column: pd.Series) -> pd.Series:
    """``column`` with its Arrow-backed strings in one chunk (other columns as they are).

    A Parquet file read back gives a string column in several chunks, and taking 10 rows
    from a 1M-song column in 8 chunks cost 2.2 ms (0.05 ms from one chunk): twice per
    recommendation, more than its vector search.
    """
    if not isinstance(column.dtype, pd.StringDtype) or column.dtype.storage != "pyarrow":
        return column
    data = column.array.__arrow_array__()  # the ChunkedArray behind the column
    if getattr(data, "num_chunks", 1) <= 1:
        return column
    return pd.Series(pd.array(data.combine_chunks(), dtype=column.dtype), index=column.index, name=column.name)


def _codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, values)`` of a text column with few distinct values (the moods): each song's code in the
    smallest integer type that holds it, -1 for a missing value, and the distinct values as an object array
    with "" last, so that ``values[codes]`` gives every song's value, "" when it has none.  At a million
    songs the codes take 1 MiB, where an object array of the values took 8."""
    codes, values = pd.factorize(column)
    kind = next(kind for kind in (np.int8, np.int16, np.int32, np.int64) if len(values) <= np.iinfo(kind).max)
    return codes.astype(kind), np.asarray([*map(str, values.tolist()), ""], dtype=object)


def _as_text(df, column) -> pd.Series:
    """``df[column]`` as a string column.  Text UTF-8 cannot hold (halves of UTF-16 pairs, which JSON's
    ``"\\ud83d"`` gives) is made valid (:func:`~musemood.text.valid_unicode`) and said in the log: Arrow,
    which holds the catalogue, refuses it."""
    try:
        return df[column].astype("string")
    except UnicodeEncodeError:
        pass
    broken = df[column].map(lambda value: isinstance(value, str) and valid_unicode(value) != value).to_numpy()
    n = int(broken.sum())
    logger.warning("column %r holds text UTF-8 cannot hold (halves of UTF-16 pairs, as JSON's \"\\ud83d\" spells "
                   "them) in %s song%s, the first at %s: each pair is stored as its character and each lone half as "
                   "U+FFFD", column, f"{n:,}", "" if n == 1 else "s", row_of(df, broken, skip=(column,)))
    return df[column].map(lambda value: valid_unicode(value) if isinstance(value, str) else value).astype("string")


def _lookup(titles: pd.Series, artists: pd.Series, fold) -> dict:
    """The lookup arrays of songs with ``titles`` and ``artists`` as ``fold`` folds them: the distinct
    folded titles in sorted order (an Arrow array), each song's int32 code into them, the songs' order by
    title (each title's songs in catalogue order), and the same for artists (no order).  Each distinct
    value is folded once, and the codes are made from the distinct values, never from a string per song."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = {}
    for what, column in (("title", titles), ("artist", artists)):
        codes, distinct = pd.factorize(column.fillna(""))
        folded = pa.array([fold(v) for v in distinct.tolist()], pa.large_string())  # 64-bit offsets: no 2 GiB cap
        values = pc.unique(folded)
        values = values.take(pc.array_sort_indices(values))  # by code point, as Python compares strings
        out[f"{what}_codes"] = pc.index_in(folded, value_set=values).to_numpy().astype(np.int32)[codes]
        out[f"{what}s"] = values
    out["title_order"] = np.argsort(out["title_codes"], kind="stable")
    return out


def _position(values, key) -> int:
    """Position of ``key`` in the sorted Arrow strings ``values``, or -1: a binary search that reads
    about 20 of a million strings."""
    lo, hi = 0, len(values)
    while lo < hi:
        middle = (lo + hi) // 2
        if values[middle].as_py() < key:
            lo = middle + 1
        else:
            hi = middle
    return lo if lo < len(values) and values[lo].as_py() == key else -1


def _titled(order, codes, code: int) -> slice:
    """Where the songs of title ``code`` are in ``order``, the songs in order of their title ``codes``: a
    binary search for the first over the mapped arrays (a table of each title's start held 8 bytes per title
    in every process), then steps of doubling length past the last, as most titles have one song or a few.
    (Read through memoryviews: a Python int from one is got in half the time of a numpy scalar.)"""
    order, codes = memoryview(order), memoryview(codes)
    lo, hi = 0, len(order)
    while lo < hi:
        middle = (lo + hi) // 2
        if codes[order[middle]] < code:
            lo = middle + 1
        else:
            hi = middle
    start, step = lo, 1
    while lo < len(order) and codes[order[lo]] == code:  # after this, the last is below lo, at or after lo - step
        lo, step = start + step, 2 * step
    hi, lo = min(lo, len(order)), max(start, lo - step // 2)
    while lo < hi:
        middle = (lo + hi) // 2
        if codes[order[middle]] == code:
            lo = middle + 1
        else:
            hi = middle
    return slice(start, lo)


#: How a song without an artist is named among artists: ``artist=""`` chooses it.
NO_ARTIST = "(no artist: artist=\"\")"


def song_name(title, artist) -> str:
    """``title - artist``, or the title alone for a song without an artist (``None`` or missing)."""
    return f"{title}" if artist is None or pd.isna(artist) else f"{title} - {artist}"


class SongNotFoundError(LookupError):
    """No catalogue song matches the title; ``suggestions`` holds the closest titles."""

    def __init__(self, message, suggestions=()):
        super().__init__(message)
        self.suggestions = list(suggestions)


class AmbiguousTitleError(LookupError):
    """Several artists have a song with this title; pass ``artist=``. ``artists`` lists them."""

    def __init__(self, message, artists=()):
        super().__init__(message)
        self.artists = list(artists)


def check_catalogue_frame(df, text_column=schema.LYRICS):
    """``df`` with a fresh index after checking it can be a catalogue (title, artist, lyrics; 3+ songs)."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError("the catalogue must be a pandas DataFrame with title, artist and lyrics columns")
    missing = [c for c in (schema.TITLE, schema.ARTIST, text_column) if c not in df.columns]
    if missing:
        hint = ("; set text_column= if the lyrics are in another column" if text_column in missing else
                ": the recommender finds songs by title and artist; add them (a title may be the id, an artist empty)")
        raise KeyError(f"the catalogue lacks columns {missing} (has {list(df.columns)}){hint}")
    check_unique_columns(df, name="the catalogue")
    if len(df) < 3:
        raise ValueError(f"a catalogue needs at least 3 songs, got {len(df)}")
    df = df.reset_index(drop=True)
    for column in (schema.TITLE, schema.ARTIST, text_column):
        bad = ~df[column].map(is_text_or_missing)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise TypeError(f"column {column!r} holds {type(df.at[row, column]).__name__} {df.at[row, column]} at "
                            f"row {row}{_song(df, row)}: it must hold text (or be empty)")
    if schema.SONG_ID in df.columns:
        repeated = df[schema.SONG_ID].duplicated(keep=False) & df[schema.SONG_ID].notna()
        if repeated.any():
            first = df.at[int(np.flatnonzero(repeated.to_numpy())[0]), schema.SONG_ID]
            rows = np.flatnonzero((df[schema.SONG_ID] == first).to_numpy())
            others = int(df.loc[repeated, schema.SONG_ID].nunique()) - 1
            raise ValueError(f"song_id {first!r} appears in rows {', '.join(map(str, rows[:5]))}"
                             f"{f' (and {others} more ids repeat)' if others else ''}: a catalogue holds each song "
                             "once; drop the copies (musemood.datasets.drop_duplicate_songs)")
    return df


def without_lyrics(texts) -> np.ndarray:
    """Mask of the cleaned ``texts`` (:func:`musemood.text.clean_texts`) that hold no sung words."""
    return np.fromiter((not text for text in texts), dtype=bool, count=len(texts))


def check_lyrics(df, texts, text_column, vectors_given):
    """Refuse songs without lyrics when the song vectors are those of their lyrics: every such song would get
    the vector of an empty text.  With vectors of the user's own (``vectors_given``) they are kept, logged.
    A catalogue with no lyrics at all is left to the lexical index's error, which says more."""
    empty = without_lyrics(texts)
    if not empty.any() or empty.all():
        return
    n = int(empty.sum())
    where = (f"{n:,} of the catalogue's {len(df):,} songs {'has' if n == 1 else 'have'} no lyrics in "
             f"{text_column!r} (empty, or only a mark such as [Instrumental]), the first at "
             f"{row_of(df, empty, title=True)}")
    if vectors_given:
        logger.warning("%s: they are found by their given vectors alone, with no keywords", where)
        return
    raise ValueError(f"{where}: their vectors would all be the vector of an empty text, so each would be "
                     "recommended the others (similarity 1.00) and they would make a cluster of their own. Fill "
                     "their lyrics (musemood scrape lyrics), or leave them out: musemood map --drop-missing, or in "
                     f"Python df[~df[{text_column!r}].map(musemood.text.is_instrumental)]")


def _song(df, row):
    return f" (song_id {df.at[row, schema.SONG_ID]!r})" if schema.SONG_ID in df.columns else ""


class SongCatalogue:
    """The songs of a recommender and lookups by title.

    Parameters
    ----------
    min_title_score : float, default=90
        Smallest rapidfuzz ratio (0-100) at which a misspelt title is accepted.
    mood_column : str, default="label"
        Column of the input frame with the mood labels (missing = unlabelled).

    Attributes
    ----------
    songs_ : DataFrame
        ``title``, ``artist``, ``mood``, ``cluster`` (-1 until a map sets it) and
        ``song_id`` / ``split`` when the input had them.
    """

    def __init__(self, *, min_title_score: float = 90, mood_column: str = schema.LABEL) -> None:
        self.min_title_score = min_title_score
        self.mood_column = mood_column

    def fit(self, df: pd.DataFrame) -> SongCatalogue:
        moods = (_as_text(df, self.mood_column) if self.mood_column in df.columns
                 else pd.Series(pd.NA, index=df.index, dtype="string"))
        songs = pd.DataFrame({
            schema.TITLE: _as_text(df, schema.TITLE),
            schema.ARTIST: _as_text(df, schema.ARTIST),
            "mood": moods,
            "cluster": np.full(len(df), -1, dtype=np.int64),
        })
        for column in (schema.SONG_ID, schema.SPLIT):
            if column in df.columns:
                songs[column] = _as_text(df, column)
        self.songs_ = songs.reset_index(drop=True)
        self.search_index_ = None
        self._index()
        return self

    def set_clusters(self, labels) -> None:
        self.songs_["cluster"] = np.asarray(labels, dtype=np.int64)
        self.clusters_ = self.songs_["cluster"].to_numpy()

    def _index(self, folded=None):
        """Lookups over ``songs_``.  ``folded``: the saved lookup arrays (see :meth:`save`), a dict of
        ``title_codes``, ``titles``, ``title_order``, ``artist_codes`` and ``artists``; else the titles and
        artists are folded here.

        Each folded title and artist is held once, in sorted Arrow arrays, and each song by the int32
        codes of its title and artist: with a catalogue loaded with ``mmap=True`` every per-song array
        is mapped from the saved file, so the workers of a server share one copy.
        """
        songs = self.songs_
        for column in songs.columns:  # one Arrow chunk per column: see _one_chunk
            songs[column] = _one_chunk(songs[column])
        if folded is None:
            folded = _lookup(songs[schema.TITLE], songs[schema.ARTIST], normalize_title)
        self._title_codes, self._titles = folded["title_codes"], folded["titles"]
        self._artist_codes, self._artists = folded["artist_codes"], folded["artists"]
        self._title_order = folded["title_order"]  # the songs grouped by title, each group in catalogue order
        self._keys = self._row_titles = None  # for fuzzy lookups without a trigram index: made on first use
        self._mood_codes, self._mood_values = _codes(songs["mood"])
        self.mood_names_ = sorted(set(self._mood_values) - {""})
        self._mood_masks = {}  # mood -> read-only mask, made on first use (comparing 1M moods: 12 ms)
        self.labelled_ = self._mood_codes >= 0
        self.clusters_ = songs["cluster"].to_numpy()
        if len(songs) <= FUZZY_INDEX_ABOVE:
            self.search_index_ = None
        elif getattr(self, "search_index_", None) is None:  # not loaded with the catalogue: build it
            from .retrieval import TrigramIndex

            self.search_index_ = TrigramIndex().build(map(_search_key, self._folded_titles(), self._folded_artists()))

    @property
    def moods_(self) -> np.ndarray:
        """Every song's mood, "" for a song without one (an object array made on each call: for a few
        songs, :meth:`mood_of`)."""
        return self._mood_values[self._mood_codes]

    def mood_of(self, rows):
        """The mood of song ``rows`` (a row: a string; rows: an object array), "" for a song without one."""
        return self._mood_values[self._mood_codes[rows]]

    def _folded_titles(self, rows=None) -> list[str]:
        """The folded titles of songs ``rows`` (``None``: every song), in that order."""
        return self._titles.take(self._title_codes if rows is None else self._title_codes[rows]).to_pylist()

    def _folded_artists(self, rows=None) -> list[str]:
        """The folded artists of songs ``rows`` (``None``: every song), in that order."""
        return self._artists.take(self._artist_codes if rows is None else self._artist_codes[rows]).to_pylist()

    def _closest(self, key, what, scorer, limit, score_cutoff=None):
        """``[(string, score, row)]`` of the songs whose title (``what="title"``) or "title artist"
        (``"key"``) is most like ``key`` under the rapidfuzz ``scorer``: every song scored, or on a
        large catalogue the trigram index's candidates.  (``"sorted title"``: titles in sorted order,
        the third item a position in that order when every song is scored.)"""
        from rapidfuzz import process

        if self.search_index_ is None:
            in_order, in_sorted_order = self._titles_of_rows()
            strings = {"title": in_order, "sorted title": in_sorted_order}.get(what) or self._search_keys()
            return process.extract(key, strings, scorer=scorer, limit=limit, score_cutoff=score_cutoff)
        rows = self.search_index_.candidates(key, FUZZY_CANDIDATES)
        strings = self._folded_titles(rows)
        if what == "key":
            strings = list(map(_search_key, strings, self._folded_artists(rows)))
        found = process.extract(key, strings, scorer=scorer, limit=limit, score_cutoff=score_cutoff)
        return [(string, score, int(rows[j])) for string, score, j in found]

    def _titles_of_rows(self):
        """The folded title of every song, in catalogue order and in sorted order (lists, for a catalogue
        small enough to score every title: made on its first fuzzy lookup, not per query)."""
        if self._row_titles is None:
            self._row_titles = self._folded_titles(), self._folded_titles(self._title_order)
        return self._row_titles

    def __len__(self):
        return len(self.songs_)

    # ---------------------------------------------------------------- lookup
    def find(self, title: str, artist: str | None = None) -> tuple[int, str | None]:
        """``(row, note)`` of a song by title (and artist): fuzzy, with helpful errors.

        ``note`` says which title was used when ``title`` was misspelt (else ``None``).
        """
        from rapidfuzz import fuzz

        key = normalize_title(title)
        if not key:
            symbols = f"the title {title!r} has no letters or digits to search by: " if title.strip() else ""
            raise ValueError(symbols + "give a song title (or text= for a free-text query)")
        ids = self.title_ids(key)
        note = None
        if not len(ids):
            matches = self._closest(key, "sorted title", fuzz.ratio, 5, self.min_title_score)
            if len({m[0] for m in matches}) == 1:
                ids = self.title_ids(matches[0][0])
                note = f"no song titled {title!r}; using the closest title {self.display(ids[0])!r}"
            else:
                suggestions = self.suggest(key)
                hint = "; did you mean " + ", ".join(repr(s) for s in suggestions) + "?" if suggestions else ""
                raise SongNotFoundError(f"no song titled {title!r} in the catalogue{hint}", suggestions)
        if artist is not None:
            ids = self._by_artist(title, artist, ids)
        if len(np.unique(self._artist_codes[ids])) > 1:
            names = self._artists_of(ids)  # "" for a song without an artist: artist="" chooses it
            shown = [name or NO_ARTIST for name in names]
            raise AmbiguousTitleError(
                f"{len(names)} artists have a song titled {title!r}: {', '.join(shown[:10])}"
                f"{' ...' if len(names) > 10 else ''}; pass artist= (or --artist) to choose", names)
        if note and not NOTE_SHOWN.get():  # the answer's query["note"] holds it too
            logger.warning(note)
        return int(ids[0]), note

    def _by_artist(self, title, artist, ids):
        from rapidfuzz import fuzz

        wanted = normalize_title(artist)
        scores = np.asarray([fuzz.ratio(wanted, artist) for artist in self._folded_artists(ids)])
        if not len(scores) or scores.max() < self.min_title_score:
            raise SongNotFoundError(
                f"{title!r} is in the catalogue, but not by {artist!r}; artists with it: "
                + ", ".join(name or NO_ARTIST for name in self._artists_of(ids)),
                [self.display(i) for i in ids])
        return ids[scores == scores.max()]

    def _artists_of(self, ids):
        """The artists of catalogue rows ``ids``, each once, sorted; "" for a song without one."""
        return sorted({"" if pd.isna(artist) else str(artist) for artist in self.songs_[schema.ARTIST].iloc[ids]})

    def title_ids(self, key: str) -> np.ndarray:
        """Rows whose normalised title is ``key``, in catalogue order."""
        code = _position(self._titles, key)
        if code < 0:
            return np.empty(0, dtype=np.int64)
        return self._rows_titled(code)

    def _rows_titled(self, code: int) -> np.ndarray:
        return np.sort(self._title_order[_titled(self._title_order, self._title_codes, code)]).astype(np.int64)

    def mood_mask(self, mood: str | None) -> np.ndarray | None:
        """Which songs have ``mood`` (``None`` for no mood filter); an unknown mood is a ValueError."""
        if mood is None:
            return None
        if mood not in self.mood_names_:
            raise ValueError(f"unknown mood {mood!r}; the catalogue's moods are {self.mood_names_}")
        if mood not in self._mood_masks:
            mask = self._mood_codes == self._mood_values.tolist().index(mood)
            mask.flags.writeable = False
            self._mood_masks[mood] = mask
        return self._mood_masks[mood]

    def same_song(self, row: int) -> np.ndarray:
        """Rows of the same song (same title and artist: re-releases), ``row`` included."""
        ids = self._rows_titled(int(self._title_codes[row]))
        return ids[self._artist_codes[ids] == self._artist_codes[row]]

    def first_of_each_song(self, rows, n: int) -> np.ndarray:
        """Positions in ``rows`` of the first row of each distinct song (title and artist as folded:
        re-releases are one song), at most ``n`` of them, in order."""
        rows = np.asarray(rows, dtype=np.int64)
        size = 2 * n  # the first n songs are most often among the first 2n rows: look no further than needed
        while True:
            head = rows[:size]
            song = self._title_codes[head].astype(np.int64) << 32 | self._artist_codes[head]
            first = np.sort(np.unique(song, return_index=True)[1])
            if len(first) >= n or size >= len(rows):
                return first[:n].astype(np.int64)
            size *= 4

    def display(self, row: int) -> str:
        """:func:`song_name` of catalogue row ``row``."""
        return song_name(self.songs_.at[row, schema.TITLE], self.songs_.at[row, schema.ARTIST])

    def suggest(self, key: str, top_k: int = 5) -> list[str]:
        """Up to ``top_k`` distinct titles closest to ``key``."""
        from rapidfuzz import fuzz

        found = self._closest(key, "title", fuzz.WRatio, top_k * 3)
        out = []
        for _, _, i in found:
            shown = str(self.songs_.at[i, schema.TITLE])
            if shown not in out:
                out.append(shown)
        return out[:top_k]

    def search(self, query: str, top_k: int = 10) -> pd.DataFrame:
        """Songs whose title or artist is closest to ``query`` (for autocomplete): row, title, artist, score."""
        from rapidfuzz import fuzz

        from ._validation import check_top_k

        if not isinstance(query, str):
            raise TypeError(f"search takes the text typed so far (a string), got {type(query).__name__}")
        check_top_k(top_k)
        key = normalize_title(query)
        found = self._closest(key, "key", fuzz.WRatio, top_k) if key else []
        return pd.DataFrame([{"row": int(i), schema.TITLE: self.songs_.at[i, schema.TITLE],
                              schema.ARTIST: self.songs_.at[i, schema.ARTIST], "score": float(s)}
                             for _, s, i in found], columns=["row", schema.TITLE, schema.ARTIST, "score"])

    def _search_keys(self):
        """"title artist" per song, normalised; built on the first search, not per query."""
        if getattr(self, "_keys", None) is None:
            self._keys = list(map(_search_key, self._titles_of_rows()[0], self._folded_artists()))
        return self._keys

    # ----------------------------------------------------------- persistence
    def save(self, path) -> Path:
        """Write the catalogue to folder ``path``: its songs and lookup arrays in one Arrow file, which
        :meth:`load` can map (``mmap=True``), and the trigram index of a large catalogue."""
        import pyarrow as pa

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pandas(self.songs_, preserve_index=False).replace_schema_metadata(None)
        lookup = {"_folded_title": pa.DictionaryArray.from_arrays(pa.array(self._title_codes), self._titles),
                  "_folded_artist": pa.DictionaryArray.from_arrays(pa.array(self._artist_codes), self._artists),
                  "_title_order": pa.array(self._title_order, pa.int64())}
        for name, column in lookup.items():
            table = table.append_column(name, column)
        # uncompressed, so that it can be mapped; by way of a temporary file, as a server may map the old one
        with replacing(path / SONGS_FILE) as tmp, pa.ipc.new_file(str(tmp), table.schema) as writer:
            writer.write_table(table)
        for name in (LEGACY_SONGS_FILE, FOLDED_FILE):  # an earlier musemood's, saved here before
            (path / name).unlink(missing_ok=True)
        if self.search_index_ is not None:
            self.search_index_.save(path / "search")
        elif (path / "search").is_dir():  # left by an earlier, larger catalogue saved here
            import shutil

            shutil.rmtree(path / "search")
        return write_config(path, self, {"min_title_score": self.min_title_score, "mood_column": self.mood_column},
                            fold=fold_signature())

    @classmethod
    def load(cls, path, *, mmap=False) -> SongCatalogue:
        """Read a catalogue written by :meth:`save`.  ``mmap``: map its songs, lookup arrays and trigram index
        read-only from their files instead of reading them into memory, so that processes loading the same
        folder share one copy (``musemood serve``'s workers)."""
        path = Path(path)
        config = read_config(path, cls)
        out = cls(**config["params"])
        score = out.min_title_score
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 100:
            raise ValueError(f"{path / 'config.json'}: min_title_score must be a number in [0, 100], got {score!r}; "
                             "save the catalogue again")
        if (path / SONGS_FILE).exists():
            file = path / SONGS_FILE
            songs, folded = _read_songs(file, mmap)
        else:  # saved by a musemood before 2026-12-07: read into memory; saving it again makes it mappable
            file = path / LEGACY_SONGS_FILE
            if mmap:
                logger.info("%s was saved by an earlier musemood: its songs are read into memory, not mapped (save "
                            "the recommender or catalogue again to map them)", path)
            songs = pd.read_parquet(file)
            for column in songs.columns:
                if column != "cluster":
                    songs[column] = songs[column].astype("string")
            folded = _read_folded(path, len(songs))
        out.songs_ = songs
        # saved by a musemood that folded titles otherwise: fold them again and index what this one folds
        signature = fold_signature()
        same_folding = config.get("fold", signature) == signature
        if not same_folding:
            logger.info("%s was saved by a musemood that folds titles otherwise: folding them again (saving the "
                        "catalogue again saves this)", path)
        if len(songs) > FUZZY_INDEX_ABOVE and (path / "search").is_dir() and same_folding:
            from .retrieval import TrigramIndex

            out.search_index_ = TrigramIndex.load(path / "search", mmap=mmap)
            if out.search_index_.lexical.n_songs_ != len(songs):
                raise ValueError(f"{path / 'search'} indexes {out.search_index_.lexical.n_songs_:,} songs but "
                                 f"{file} holds {len(songs):,}: the folder mixes files from different saves; save "
                                 "the catalogue again")
        out._index(folded if same_folding else None)
        import pyarrow as pa

        pa.default_memory_pool().release_unused()  # the tables read: 150 MB kept by Arrow's allocator at 1M songs
        return out


#: The file of a saved catalogue: its songs, each song's folded title and artist (as codes into the sorted
#: distinct ones) and the songs' order by title, in Arrow's file format, uncompressed so that it can be mapped.
SONGS_FILE = "songs.arrow"
#: The files of a catalogue saved by a musemood before 2026-12-07 (read, no longer written): the songs, and
#: their folded titles and artists.
LEGACY_SONGS_FILE, FOLDED_FILE = "songs.parquet", "folded.parquet"
#: The columns of ``SONGS_FILE`` that are not songs' columns: the lookup arrays.
_LOOKUP_COLUMNS = ("_folded_title", "_folded_artist", "_title_order")


def _read_songs(file, mmap):
    """``(songs_, lookup arrays)`` from a catalogue's ``SONGS_FILE``, checked, mapped with ``mmap``: the
    strings stay in Arrow buffers and the per-song arrays are views of them, never copied."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def damaged(what):
        return ValueError(f"{file}: {what}; the file is damaged or was not written by musemood's "
                          "SongCatalogue.save: save the catalogue again")

    try:
        source = pa.memory_map(str(file)) if mmap else pa.OSFile(str(file))
        table = pa.ipc.open_file(source).read_all()
    except (OSError, pa.ArrowException) as exc:
        raise ValueError(f"{file} is not a readable Arrow file of songs ({exc}); save the catalogue again") from None
    needed = (schema.TITLE, schema.ARTIST, "mood", "cluster", *_LOOKUP_COLUMNS)
    missing = [c for c in needed if c not in table.column_names]
    if missing:
        raise damaged(f"it lacks columns {missing}")
    if any(column.num_chunks != 1 for column in table.columns):
        table = table.combine_chunks()  # not as save writes it (one batch): a copy
    song_columns = [c for c in table.column_names if c not in _LOOKUP_COLUMNS]
    text = [c for c in song_columns if c != "cluster"]
    for name in text:
        if not (pa.types.is_string(table[name].type) or pa.types.is_large_string(table[name].type)):
            raise damaged(f"its column {name!r} holds {table[name].type}, not text")
    if not pa.types.is_integer(table["cluster"].type) or table["cluster"].null_count:
        raise damaged(f"its column 'cluster' holds {table['cluster'].type}, not whole numbers")
    folded = {}
    for what in ("title", "artist"):
        column = table[f"_folded_{what}"]
        kind = column.type
        coded_text = pa.types.is_dictionary(kind) and (pa.types.is_string(kind.value_type)
                                                       or pa.types.is_large_string(kind.value_type))
        if not (coded_text and kind.index_type == pa.int32()):
            raise damaged(f"its column '_folded_{what}' holds {kind}, not the codes of folded {what}s")
        codes, values = column.chunks[0].indices, column.chunks[0].dictionary
        codes_array = codes.to_numpy(zero_copy_only=True) if not codes.null_count else None
        if (codes_array is None or values.null_count or len(codes_array)
                and (codes_array.min() < 0 or codes_array.max() >= len(values))):
            raise damaged(f"its folded {what}s point outside their {len(values):,} distinct values")
        if len(values) > 1 and not pc.all(pc.less(values[:-1], values[1:])).as_py():
            raise damaged(f"its distinct folded {what}s are not in sorted order")
        folded[f"{what}_codes"], folded[f"{what}s"] = codes_array, values
    order = table["_title_order"].chunks[0]
    if order.type != pa.int64() or order.null_count:
        raise damaged(f"its column '_title_order' holds {order.type}, not song positions")
    order = order.to_numpy(zero_copy_only=True)
    n = table.num_rows
    grouped = not n or (order.min() >= 0 and order.max() < n and (np.bincount(order, minlength=n) == 1).all()
                        and (np.diff(folded["title_codes"][order]) >= 0).all())
    if not grouped:
        raise damaged("its '_title_order' does not order the songs by title")
    folded["title_order"] = order
    songs = pd.DataFrame({name: pd.array(table[name], dtype=pd.StringDtype("pyarrow")) if name in text
                          else table[name].to_numpy() for name in song_columns}, copy=False)  # clusters: mapped
    return songs, folded


def _read_folded(path, n_songs):
    """The lookup arrays of a catalogue saved before 2026-12-07, from the folded titles and artists it saved in
    ``FOLDED_FILE``, checked: ``None`` when the folder has none (saved by an earlier musemood still: its songs
    are folded at load, as then)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    file = Path(path) / FOLDED_FILE
    if not file.exists():
        return None
    try:
        table = pq.read_table(file, columns=[schema.TITLE, schema.ARTIST])
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        raise ValueError(f"{file} is not a readable table of folded titles and artists ({exc}); save the "
                         "catalogue again") from None
    bad = [name for name in (schema.TITLE, schema.ARTIST)
           if not pa.types.is_string(table[name].type) or table[name].null_count]
    if table.num_rows != n_songs or bad:
        which = f" with {', '.join(bad)} not all text" if bad else ""
        raise ValueError(f"{file} holds {table.num_rows:,} rows{which} for {n_songs:,} songs: the folder mixes files "
                         "from different saves; save the catalogue again")

    titles, artists = (pd.Series(pd.array(table[name], dtype="string[pyarrow]")) for name in (schema.TITLE,
                                                                                            schema.ARTIST))
    return _lookup(titles, artists, str)  # already folded
