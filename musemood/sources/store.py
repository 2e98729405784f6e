"""The scrape store: one SQLite file that makes every scraping job resumable.

It holds three things:

- ``songs``: the catalogue being built (one row per song id, with its ids on the
  services and any extra fields as JSON);
- ``responses``: every raw answer a service gave, keyed by service and request key,
  so that a rerun never asks twice;
- ``stages``: each song's status per stage (``pending``, ``done``, ``failed`` with a
  reason) and how many attempts it took.

A job walks the pending songs of its stage and, for each song, stores the raw
response and the new status in **one transaction** (:meth:`ScrapeStore.complete`).
A job killed at any moment, even with ``kill -9``, loses at most the song in
flight: its response was either committed together with its status (and is not
asked again) or not at all (and the song is still pending).  SQLite's WAL journal
makes each commit durable against a crashed process.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from ..text import valid_unicode

STATUSES = ("pending", "done", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS songs (
    song_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    artist TEXT NOT NULL,
    spotify_id TEXT,
    lastfm_url TEXT,
    mbid TEXT,
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS responses (
    service TEXT NOT NULL,
    key TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT,
    fetched_at REAL NOT NULL,
    PRIMARY KEY (service, key)
);
CREATE TABLE IF NOT EXISTS stages (
    song_id TEXT NOT NULL REFERENCES songs(song_id),
    stage TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    PRIMARY KEY (song_id, stage)
);
CREATE INDEX IF NOT EXISTS stages_by_status ON stages (stage, status);
"""

_SONG_COLUMNS = ("song_id", "title", "artist", "spotify_id", "lastfm_url", "mbid")


def _text(value):
    """``str(value)`` as UTF-8 can hold it (see :func:`_valid`): a song id, a title, a request key."""
    return valid_unicode(str(value))


