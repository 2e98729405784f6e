"""The scraping jobs: from a WASABI songs file and your API keys to a labelled Parquet dataset.

Each job walks the songs still pending in its stage of the :class:`~musemood.sources.ScrapeStore`
and records every song's result (the raw answer, the parsed fields and the new status) in one
transaction, so a job killed at any moment resumes where it stopped, asks no service twice for
a song it has, and adds no duplicate rows.

1. :func:`ingest_wasabi`: songs from WASABI's songs CSV (and, optionally, tags from a WASABI
   tag dump or the Million Song Dataset's Last.fm files, which spare the Last.fm API).
2. :func:`scrape_lastfm`: crowd tags with counts (``lastfm`` stage).
3. :func:`scrape_audio`: audio features from the first source that has them (``audio`` stage).
4. :func:`scrape_lyrics`: lyrics from Genius or LRCLIB, in the order you choose (``lyrics``).
5. :func:`build_dataset`: the schema's table, labelled with the k/epsilon rule, as Parquet.

Steps 3 and 4 take ``only=``, song ids such as :func:`labelled_song_ids` (the songs whose tags the rule
labels), to ask for those songs alone.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor

from . import schema
from .sources.http import CredentialError, FatalSourceError, SourceError
from .sources.store import ScrapeStore

logger = logging.getLogger(__name__)

STAGES = ("lastfm", "audio", "lyrics")
LABEL_CHUNK = 20_000  # songs build_dataset labels at a time


def _bar(total, desc, show_progress_bar):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="song", disable=not show_progress_bar, dynamic_ncols=True)


def _summary(store, stage, extra=None):
    out = {"stage": stage, **store.counts(stage), "failed_reasons": dict(store.reasons(stage)),
           "pending_reasons": dict(store.reasons(stage, "pending"))}
    out.update(extra or {})
    return out


def _stopped(exc):
    """The summary entries of a job stopped by ``exc``: why, and whether it was our credentials."""
    return {"stopped": str(exc), "credentials": isinstance(exc, CredentialError)}


def _skipped(store, stage, retry_failed, only):
    """The summary entry of a job kept to ``only``: how many of the songs it would have asked for it leaves."""
    if only is None:
        return {}
    return {"skipped": store.n_pending(stage, retry_failed=retry_failed)
            - store.n_pending(stage, retry_failed=retry_failed, only=only)}


# --------------------------------------------------------------------- WASABI
def ingest_wasabi(store, songs_csv, *, limit=None, tag_dump=None, msd_lastfm=None, english_only=True,
                  require=("spotify_id", "lastfm_url"), columns=None, chunksize=100_000, show_progress_bar=True):
    """Add the WASABI songs to keep to ``store`` (idempotent) and return what was kept and dropped.

    With ``tag_dump`` (a WASABI Last.fm tag dump) or ``msd_lastfm`` (the MSD Last.fm folder),
    songs found there get their tags now and skip the Last.fm API.
    """
    from .sources.wasabi import read_msd_lastfm, read_tag_dump, read_wasabi_songs
    from .text import normalize_title

    store = store if isinstance(store, ScrapeStore) else ScrapeStore(store)
    stats = Counter()
    dump = read_tag_dump(tag_dump) if tag_dump else {}
    msd = read_msd_lastfm(msd_lastfm) if msd_lastfm else {}
    added = from_dumps = 0
    with _bar(None, "WASABI rows", show_progress_bar) as bar:
        def advance(rows):
            bar.update(rows - bar.n)

        for chunk in read_wasabi_songs(songs_csv, chunksize=chunksize, english_only=english_only, require=require,
                                       columns=columns, limit=limit, progress=advance, stats=stats):
            added += store.add_songs(chunk, stages=STAGES)
            for song in chunk:
                tags = dump.get(song["song_id"]) or msd.get((normalize_title(song["title"]),
                                                             normalize_title(song["artist"])))
                source = "dump" if dump.get(song["song_id"]) else "msd"
                if tags and store.status(song["song_id"], "lastfm")["status"] == "pending":
                    store.complete(song["song_id"], "lastfm", update={"tags": tags, "tags_source": source})
                    from_dumps += 1
    return {"stage": "wasabi", "rows": stats.pop("rows", 0), "kept": stats.pop("kept", 0), "new": added,
            "tags_from_dumps": from_dumps, "dropped": dict(stats)}


# -------------------------------------------------------------------- workers
def _run(store, stage, fetch, *, limit, retry_failed, workers, max_failures, show_progress_bar, desc, only=None):
    """Fetch pending songs with ``workers`` threads; the store is written here, one song at a time.

    ``fetch(song)`` returns ``(status, reason, responses, update)``.  A song whose fetch raised
    :class:`SourceError` (or returned ``"pending"``) stays pending with the reason; after
    ``max_failures`` such songs in a row (``None``: no limit), or a :class:`FatalSourceError`,
    the job stops and the songs not fetched yet stay pending.  ``only``: the song ids to fetch (else every
    pending song).  Returns the summary entries of a stop (else ``{}``).
    """
    with store.lock(stage):
        n_pending = store.n_pending(stage, limit=limit, retry_failed=retry_failed, only=only)
        pending = store.iter_pending(stage, limit=limit, retry_failed=retry_failed, only=only)
        halt = threading.Event()
        stopped, streak = {}, 0

        def guarded(song):
            return None if halt.is_set() else fetch(song)

        def halt_all():  # no new request; the ones in flight finish and are recorded
            halt.set()
            for _, future in window:
                future.cancel()

        def stop(exc):
            stopped.update(_stopped(exc))
            halt_all()

        # a window of songs handed to the threads, refilled as their results are recorded in order: a future
        # per pending song at once would hold a million of them on a WASABI-sized store
        window, songs, ahead = deque(), iter(pending), 4 * max(1, workers)

        def refill():
            while len(window) < ahead and not halt.is_set():
                song = next(songs, None)
                if song is None:
                    return
                window.append((song, pool.submit(guarded, song)))

        with _bar(n_pending, desc, show_progress_bar) as bar, ThreadPoolExecutor(max(1, workers)) as pool:
            refill()
            try:
                while window:
                    song, future = window.popleft()
                    refill()
                    if future.cancelled():
                        continue
                    try:
                        outcome = future.result()
                    except FatalSourceError as exc:
                        if not stopped:
                            stop(exc)
                        continue
                    except SourceError as exc:
                        outcome = ("pending", str(exc), None, None)
                    if outcome is None:  # not asked: the job was stopping
                        continue
                    status, reason, responses, update = outcome
                    store.complete(song["song_id"], stage, status=status, reason=reason, response=responses,
                                   update=update)
                    bar.update()
                    streak = streak + 1 if status == "pending" else 0
                    if max_failures and streak >= max_failures and not stopped:
                        stop(SourceError(f"{max_failures} songs in a row could not be fetched (last: {reason})"))
            except BaseException:
                halt_all()
                raise
    if stopped:
        logger.warning("%s job stopped: %s; the songs not done stay pending, run it again to resume",
                       stage, stopped["stopped"])
    return stopped


def scrape_lastfm(store, client, *, limit=None, retry_failed=False, workers=2, max_failures=5,
                  show_progress_bar=True):
    """Top tags for every pending song (``lastfm`` stage); ``client`` is a :class:`LastfmClient`.

    A song Last.fm could not answer (after retries) stays pending with the reason; after
    ``max_failures`` of them in a row, or a refused key, the job stops (``summary["stopped"]``)
    and the rest stay pending for the next run.
    """

    def fetch(song):
        tags, body = client.top_tags(song["title"], song["artist"], mbid=song.get("mbid"))
        response = (client.service, f"{song['artist']}|{song['title']}", 200, body)
        if tags is None:
            return "failed", "not on Last.fm", response, None
        if not tags:
            return "failed", "no tags on Last.fm", response, None
        return "done", None, response, {"tags": tags, "tags_source": "lastfm"}

    stopped = _run(store, "lastfm", fetch, limit=limit, retry_failed=retry_failed, workers=workers,
                   max_failures=max_failures, show_progress_bar=show_progress_bar, desc="Last.fm tags")
    return _summary(store, "lastfm", stopped)


def scrape_audio(store, sources, *, limit=None, retry_failed=False, only=None, max_failures=3,
                 show_progress_bar=True):
    """Audio features for every pending song from the first of ``sources`` that has them.

    A source that refuses us for good (Spotify's 403 for apps registered after 2024-11-27, a
    refused key) is reported once and dropped; the next sources carry on.  A source that fails
    (an outage: 5xx after retries, no answer) leaves the songs it could not answer **pending**
    with the reason recorded, and is dropped for the rest of the run after ``max_failures``
    batches failed in a row.  When no source is left, the job stops with the remaining songs
    pending and says why (``summary["stopped"]``): run it again later to resume.
    """
    sources = list(sources)
    if not sources:
        raise ValueError("no audio-feature source: give Spotify keys, a features table or an audio folder")
    with store.lock("audio"):
        skipped = _skipped(store, "audio", retry_failed, only)
        n_pending = store.n_pending("audio", limit=limit, retry_failed=retry_failed, only=only)
        pending = store.iter_pending("audio", limit=limit, retry_failed=retry_failed, only=only)
        batch_size = max(s.batch_size for s in sources)
        notes, used, failures, refusals = [], Counter(), Counter(), []

        def drop(source, message, exc):
            logger.warning("%s", message)
            notes.append(message)
            refusals.append(exc)
            sources.remove(source)

        with _bar(n_pending, "audio features", show_progress_bar) as bar:
            while sources:
                batch = list(itertools.islice(pending, batch_size))
                if not batch:
                    break
                results = {s["song_id"]: None for s in batch}
                responses = {s["song_id"]: [] for s in batch}
                errors = {s["song_id"]: [] for s in batch}
                for source in list(sources):
                    todo = [s for s in batch if results[s["song_id"]] is None]
                    if not todo:
                        break
                    try:
                        answers = source.get(todo)
                    except FatalSourceError as exc:
                        drop(source, str(exc), exc)
                        continue
                    except SourceError as exc:
                        failures[source.name] += 1
                        for song in todo:
                            errors[song["song_id"]].append(f"{source.name}: {exc}")
                        if failures[source.name] >= max_failures:
                            drop(source, f"{source.name} failed on {max_failures} batches in a row ({exc}); "
                                         "not used for the rest of this run", exc)
                        continue
                    failures[source.name] = 0
                    for song, (features, key, raw) in zip(todo, answers):
                        responses[song["song_id"]].append((f"audio:{source.name}", key or song["song_id"], 200, raw))
                        if features is not None:
                            results[song["song_id"]] = (source.name, features)
                for song in batch:
                    song_id = song["song_id"]
                    if results[song_id] is not None:
                        used[results[song_id][0]] += 1
                        store.complete(song_id, "audio", response=responses[song_id],
                                       update={"audio": results[song_id][1], "audio_source": results[song_id][0]})
                    elif errors[song_id] or not sources:  # a source could not answer: ask again next run
                        store.complete(song_id, "audio", status="pending", response=responses[song_id],
                                       reason="; ".join(errors[song_id]) or "no audio-feature source was left")
                    else:
                        store.complete(song_id, "audio", status="failed", reason="no audio features in any source",
                                       response=responses[song_id])
                bar.update(len(batch))
    extra = {"sources_used": dict(used), "notes": notes, **skipped}
    if not sources:
        extra.update(stopped="no audio-feature source is left: " + " | ".join(notes),
                     credentials=all(isinstance(e, CredentialError) for e in refusals))
    return _summary(store, "audio", extra)


def scrape_lyrics(store, sources, *, limit=None, retry_failed=False, only=None, workers=1, max_failures=5,
                  show_progress_bar=True):
    """Lyrics for every pending song from the first of ``sources`` that has them.

    A source is any :class:`~musemood.sources.LyricsSource` (``GeniusClient``, ``LrclibClient``):
    ``lyrics(title, artist) -> (text or None, info, responses)``.

    A source that refuses us for good (Genius's 403 to scripts, a bad Genius token) is switched
    off for the rest of the run and reported once; so is one that failed on ``max_failures`` songs
    in a row.  The other sources carry on: one source's bad key never stops a key-less one.  A
    song that a failing source could not answer, and no other source had, stays pending with the
    reason.  When no source is left the job stops (``summary["stopped"]``).

    ``only``: the song ids to ask for, such as :func:`labelled_song_ids` (the study fetched lyrics for
    the songs its rule labelled, 3,804 of 1.7 million); the other pending songs stay pending
    (``summary["skipped"]`` counts them).
    """
    sources = list(sources)
    if not sources:
        raise ValueError("no lyrics source: use genius, lrclib or both")
    blocked, notes, refusals, streaks = set(), [], [], Counter()
    lock = threading.Lock()

    def block(client, message, exc):
        with lock:
            if client.service in blocked:
                return
            blocked.add(client.service)
            logger.warning("%s", message)
            notes.append(message)
            refusals.append(exc)

    def fetch(song):
        reasons, responses, errored = [], [], False
        for client in sources:
            if client.service in blocked:
                continue
            try:
                text, info, got = client.lyrics(song["title"], song["artist"])
            except FatalSourceError as exc:  # for good: the song is not kept pending for it
                block(client, str(exc), exc)
                reasons.append(f"{client.service} refused ({str(exc).split(':')[0]})")
                continue
            except SourceError as exc:
                reasons.append(f"{client.service}: {exc}")
                errored = True
                with lock:
                    streaks[client.service] += 1
                    failing = streaks[client.service] >= max_failures
                if failing:
                    block(client, f"{client.service} failed on {max_failures} songs in a row ({exc}); not used for "
                                  "the rest of this run", exc)
                continue
            with lock:
                streaks[client.service] = 0
            responses.extend(got)
            if text is not None:
                return "done", None, responses, {"lyrics": text, "lyrics_source": client.service}
            reasons.append(info.get("reason", f"not on {client.service}"))
        if len(blocked) == len({c.service for c in sources}):
            error = CredentialError if all(isinstance(e, CredentialError) for e in refusals) else FatalSourceError
            raise error("no lyrics source is left: " + " | ".join(notes))
        # a source that could not answer may have it next time: keep the song pending
        return ("pending" if errored else "failed"), "; ".join(reasons), responses, None

    skipped = _skipped(store, "lyrics", retry_failed, only)
    stopped = _run(store, "lyrics", fetch, limit=limit, retry_failed=retry_failed, workers=workers,
                   max_failures=None, show_progress_bar=show_progress_bar, desc="lyrics", only=only)  # per source above
    return _summary(store, "lyrics", {"notes": notes, **skipped, **stopped})


# -------------------------------------------------------------------- dataset
def _nothing_to_write(store, summary, path):
    """Why ``build_dataset`` has no song for ``path``, and what to do about it."""
    from .labels import REASON_TEXT

    def counts(reasons):
        return ", ".join(f"{reason}: {n}" for reason, n in sorted(reasons.items(), key=lambda x: -x[1]) if n)

    head = f"no song to write to {path} (left as it was): "
    if not summary["songs"]:
        return head + f"the store {store.path} holds no songs; run `musemood scrape wasabi --store {store.path}` first"
    if "labels" not in summary:
        dropped = summary["dropped"]
        todo = [f"`musemood scrape {stage} --store {store.path}`" for stage, reason in
                (("lastfm", "tags not scraped yet"), ("lyrics", "lyrics not scraped yet")) if dropped.get(reason)]
        if todo:
            advice = f"run {' and '.join(todo)} first"
        elif dropped.get(NOT_NEEDED):
            advice = ("pass --keep-unlabelled (keep_unlabelled=True) and scrape their lyrics to write them without "
                      "labels, or loosen the rule (--k, --epsilon, --moods); `musemood label` shows what it rejects")
        else:
            advice = (f"`musemood scrape lastfm --store {store.path}` and `scrape lyrics` list why songs failed; "
                      "--retry-failed asks again for them")
        return head + (f"{summary['songs']} songs in the store, none with tags and lyrics ({counts(dropped)}); "
                       + advice)
    rejected = {REASON_TEXT.get(reason, reason): n for reason, n in summary["labels"]["rejected"].items()}
    return head + (f"{summary['with_tags_and_lyrics']} songs with tags and lyrics, none labelled by the rule "
                   f"({counts(rejected)}); pass --keep-unlabelled (keep_unlabelled=True) to write them without "
                   "labels, or loosen the rule (--k, --epsilon, --moods); `musemood label` shows what it rejects")


#: Why build_dataset leaves out a song whose lyrics are not scraped yet when it writes the labelled songs only.
NOT_NEEDED = "the rule does not label them (their lyrics, not scraped yet, are not needed)"


def _songs_to_label(store, bar, *, need_lyrics=True):
    """The first pass of :func:`build_dataset`: the songs with tags and lyrics (with tags, without
    ``need_lyrics``), as a table of ids, titles and artists sorted by id, their tags in the same order,
    and why the other songs are left out.  With ``need_lyrics``, the songs with tags whose lyrics are not
    scraped yet are in the table too, ``lyrics_pending`` True: whether they need them depends on the
    rule's labels (``--labelled-only`` asks only for the labelled songs' lyrics).

    No lyrics are kept (a store of millions of songs may label few of them), and each song's tags are
    a tuple of names (one string object per distinct tag) and an array of counts.
    """
    from array import array

    import pandas as pd

    from .text import is_instrumental

    rows, tags, names, dropped = [], [], {}, Counter()
    for song, statuses in store.iter_songs(STAGES):
        bar.update()
        if statuses["lastfm"] != "done":
            dropped["no tags" if statuses["lastfm"] == "failed" else "tags not scraped yet"] += 1
        elif need_lyrics and statuses["lyrics"] == "failed":
            dropped["no lyrics"] += 1
        elif need_lyrics and statuses["lyrics"] == "done" and is_instrumental(song.get("lyrics")):
            dropped["instrumental or empty lyrics"] += 1
        else:
            pairs = song.get("tags") or []
            rows.append((song["song_id"], song["title"], song["artist"], song.get(schema.TAGS_SOURCE),
                         need_lyrics and statuses["lyrics"] != "done"))
            tags.append((tuple(names.setdefault(str(t), str(t)) for t, _ in pairs),
                         array("d", (float(c) for _, c in pairs))))
    table = pd.DataFrame(rows, columns=[schema.SONG_ID, schema.TITLE, schema.ARTIST, schema.TAGS_SOURCE,
                                        "lyrics_pending"])
    table = table.sort_values(schema.SONG_ID, kind="stable")
    tags = [tags[i] for i in table.index]
    return table.reset_index(drop=True), tags, dropped


def _label(songs, tags, rule, show_progress_bar):
    """:func:`musemood.labels.assign_moods` on the first pass's songs, ``LABEL_CHUNK`` songs at a time
    (the same result as on all at once: the rule reads each song's tags alone, once the count convention
    is decided for the whole store)."""
    import pandas as pd

    from .labels import assign_moods

    rule = dict(rule)
    counts = _conventions(songs, tags) if rule.get("counts", "auto") == "auto" else rule["counts"]
    parts = []
    with _bar(len(songs), "labels", show_progress_bar) as bar:
        for start in range(0, len(songs), LABEL_CHUNK):
            stop = start + LABEL_CHUNK
            chunk = pd.Series([list(zip(*song)) for song in tags[start:stop]],
                              index=songs[schema.SONG_ID].iloc[start:stop], dtype=object)  # errors name the song
            rule["counts"] = counts if isinstance(counts, str) else counts[start:stop]
            parts.append(assign_moods(chunk, **rule))
            bar.update(len(chunk))
    result = pd.concat(parts).set_axis(songs.index)
    unused = {mood: close for mood, close in parts[0].attrs["unused_moods"].items()
              if all(mood in part.attrs["unused_moods"] for part in parts)}  # no song of any chunk has its tags
    result.attrs = {**parts[0].attrs, "counts": counts if isinstance(counts, str) else "mixed",
                    "unused_moods": unused}
    return result


def _conventions(songs, tags):
    """How to read each song's tag counts: :func:`musemood.labels.conventions_by_source` on the store's
    tag sources."""
    from .labels import conventions_by_source

    return conventions_by_source(songs[schema.TAGS_SOURCE].tolist(),
                                 [max(counts) if len(counts) else None for _, counts in tags])


def labelled_song_ids(store, *, show_progress_bar=False, **rule):
    """The ids of the songs whose tags the k/epsilon rule labels, lyrics or not: the songs a dataset needs
    lyrics (and audio features) for.

    ``rule`` holds the parameters of :func:`musemood.labels.assign_moods`; give the ones you will build
    the dataset with.  Songs whose tags are not scraped yet are not among them: run the Last.fm job first.
    Returns ``(ids, summary)``, the summary counting the songs with tags and those labelled.
    """
    store = store if isinstance(store, ScrapeStore) else ScrapeStore(store)
    with _bar(store.n_songs(), "tags", show_progress_bar) as bar:
        songs, tags, _ = _songs_to_label(store, bar, need_lyrics=False)
    if not len(songs):
        return set(), {"with_tags": 0, "labelled": 0}
    labelled = songs[schema.SONG_ID][_label(songs, tags, rule, show_progress_bar)["label"].notna().to_numpy()]
    return set(labelled), {"with_tags": len(songs), "labelled": len(labelled)}


def _dataset_rows(store, songs, tags, bar):
    """The second pass of :func:`build_dataset`: the schema's row of each of ``songs`` (the first pass's
    table and tags), read again from the store."""
    import numpy as np

    from .text import clean_lyrics

    for song, pairs in zip(store.iter_songs_by_id(songs[schema.SONG_ID]), tags):
        bar.update()
        audio = song.get("audio") or {}
        yield {
            schema.SONG_ID: song["song_id"], schema.TITLE: song["title"], schema.ARTIST: song["artist"],
            schema.ALBUM: song.get("album"), schema.LYRICS: clean_lyrics(song.get("lyrics")),
            schema.TAGS: list(zip(*pairs)),
            **{f: (np.nan if audio.get(f) is None else float(audio[f])) for f in schema.AUDIO_FEATURES},
            schema.SPOTIFY_ID: song.get("spotify_id"), schema.LASTFM_URL: song.get("lastfm_url"),
            schema.MBID: song.get("mbid"), schema.TAGS_SOURCE: song.get("tags_source"),
        }


def build_dataset(store, path=None, *, keep_unlabelled=False, random_state=0, show_progress_bar=False, **rule):
    """The scraped songs as the schema's table, labelled with the k/epsilon rule.

    ``rule`` holds the parameters of :func:`musemood.labels.assign_moods` (``mood_sets``, ``k``,
    ``epsilon``, ...).
    A song needs tags and lyrics; missing audio features stay NaN (the models impute them).
    Lyrics are cleaned with :func:`musemood.text.clean_lyrics`, whichever source gave them.
    ``show_progress_bar``: a bar over the store's songs, then one over the rows written (the command
    line shows them on a terminal).
    Returns ``(dataframe, summary)`` and writes Parquet to ``path`` when given.

    The store is read twice: once for the tags of every song with tags (its lyrics scraped or not yet),
    which the rule labels, then for the rows to write, so the lyrics held grow with the rows written
    (the labelled songs, unless ``keep_unlabelled``), not with the songs in the store.  The summary
    counts a song whose lyrics are not scraped yet as waiting for them only when the dataset would hold
    it (``--labelled-only`` scrapes leave the others' lyrics pending).

    Raises ``ValueError`` when there is no song to write to ``path`` (nothing scraped yet, or no song
    the rule labels), saying why and what to run, and leaves a dataset already there as it was.
    """
    import pandas as pd

    from .datasets import save_dataset
    from .labels import attach_labels, summarize

    store = store if isinstance(store, ScrapeStore) else ScrapeStore(store)
    n_songs = store.n_songs()
    with _bar(n_songs, "dataset", show_progress_bar) as bar:
        songs, tags, dropped = _songs_to_label(store, bar)
    pending = songs.pop("lyrics_pending").to_numpy()
    result = _label(songs, tags, rule, show_progress_bar) if len(songs) else None
    if pending.any():  # labelled with the others (as labelled_song_ids labels them), then left out
        needed = pending & (result[schema.LABEL].notna().to_numpy() | keep_unlabelled)
        dropped["lyrics not scraped yet"] += int(needed.sum())
        dropped[NOT_NEEDED] += int((pending & ~needed).sum())
        tags = [t for t, lyrics in zip(tags, pending) if not lyrics]
        songs = songs[~pending].reset_index(drop=True)
        attrs = dict(result.attrs)  # the count convention read, which the summary names
        result = result[~pending].set_axis(songs.index)
        result.attrs = attrs
    summary = {"songs": n_songs, "with_tags_and_lyrics": len(songs),
               "dropped": {reason: n for reason, n in dropped.items() if n}}
    if len(songs):
        songs = attach_labels(songs, result, split=True, random_state=random_state)  # splits drawn over all these
        summary["labels"] = summarize(result)
        if not keep_unlabelled:
            songs = songs[songs[schema.LABEL].notna()]
            tags = [tags[i] for i in songs.index]
            songs = songs.reset_index(drop=True)
    else:
        for column in (schema.LABEL, schema.LABEL_REASON, schema.SPLIT):
            songs[column] = pd.Series(dtype=object)
    columns = [schema.SONG_ID, schema.TITLE, schema.ARTIST, schema.ALBUM, schema.LYRICS, schema.TAGS,
               *schema.AUDIO_FEATURES, schema.SPOTIFY_ID, schema.LASTFM_URL, schema.MBID, schema.TAGS_SOURCE]
    with _bar(len(songs), "dataset rows", show_progress_bar and len(songs)) as bar:
        df = pd.DataFrame(list(_dataset_rows(store, songs, tags, bar)), columns=columns)
    if len(df) != len(songs):
        raise RuntimeError(f"{len(songs) - len(df)} songs left the store {store.path} while the dataset was "
                           "built; run build-dataset again")
    for column in (schema.LABEL, schema.LABEL_REASON, schema.SPLIT):
        df[column] = songs[column]
    df.attrs.update(songs.attrs)
    summary["rows"] = len(df)
    if path is not None:
        if not len(df):
            raise ValueError(_nothing_to_write(store, summary, path))
        save_dataset(df, path)
        summary["path"] = str(path)
    return df, summary
