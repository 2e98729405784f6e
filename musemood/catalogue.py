"""The song catalogue: who is who in a recommender, and finding a song by a (misspelt) title.

:class:`SongCatalogue` holds one row per song (title, artist, mood, cluster, and
``song_id`` / ``split`` when known) and answers title lookups: exact after
normalisation, then fuzzy (rapidfuzz) above ``min_title_score``, with errors that
carry the closest titles (:class:`SongNotFoundError`) or the artists that share a
title (:class:`AmbiguousTitleError`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema
from ._validation import check_unique_columns, is_text_or_missing, row_of
from .persistence import read_config, write_config
from .text import fold_signature, normalize_title

logger = logging.getLogger(__name__)

#: Above this many songs, fuzzy lookups score only the candidates of a trigram index
#: (:class:`~musemood.retrieval.TrigramIndex`) instead of every song's title.
FUZZY_INDEX_ABOVE = 50_000
#: How many candidates the trigram index gives the fuzzy scorer.
FUZZY_CANDIDATES = 2000


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


def _per_value(column: pd.Series, fold) -> np.ndarray:
    """``fold`` of every value of a text column (missing: ""), as an object array, computed once per
    distinct value: equal values share one string.  An artist has many songs and a mood thousands,
    so at a million songs this is a fraction of the time and memory of one string per song."""
    codes, values = pd.factorize(column.fillna(""))
    return np.asarray([fold(v) for v in values.tolist()], dtype=object)[codes]


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
        moods = (df[self.mood_column].astype("string") if self.mood_column in df.columns
                 else pd.Series(pd.NA, index=df.index, dtype="string"))
        songs = pd.DataFrame({
            schema.TITLE: df[schema.TITLE].astype("string"),
            schema.ARTIST: df[schema.ARTIST].astype("string"),
            "mood": moods,
            "cluster": np.full(len(df), -1, dtype=np.int64),
        })
        for column in (schema.SONG_ID, schema.SPLIT):
            if column in df.columns:
                songs[column] = df[column].astype("string")
        self.songs_ = songs.reset_index(drop=True)
        self.search_index_ = None
        self._index()
        return self

    def set_clusters(self, labels) -> None:
        self.songs_["cluster"] = np.asarray(labels, dtype=np.int64)
        self.clusters_ = self.songs_["cluster"].to_numpy()

    def _index(self, folded=None):
        """Lookups over ``songs_``; ``folded``: the titles and artists already folded (a saved catalogue's)."""
        songs = self.songs_
        for column in songs.columns:  # one Arrow chunk per column: see _one_chunk
            songs[column] = _one_chunk(songs[column])
        if folded is None:
            titles = _per_value(songs[schema.TITLE], normalize_title)
            self.norm_artists_ = _per_value(songs[schema.ARTIST], normalize_title)
        else:
            titles, self.norm_artists_ = folded
        self._title_order = np.argsort(titles, kind="stable")
        self._sorted_titles = titles[self._title_order]
        self.norm_titles_ = titles
        self._keys = None  # search keys, built on first use
        self.moods_ = _per_value(songs["mood"], str)
        self.mood_names_ = sorted(set(self.moods_) - {""})
        self._mood_masks = {}  # mood -> read-only mask, made on first use (comparing 1M moods: 12 ms)
        self.labelled_ = songs["mood"].notna().to_numpy()
        self.clusters_ = songs["cluster"].to_numpy()
        if len(songs) <= FUZZY_INDEX_ABOVE:
            self.search_index_ = None
        elif getattr(self, "search_index_", None) is None:  # not loaded with the catalogue: build it
            from .retrieval import TrigramIndex

            self.search_index_ = TrigramIndex().build(map(_search_key, titles, self.norm_artists_))

    def _closest(self, key, what, scorer, limit, score_cutoff=None):
        """``[(string, score, row)]`` of the songs whose title (``what="title"``) or "title artist"
        (``"key"``) is most like ``key`` under the rapidfuzz ``scorer``: every song scored, or on a
        large catalogue the trigram index's candidates.  (``"sorted title"``: titles in sorted order,
        the third item a position in that order when every song is scored.)"""
        from rapidfuzz import process

        if self.search_index_ is None:
            strings = {"title": self.norm_titles_, "sorted title": self._sorted_titles}.get(what)
            strings = self._search_keys() if strings is None else strings
            return process.extract(key, strings, scorer=scorer, limit=limit, score_cutoff=score_cutoff)
        rows = self.search_index_.candidates(key, FUZZY_CANDIDATES)
        strings = [_search_key(self.norm_titles_[i], self.norm_artists_[i]) if what == "key" else self.norm_titles_[i]
                   for i in rows]
        found = process.extract(key, strings, scorer=scorer, limit=limit, score_cutoff=score_cutoff)
        return [(string, score, int(rows[j])) for string, score, j in found]

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
        if len({self.norm_artists_[i] for i in ids}) > 1:
            names = self._artists_of(ids)  # "" for a song without an artist: artist="" chooses it
            shown = [name or NO_ARTIST for name in names]
            raise AmbiguousTitleError(
                f"{len(names)} artists have a song titled {title!r}: {', '.join(shown[:10])}"
                f"{' ...' if len(names) > 10 else ''}; pass artist= (or --artist) to choose", names)
        if note:
            logger.warning(note)
        return int(ids[0]), note

    def _by_artist(self, title, artist, ids):
        from rapidfuzz import fuzz

        wanted = normalize_title(artist)
        scores = np.asarray([fuzz.ratio(wanted, self.norm_artists_[i]) for i in ids])
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
        lo = np.searchsorted(self._sorted_titles, key, side="left")
        hi = np.searchsorted(self._sorted_titles, key, side="right")
        return np.sort(self._title_order[lo:hi])

    def mood_mask(self, mood: str | None) -> np.ndarray | None:
        """Which songs have ``mood`` (``None`` for no mood filter); an unknown mood is a ValueError."""
        if mood is None:
            return None
        if mood not in self.mood_names_:
            raise ValueError(f"unknown mood {mood!r}; the catalogue's moods are {self.mood_names_}")
        if mood not in self._mood_masks:
            mask = self.moods_ == mood
            mask.flags.writeable = False
            self._mood_masks[mood] = mask
        return self._mood_masks[mood]

    def same_song(self, row: int) -> np.ndarray:
        """Rows of the same song (same title and artist: re-releases), ``row`` included."""
        ids = self.title_ids(self.norm_titles_[row])
        return ids[self.norm_artists_[ids] == self.norm_artists_[row]]

    def first_of_each_song(self, rows, n: int) -> np.ndarray:
        """Positions in ``rows`` of the first row of each distinct song (title and artist as folded:
        re-releases are one song), at most ``n`` of them, in order."""
        seen, keep = set(), []
        for position, row in enumerate(rows):
            key = (self.norm_titles_[row], self.norm_artists_[row])
            if key not in seen:
                seen.add(key)
                keep.append(position)
                if len(keep) == n:
                    break
        return np.asarray(keep, dtype=np.int64)

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
        if not key:
            return pd.DataFrame(columns=["row", schema.TITLE, schema.ARTIST, "score"])
        found = self._closest(key, "key", fuzz.WRatio, top_k)
        return pd.DataFrame([{"row": int(i), schema.TITLE: self.songs_.at[i, schema.TITLE],
                              schema.ARTIST: self.songs_.at[i, schema.ARTIST], "score": float(s)}
                             for _, s, i in found])

    def _search_keys(self):
        """"title artist" per song, normalised; built on the first search, not per query."""
        if getattr(self, "_keys", None) is None:
            self._keys = list(map(_search_key, self.norm_titles_, self.norm_artists_))
        return self._keys

    # ----------------------------------------------------------- persistence
    def save(self, path) -> Path:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.songs_.to_parquet(path / "songs.parquet", index=False)
        # the folded forms, so that loading does not fold every title again (5 s at a million songs)
        pq.write_table(pa.table({schema.TITLE: pa.array(self.norm_titles_.tolist(), pa.string()),
                                 schema.ARTIST: pa.array(self.norm_artists_.tolist(), pa.string())}),
                       path / FOLDED_FILE)
        if self.search_index_ is not None:
            self.search_index_.save(path / "search")
        elif (path / "search").is_dir():  # left by an earlier, larger catalogue saved here
            import shutil

            shutil.rmtree(path / "search")
        return write_config(path, self, {"min_title_score": self.min_title_score, "mood_column": self.mood_column},
                            fold=fold_signature())

    @classmethod
    def load(cls, path, *, mmap=False) -> SongCatalogue:
        """Read a catalogue written by :meth:`save`; ``mmap`` maps its trigram index, if it has one."""
        path = Path(path)
        config = read_config(path, cls)
        out = cls(**config["params"])
        score = out.min_title_score
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 100:
            raise ValueError(f"{path / 'config.json'}: min_title_score must be a number in [0, 100], got {score!r}; "
                             "save the catalogue again")
        songs = pd.read_parquet(path / "songs.parquet")
        for column in songs.columns:
            if column != "cluster":
                songs[column] = songs[column].astype("string")
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
                                 f"{path / 'songs.parquet'} holds {len(songs):,}: the folder mixes files from "
                                 "different saves; save the catalogue again")
        out._index(_read_folded(path, len(songs)) if same_folding else None)
        import pyarrow as pa

        pa.default_memory_pool().release_unused()  # the tables read: 150 MB kept by Arrow's allocator at 1M songs
        return out


#: The file of a saved catalogue that holds each song's folded title and artist.
FOLDED_FILE = "folded.parquet"


def _read_folded(path, n_songs):
    """The folded titles and artists saved with the catalogue in folder ``path``, checked: ``None`` when
    the folder has none (saved by an earlier musemood: its songs are folded at load, as then)."""
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

    def column(name):  # already folded: only made into shared strings, as folding makes them
        return _per_value(pd.Series(pd.array(table[name].combine_chunks(), dtype="string[pyarrow]")), str)

    return column(schema.TITLE), column(schema.ARTIST)
