"""``musemood scrape``, ``build-dataset`` and ``label``: the song dataset and its mood labels."""

from __future__ import annotations

import sys
from pathlib import Path

from ._common import EXIT_BAD_INPUT, EXIT_SERVICE, _show_progress


def _rule(args):
    return {
        "mood_sets": args.moods,
        "k": args.k,
        "epsilon": args.epsilon,
        "denominator": args.denominator,
        "min_tags": args.min_tags,
        "min_tag_count": args.min_tag_count,
        "counts": args.counts,
    }


def _label(args):
    from ..datasets import dataset_format, load_dataset, save_dataset
    from ..labels import assign_moods, attach_labels, summarize

    if args.out:
        dataset_format(args.out)
    df = load_dataset(args.data)
    rule = _rule(args)
    result = assign_moods(df, show_progress_bar=_show_progress(args), **rule)
    print(format_summary(summarize(result), rule))
    if args.out:
        print(f"Saved to {save_dataset(attach_labels(df, result, split=True), args.out)}")


def _check(args):
    """``musemood check``: every problem of a dataset file at once; exit code 2 when one would stop a
    command."""
    from ..datasets import _read_table
    from ..datasets._report import ERROR, dataset_report
    from ._common import _print_json

    df = _read_table(args.data)  # tags as written: the report names every song whose tags cannot be read
    findings = dataset_report(df, text_column=args.text_column, label_column=args.label_column,
                              show_progress_bar=sys.stderr.isatty())  # on a terminal, not in logs
    errors = sum(level == ERROR for level, _, _ in findings)
    if args.json:
        _print_json({"data": str(args.data), "songs": len(df), "errors": errors,
                     "findings": [{"level": level, "topic": topic, "message": message}
                                  for level, topic, message in findings]})
    else:
        songs, columns = len(df), len(df.columns)
        print(f"{args.data}: {songs:,} song{'' if songs == 1 else 's'}, {columns} column{'' if columns == 1 else 's'}")
        for level, topic, message in findings:
            print(f"  {level:<8}{topic:<10}{message}")
        print(f"{errors} error{'' if errors == 1 else 's'}: " + ("fix them before training (or see the options "
              "named)" if errors else "nothing stops training, labelling or the recommender"))
    return EXIT_BAD_INPUT if errors else 0


def _scrape(args):
    from .. import scrape
    from ..datasets import dataset_format

    if args.job == "all" and args.out:  # the dataset written at the end
        dataset_format(args.out)
    store = _store(args, create=args.job in ("wasabi", "all"))
    jobs = ("wasabi", "lastfm", "spotify", "lyrics") if args.job == "all" else (args.job,)
    if args.job == "all" and not args.songs and not store.n_songs():
        raise ValueError("'scrape all' needs --songs (the WASABI songs CSV) for an empty store")
    if args.labelled_only and args.job not in ("spotify", "lyrics", "all"):
        raise ValueError(f"--labelled-only keeps the spotify and lyrics jobs (and all) to the songs the rule "
                         f"labels; 'scrape {args.job}' asks for every song: drop the option")
    progress = True  # tqdm bars with rate and ETA; they go to stderr
    stops, labelled = [], []

    def only():  # the songs the rule labels, read once the tags are in (after the lastfm job of 'all')
        if not args.labelled_only:
            return None
        if not labelled:
            ids, counts = scrape.labelled_song_ids(store, show_progress_bar=progress, **_rule(args))
            print(f"labelled-only: the rule labels {counts['labelled']} of the {counts['with_tags']} songs with "
                  "tags; audio features and lyrics are asked for those only"
                  + ("" if counts["with_tags"] else " (no song has tags yet: run `musemood scrape lastfm` first)"))
            labelled.append(ids)
        return labelled[0]

    for job in jobs:
        if job == "wasabi":
            if not args.songs:
                if args.job == "all":
                    continue
                raise ValueError("'scrape wasabi' needs --songs (the WASABI songs CSV)")
            summary = scrape.ingest_wasabi(store, args.songs, limit=args.limit, tag_dump=args.tag_dump,
                                           msd_lastfm=args.msd_lastfm, show_progress_bar=progress)
        elif job == "lastfm":
            summary = scrape.scrape_lastfm(store, _lastfm_client(args), limit=args.limit,
                                           retry_failed=args.retry_failed, workers=args.workers,
                                           show_progress_bar=progress)
        elif job == "spotify":
            summary = scrape.scrape_audio(store, _audio_sources(args), limit=args.limit,
                                          retry_failed=args.retry_failed, only=only(), show_progress_bar=progress)
        else:
            summary = scrape.scrape_lyrics(store, _lyrics_sources(args), limit=args.limit,
                                           retry_failed=args.retry_failed, only=only(), show_progress_bar=progress)
        _print_scrape_summary(summary)
        if summary.get("stopped"):  # the next job goes on: one source's failure stops no other
            stops.append(summary)
            print(f"musemood scrape {job}: stopped: {summary['stopped']}\nSongs not done yet stay pending: "
                  "run the same command again to resume.", file=sys.stderr)
    code = 0
    if stops:  # bad keys are the user's to fix (2); an outage or a refusal is the service's (3)
        code = EXIT_BAD_INPUT if all(s.get("credentials") for s in stops) else EXIT_SERVICE
    if args.job == "all":
        try:
            return _build_dataset(args, store) or code
        except ValueError as exc:  # no song to write: after a stop, the stop's code says what to do first
            if not code:
                raise
            print(f"musemood scrape: no dataset written: {exc}", file=sys.stderr)
    return code