def _valid(value):
    """``value`` with its text, in lists and mappings too, as UTF-8 can hold it: a service's JSON may spell
    half a character (``"\\ud83d"``), which SQLite and Parquet refuse (:func:`musemood.text.valid_unicode`)."""
    if isinstance(value, str):
        return valid_unicode(value)
    if isinstance(value, dict):
        return {_valid(k): _valid(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_valid(v) for v in value]
    return value


def _statuses(retry_failed):
    return ("pending", "failed") if retry_failed else ("pending",)


def _id_set(song_ids):
    return {_text(s) for s in song_ids}


def _marks(values):
    return ", ".join("?" * len(values))


class StoreBusy(RuntimeError):
    """Another process holds this stage of the scrape store."""


class ScrapeStore:
    """A resumable scrape's state in one SQLite file.

    Parameters
    ----------
    path : str or Path
        The database file (created with its folder if missing).  ``":memory:"`` for tests.

    Examples
    --------
    >>> store = ScrapeStore(":memory:")
    >>> store.add_songs([{"song_id": "1", "title": "Song", "artist": "Band"}], stages=["lastfm"])
    1
    >>> [s["title"] for s in store.pending("lastfm")]
    ['Song']
    >>> store.complete("1", "lastfm", response=("lastfm", "band|song", 200, '{"tags": []}'))
    >>> store.counts("lastfm")
    {'pending': 0, 'done': 1, 'failed': 0}
    """

    def __init__(self, path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable against a killed process in WAL mode
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"{self.path} is not a usable scrape store ({exc}); move it aside and start "
                             "again, or point the job at another file") from None

    # ------------------------------------------------------------- plumbing
    @contextmanager
    def transaction(self):
        """A write transaction: committed on success, rolled back on any exception."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self):
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------------- songs
    def add_songs(self, songs, stages=()):
        """Add songs (dicts with song_id, title, artist and optional ids/extra fields), idempotently.

        Songs already in the store keep their data and their stage statuses; each of
        ``stages`` gets a pending row for songs that do not have one yet.  Returns
        the number of songs that were new.
        """
        now = time.time()
        added = 0
        with self.transaction() as db:
            for song in songs:
                song = dict(song)
                missing = [c for c in ("song_id", "title", "artist") if not song.get(c)]
                if missing:
                    raise ValueError(f"song {song!r} lacks {missing}: every song needs an id, a title and an artist")
                extra = {k: v for k, v in song.items() if k not in _SONG_COLUMNS}
                cursor = db.execute(
                    "INSERT OR IGNORE INTO songs VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [_text(song["song_id"]), _text(song["title"]), _text(song["artist"]),
                     *(None if song.get(c) is None else _text(song[c]) for c in _SONG_COLUMNS[3:]),
                     json.dumps(_valid(extra), default=str)],
                )
                added += cursor.rowcount
                for stage in stages:
                    db.execute("INSERT OR IGNORE INTO stages (song_id, stage, status, updated_at) "
                               "VALUES (?, ?, 'pending', ?)", (_text(song["song_id"]), stage, now))
        return added

    def song(self, song_id):
        row = self._db.execute("SELECT * FROM songs WHERE song_id = ?", (_text(song_id),)).fetchone()
        return None if row is None else _song(row)

    def songs(self):
        """All songs, in insertion order."""
        return [_song(r) for r in self._db.execute("SELECT * FROM songs ORDER BY rowid")]

    def n_songs(self):
        """How many songs the store holds (counted, not loaded)."""
        return self._db.execute("SELECT COUNT(*) FROM songs").fetchone()[0]

    def iter_songs(self, stages=()):
        """Every song in insertion order, one at a time, with its status in each of ``stages`` (``None``
        where the song has no row for it): ``(song, {stage: status})``.  One query, streamed: a store of
        millions of songs is never in memory at once."""
        joins = "".join(f" LEFT JOIN stages AS s{i} ON s{i}.song_id = songs.song_id AND s{i}.stage = ?"
                        for i in range(len(stages)))
        columns = "".join(f", s{i}.status AS status_{i}" for i in range(len(stages)))
        # a cursor of its own: the songs stream while the caller may use the store
        cursor = self._db.cursor().execute(f"SELECT songs.*{columns} FROM songs{joins} ORDER BY songs.rowid",
                                           list(stages))
        for row in cursor:
            yield _song(row), {stage: row[f"status_{i}"] for i, stage in enumerate(stages)}

    def iter_songs_by_id(self, song_ids, *, page_size=500):
        """The songs of ``song_ids`` that the store holds, streamed in the order given (unknown ids are
        skipped), ``page_size`` to a query."""
        song_ids = [_text(s) for s in song_ids]
        for start in range(0, len(song_ids), page_size):
            page = song_ids[start:start + page_size]
            rows = {row["song_id"]: row for row in self._db.execute(
                f"SELECT * FROM songs WHERE song_id IN ({_marks(page)})", page)}
            for song_id in page:
                if song_id in rows:
                    yield _song(rows[song_id])

    # --------------------------------------------------------------- stages
    def pending(self, stage, *, limit=None, retry_failed=False):
        """Songs whose ``stage`` is pending (and failed, with ``retry_failed``), in insertion order, as a list.

        A job over a large store should walk :meth:`iter_pending` instead."""
        return list(self.iter_pending(stage, limit=limit, retry_failed=retry_failed))

    def n_pending(self, stage, *, limit=None, retry_failed=False, only=None):
        """How many songs :meth:`iter_pending` would give now (counted on the status index, not loaded)."""
        statuses = _statuses(retry_failed)
        if only is None:
            n = self._db.execute(f"SELECT COUNT(*) FROM stages WHERE stage = ? AND status IN ({_marks(statuses)})",
                                 [stage, *statuses]).fetchone()[0]
        else:
            only = _id_set(only)
            n = sum(row[0] in only for row in self._db.execute(
                f"SELECT song_id FROM stages WHERE stage = ? AND status IN ({_marks(statuses)})", [stage, *statuses]))
        return n if limit is None else min(n, max(0, int(limit)))

    def iter_pending(self, stage, *, limit=None, retry_failed=False, only=None, page_size=1000):
        """Songs whose ``stage`` is pending (and failed, with ``retry_failed``), in insertion order, streamed.

        The songs come ``page_size`` at a time, each page a short query of its own that starts after the
        last song given (by rowid): the caller may write the store between songs, and no read stays open
        while it does.  A song given once is not given again in the walk, whatever it is set to meanwhile;
        a song done before the walk reaches it is skipped.  ``only`` (song ids) keeps the walk to those
        songs; ``limit`` caps how many songs are given.
        """
        statuses = _statuses(retry_failed)
        only = None if only is None else _id_set(only)
        # songs first (CROSS JOIN keeps that order in SQLite's plan): a range of the songs' rowids, each song's
        # stage row found by its primary key; the walk reads every song at most once in all
        query = ("SELECT songs.rowid AS _rowid, songs.* FROM songs CROSS JOIN stages "
                 "ON stages.song_id = songs.song_id AND stages.stage = ? "
                 f"WHERE songs.rowid > ? AND stages.status IN ({_marks(statuses)}) ORDER BY songs.rowid LIMIT ?")
        left = None if limit is None else max(0, int(limit))
        after = 0
        while left is None or left > 0:
            rows = self._db.execute(query, [stage, after, *statuses, page_size]).fetchall()
            given = 0
            for row in rows:
                if only is None or row["song_id"] in only:
                    yield _song(row)
                    given += 1
                    if left is not None and given == left:
                        return
            if len(rows) < page_size:
                return
            after = rows[-1]["_rowid"]
            if left is not None:
                left -= given

    def complete(self, song_id, stage, *, status="done", reason=None, response=None, update=None):
        """Record a song's result for ``stage`` in one transaction.

        ``response`` is ``(service, key, http_status, body)`` to store with it (several
        as a list); ``update`` a dict of song fields to set (e.g. a found Spotify id or
        the lyrics' source) merged into the song's extra fields.
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        responses = [] if response is None else ([response] if isinstance(response, tuple) else list(response))
        with self.transaction() as db:
            for service, key, http_status, body in responses:
                db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?)",
                           (service, _text(key), int(http_status), _valid(body), time.time()))
            if update:
                self._update_song(db, song_id, update)
            cursor = db.execute(
                "UPDATE stages SET status = ?, reason = ?, attempts = attempts + 1, updated_at = ? "
                "WHERE song_id = ? AND stage = ?", (status, _valid(reason), time.time(), _text(song_id), stage))
            if cursor.rowcount != 1:
                raise KeyError(f"song {song_id!r} has no {stage!r} stage in {self.path}")

    def _update_song(self, db, song_id, update):
        row = db.execute("SELECT extra FROM songs WHERE song_id = ?", (_text(song_id),)).fetchone()
        if row is None:
            raise KeyError(f"no song {song_id!r} in {self.path}")
        extra = json.loads(row["extra"])
        for key, value in update.items():
            if key in _SONG_COLUMNS[3:]:
                db.execute(f"UPDATE songs SET {key} = ? WHERE song_id = ?", (_valid(value), _text(song_id)))
            elif key not in _SONG_COLUMNS:
                extra[key] = _valid(value)
        db.execute("UPDATE songs SET extra = ? WHERE song_id = ?", (json.dumps(extra, default=str), _text(song_id)))

    def status(self, song_id, stage):
        row = self._db.execute("SELECT status, reason, attempts FROM stages WHERE song_id = ? AND stage = ?",
                               (_text(song_id), stage)).fetchone()
        return None if row is None else dict(row)

    def counts(self, stage):
        """How many songs are pending, done and failed in ``stage``."""
        out = dict.fromkeys(STATUSES, 0)
        for row in self._db.execute("SELECT status, COUNT(*) AS n FROM stages WHERE stage = ? GROUP BY status",
                                    (stage,)):
            out[row["status"]] = row["n"]
        return out

    def reasons(self, stage, status="failed"):
        """Why songs are ``status`` (failed, or pending after a source could not answer) in ``stage``."""
        return Counter({r["reason"]: r["n"] for r in self._db.execute(
            "SELECT reason, COUNT(*) AS n FROM stages WHERE stage = ? AND status = ? AND reason IS NOT NULL "
            "GROUP BY reason", (stage, status))})

    @contextmanager
    def lock(self, stage):
        """Hold ``stage`` of this store for one process; another one gets :class:`StoreBusy` at once.

        Two processes scraping the same stage would ask the services twice for the same songs.
        The lock is a file beside the store (``<store>.<stage>.lock``), released when the job ends
        or its process dies.
        """
        if self.path == ":memory:":
            yield
            return
        from filelock import FileLock, Timeout

        path = f"{self.path}.{stage}.lock"
        lock = FileLock(path, timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise StoreBusy(f"another process is running the {stage} job on {self.path} (it holds {path}); "
                            "wait for it to finish or stop it: two jobs on one stage would ask the services "
                            "twice for the same songs") from None
        try:
            yield
        finally:
            lock.release()

    # ------------------------------------------------------------ responses
    def response(self, service, key):
        """A stored raw response as ``(http_status, body)``, or ``None`` if never fetched."""
        row = self._db.execute("SELECT status, body FROM responses WHERE service = ? AND key = ?",
                               (service, _text(key))).fetchone()
        return None if row is None else (row["status"], row["body"])

    def n_responses(self, service=None):
        if service is None:
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
        return self._db.execute("SELECT COUNT(*) FROM responses WHERE service = ?", (service,)).fetchone()[0]


def _song(row):
    song = {c: row[c] for c in _SONG_COLUMNS}
    song.update(json.loads(row["extra"]))
    return song