def _store(args, *, create=False):
    """The scrape store; only a job that reads the WASABI songs (``create``) may start a new one."""
    from ..config import STORE_FILE, home
    from ..sources import ScrapeStore

    path = Path(args.store) if args.store else home() / STORE_FILE
    if not create and not path.exists():
        store = f" --store {path}" if args.store else ""
        raise FileNotFoundError(f"no scrape store at {path}: check --store, or start one with "
                                f"`musemood scrape wasabi --songs SONGS.csv{store}`")
    return ScrapeStore(path)


def _interval(default):
    import os

    value = os.environ.get("MUSEMOOD_SCRAPE_MIN_INTERVAL")
    return float(value) if value else default


def _lastfm_client(args):
    import os

    from ..sources.lastfm import MIN_INTERVAL, LastfmClient

    return LastfmClient(api_url=os.environ.get("MUSEMOOD_LASTFM_API_URL"), min_interval=_interval(MIN_INTERVAL),
                        max_retry_after=args.max_retry_after)


def _audio_sources(args):
    import os

    from ..config import has_key
    from ..sources import audio

    sources = []
    for name in [n.strip() for n in args.audio_sources.split(",") if n.strip()]:
        if name == "spotify":
            has_keys = has_key("SPOTIPY_CLIENT_ID") and has_key("SPOTIPY_CLIENT_SECRET")  # environment or keys file
            if has_keys or not (args.features_table or args.audio_dir):  # no keys: the error names them
                sources.append(audio.SpotifyAudioFeatures(
                    api_url=os.environ.get("MUSEMOOD_SPOTIFY_API_URL", audio.SPOTIFY_API),
                    token_url=os.environ.get("MUSEMOOD_SPOTIFY_TOKEN_URL", audio.SPOTIFY_TOKEN_URL),
                    min_interval=_interval(0.1), max_retry_after=args.max_retry_after))
        elif name == "table":
            if args.features_table:
                sources.append(audio.FeatureTable(args.features_table))
        elif name == "librosa":
            if args.audio_dir:
                sources.append(audio.LibrosaFeatures(args.audio_dir))
        else:
            raise ValueError(f"unknown audio-feature source {name!r}; use spotify, table or librosa")
    if not sources:
        raise ValueError("no audio-feature source: set SPOTIPY_CLIENT_ID/SPOTIPY_CLIENT_SECRET, or give "
                         "--features-table FILE or --audio-dir DIR")
    return sources


def _lyrics_sources(args):
    import os

    from ..config import has_key
    from ..sources.genius import API_URL, WEB_URL, GeniusClient
    from ..sources.lrclib import BASE_URL, LrclibClient

    sources = []
    names = [n.strip() for n in args.lyrics_sources.split(",") if n.strip()]
    for name in names:
        if name == "genius" and not has_key("GENIUS_ACCESS_TOKEN") and len(names) > 1:
            others = ", ".join(n for n in names if n != name)  # a missing key stops no key-less source
            print(f"note: GENIUS_ACCESS_TOKEN is not set (in the environment or the keys file): lyrics come from "
                  f"{others} only", file=sys.stderr)
        elif name == "genius":
            sources.append(GeniusClient(threshold=args.match_threshold,
                                        api_url=os.environ.get("MUSEMOOD_GENIUS_API_URL", API_URL),
                                        web_url=os.environ.get("MUSEMOOD_GENIUS_WEB_URL", WEB_URL),
                                        min_interval=_interval(0.5), max_retry_after=args.max_retry_after))
        elif name == "lrclib":
            sources.append(LrclibClient(os.environ.get("MUSEMOOD_LRCLIB_URL", BASE_URL), min_interval=_interval(0.2),
                                        threshold=args.match_threshold, max_retry_after=args.max_retry_after))
        else:
            raise ValueError(f"unknown lyrics source {name!r}; use genius, lrclib or both (genius,lrclib)")
    return sources


def _print_scrape_summary(summary):
    stage = summary.pop("stage")
    if stage == "wasabi":
        print(f"wasabi: {summary['rows']} rows read, {summary['kept']} songs kept ({summary['new']} new), "
              f"{summary['tags_from_dumps']} with tags from dumps")
        for reason, n in sorted(summary["dropped"].items(), key=lambda x: -x[1]):
            print(f"  dropped {n}: {reason}")
        return
    print(f"{stage}: {summary['done']} done, {summary['failed']} failed, {summary['pending']} pending")
    if summary.get("sources_used"):
        print("  from " + ", ".join(f"{k}: {v}" for k, v in summary["sources_used"].items()))
    for reason, n in sorted(summary["failed_reasons"].items(), key=lambda x: -x[1]):
        print(f"  failed {n}: {reason}")
    for reason, n in sorted(summary.get("pending_reasons", {}).items(), key=lambda x: -x[1]):
        print(f"  pending {n}: {reason}")
    if summary.get("skipped"):
        print(f"  left pending {summary['skipped']}: the rule does not label them (--labelled-only)")
    for note in summary.get("notes", []):
        print(f"  note: {note}")


def _build_dataset(args, store=None):
    from ..config import DATASET_FILE, home
    from ..datasets import dataset_format
    from ..scrape import build_dataset

    out = args.out or home() / DATASET_FILE
    dataset_format(out)
    store = store or _store(args)
    df, summary = build_dataset(store, out, keep_unlabelled=getattr(args, "keep_unlabelled", False),
                                show_progress_bar=_show_progress(args), **_rule(args))
    print(f"dataset: {summary['rows']} songs written to {out} ({summary['songs']} in the store, "
          f"{summary['with_tags_and_lyrics']} with tags and lyrics)")
    for reason, n in sorted(summary["dropped"].items(), key=lambda x: -x[1]):
        print(f"  dropped {n}: {reason}")
    if "labels" in summary:
        labels = summary["labels"]
        print("  labels: " + ", ".join(f"{m} {n}" for m, n in labels["labelled"].items()))
        for note in unused_mood_notes(labels):
            print("  " + note)
        for reason, n in labels["rejected"].items():
            if n:
                print(f"  unlabelled {n}: {reason}")
    return 0


def format_summary(summary, rule):
    """Text table of :func:`musemood.labels.summarize` output."""
    from ..labels import COUNT_CONVENTIONS, REASON_TEXT

    n = max(summary["n_songs"], 1)
    lines = [
        f"Label rule: k={rule['k']}, epsilon={rule['epsilon']}, denominator={rule['denominator']}, "
        f"min_tags={rule['min_tags']}, min_tag_count={rule['min_tag_count']}; "
        f"tag counts read as {COUNT_CONVENTIONS.get(summary['counts'], summary['counts'])}",
        "",
        f"{'mood':<16}{'songs':>7}{'share':>8}",
    ]
    for mood, count in summary["labelled"].items():
        lines.append(f"{mood:<16}{count:>7}{count / n:>8.1%}")
    rejected = sum(summary["rejected"].values())
    lines.append(f"{'rejected':<16}{rejected:>7}{rejected / n:>8.1%}")
    for reason, count in summary["rejected"].items():
        lines.append(f"  {reason:<14}{count:>7}{count / n:>8.1%}  {REASON_TEXT[reason]}")
    lines.append(f"{'total':<16}{summary['n_songs']:>7}")
    lines += unused_mood_notes(summary)
    return "\n".join(lines)


def unused_mood_notes(summary):
    """A line per mood set whose tags no song has (a misspelt tag?), with the closest tags the songs have."""
    notes = []
    for mood, close in summary.get("unused_moods", {}).items():
        hint = f"; the songs' closest tags: {', '.join(close)}" if close else ""
        notes.append(f"note: no song has a tag of the mood {mood!r} (is one misspelt?){hint}")
    return notes
