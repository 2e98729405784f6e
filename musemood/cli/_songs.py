"""``musemood demo``, ``recommend``, ``map``, ``evaluate-recommender``, ``embed`` and ``serve``: the
song map, the recommender and serving them."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from .._validation import headerless_hint
from ._common import STDIN, _print_json, _quiet_transformers, _show_progress, check_output_folder, stdin_text
from ._data import _rule, format_summary
from ._models import _models, _names_tags, _run_comparison


def _demo(args):
    from .. import pipeline
    from ..recommender import default_path

    check_output_folder(args.out, "--out")
    check_output_folder(args.recommender, "--recommender")
    corpus, report = pipeline.demo_corpus(
        args.n_songs, random_state=args.seed, tag_counts=args.tag_counts, out_dir=args.out, **_rule(args)
    )
    print(
        f"Demo corpus: {report['n_songs']} songs by {report['n_artists']} artists (seed "
        f"{report['random_state']}); {report['n_duplicates']} re-released duplicates; "
        f"{report['n_without_audio']} without audio features, {report['n_partial_audio']} with some missing"
    )
    print(format_summary(report["summary"], report["rule"]))
    splits = ", ".join(f"{k} {v}" for k, v in report["splits"].items())
    print(f"\nLabelled songs per split, duplicates dropped: {splits}")
    print(f"Saved the labelled corpus to {report['path']}")
    models = _models(args.models, allow_none=True)
    if not models:
        return
    out = Path(report["path"]).parent
    songs = pipeline.labelled_songs(corpus)
    print(f"\nComparing {len(models)} models on the {len(songs)} labelled songs ...", flush=True)
    comparison = _run_comparison(args, songs, models, out / "compare", audio="auto", keep_models=True)
    print(f"\nSong map and recommender on {len(corpus) - report['n_duplicates']} songs, song vectors from "
          f"{pipeline.embedding_source(comparison)} ...", flush=True)
    rec, queries = pipeline.demo_recommender(corpus, comparison, encoder=args.encoder, max_length=args.max_length,
                                             random_state=args.seed, show_progress_bar=_show_progress(args))
    path = rec.save(Path(args.recommender) if args.recommender else
                    Path(args.out) / "recommender" if args.out else default_path())
    _print_map(rec)
    print("Wrote " + ", ".join(str(p) for p in rec.plot_map(out / "map")))
    _print_evaluation(rec.evaluate())
    half = len(queries) // 2
    song = rec.catalogue_.songs_.loc[int(queries[half]) if half < len(queries) else 0]
    print(f"\nrecommend({song['title']!r}, artist={song['artist']!r}):")
    _print_recommendations(rec.recommend(song["title"], 5, artist=song["artist"]))
    print("\nrecommend(text='summer nights by the sea'):")
    _print_recommendations(rec.recommend(text="summer nights by the sea", top_k=5))
    where = f" --recommender {path}" if path != default_path() else ""
    print(f"\nSaved the recommender to {path}; try `musemood recommend \"{song['title']}\"{where}`, or "
          f"`musemood serve{where}` and open http://127.0.0.1:8000 to explore the song map")


def _print_map(rec, data=None):
    from ..clustering import finer_split

    song_map = rec.map_
    if song_map is None:
        return
    if len(song_map.sweep_):
        source = f" on {rec.map_source_}" if rec.map_source_ else ""
        if rec.map_source_ and rec.map_on_ != "song" and rec.vectorizer_.audio_ is not None:
            source += " and the audio features"
        print(f"\nClusters{source}: k = {song_map.n_clusters_} chosen by {song_map.choice_} (elbow {song_map.elbow_}, "
              f"best silhouette at k = {song_map.best_silhouette_k_})")
        print(song_map.sweep_.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        finer = finer_split(song_map.sweep_, song_map.n_clusters_) if song_map.choice_ != "fixed" else None
        if finer:  # one group far from the rest makes the coarsest split the best separated
            print(f"k = {song_map.n_clusters_} is the sweep's best separated split; its best split above k = 3 is "
                  f"k = {finer[0]} (silhouette {finer[1]:.3f}): musemood map --data {data or 'CATALOGUE'} "
                  f"--n-clusters {finer[0]} draws a finer map")
    print()
    for _, row in rec.clusters_.iterrows():
        mix = ", ".join(f"{m} {p:.0%}" for m, p in (row.get("mood_mix") or {}).items()) or "no labels"
        print(f"cluster {row['cluster']:>2}: {row['songs']:>5} songs; {mix}; " + " ".join(row["top_words"]))


def _print_evaluation(table):
    from ..evaluation import format_p

    k, n_queries = table.attrs["k"], int(table["queries"].iloc[0])
    trained = table.attrs.get("trained_queries") or {}
    print(f"\nRecommender: precision@{k} of mood agreement on {n_queries} "
          f"{'query songs (see the warning below)' if trained.get('eval') else 'held-out query songs'}")
    for _, row in table.iterrows():
        err = "" if row["stderr"] != row["stderr"] else f" ± {row['stderr']:.3f}"
        print(f"  {row['method']:<18} {row[f'precision@{k}']:.3f}{err}")
    w, p = table.attrs["weights"], format_p(table.attrs["wilcoxon_rerank_vs_lexical"])
    print(f"  tuned weights: lexical {w['lexical']:.3f}, embedding {1 - w['lexical']:.3f}, same cluster "
          f"{w.get('cluster', 0):.3f}; Wilcoxon rerank vs lexical p {p}")
    if trained.get("eval"):
        print(f"  warning: the model trained on {trained['eval']} of these {n_queries} query songs: "
              "their mood agreement flatters the embeddings and the rerank; fit with songs it did not train on as "
              "queries (the 'test' songs of a split column the model's training left out)")


def _print_recommendations(result):
    from ..catalogue import song_name

    note = result.attrs["query"].get("note")
    if note:
        print(f"  ({note})")
    for _, row in result.iterrows():
        mood = row["mood"] if isinstance(row["mood"], str) else "-"
        print(f"  {row['rank']:>2}. {song_name(row['title'], row['artist'])}  [{mood}, cluster {row['cluster']}] "
              f"score {row['score']:.3f}; {row['why']}")


def _recommend(args):
    _quiet_transformers(args)
    from ..catalogue import NOTE_SHOWN, song_name
    from ..recommender import get_recommender

    titles, artists = args.title, args.artist or []
    if not titles and not args.text:
        raise ValueError("give a song title (or several), or --text to describe what you want")
    if titles and args.text:  # before: --text was dropped without a word
        raise ValueError("give song titles or --text, not both")
    if artists and args.text:
        raise ValueError("--artist narrows a song title; with --text it has nothing to narrow (leave it out)")
    if artists and len(artists) != len(titles):
        raise ValueError(f"--artist given {len(artists)} time{'' if len(artists) == 1 else 's'} for {len(titles)} "
                         "titles: with several titles, give it once per title, in their order ('' for a song "
                         "without an artist)")
    if args.text == STDIN:  # songs like the lyrics piped in: musemood recommend --text - < song.txt
        args.text = stdin_text("the text")
        if not args.text.strip():
            raise ValueError("--text - read no text from standard input: pipe the lyrics or description in "
                             "(musemood recommend --text - < song.txt)")
    rec = get_recommender(args.recommender)
    one = len(titles) == 1  # one title: its own query (--artist narrows it); several: songs=, paired
    songs = list(zip(titles, artists or [None] * len(titles))) if len(titles) > 1 else None
    shown = NOTE_SHOWN.set(True)  # a misspelt title's note is printed with the answer (or in its JSON): not logged
    try:
        result = rec.recommend(titles[0] if one else None, args.top_k,
                               artist=artists[0] if one and artists else None, text=args.text or None, songs=songs,
                               mood=args.mood, method=args.method)
    finally:
        NOTE_SHOWN.reset(shown)
    query = result.attrs["query"]
    if args.json:
        _print_json({"query": query, "results": result.to_dict(orient="records")})
        return
    named = ([song_name(query["title"], query["artist"])] if query["title"] else
             [song_name(song["title"], song["artist"]) for song in query.get("songs") or []])
    head = (f"{', '.join(named)} [{query['mood'] or '-'}, cluster {query['cluster']}]" if named
            else repr(query["text"]))
    print(f"Songs like {head}; keywords: {', '.join(query['keywords'])}")
    _print_recommendations(result)
    if len(result) < args.top_k:  # say so, rather than leave a short list unexplained
        among = (" sharing its keywords" if args.method == "lexical" else "") + (
            f" with the mood {args.mood!r}" if args.mood else "")
        print(f"  ({len(result)} of the {args.top_k} songs asked for: no more candidates{among})")


#: ``musemood map``'s options that only a fit uses, as (option, attribute). The parser gives them None, so that
#: one given without --data is seen and refused; with --data, those not given take Recommender's and SongMap's
#: defaults.
MAP_FIT_OPTIONS = (("--model", "model"), ("--text-column", "text_column"), ("--label-column", "label_column"),
                   ("--drop-missing", "drop_missing"), ("--scoring", "scoring"), ("--n-clusters", "n_clusters"),
                   ("--k-rule", "k_rule"), ("--map-on", "map_on"), ("--map-encoder", "map_encoder"),
                   ("--max-length", "max_length"))


def _options(args, options):
    """``options`` as given on the command line: ``--n-clusters 14 --drop-missing``."""
    dests = dict(MAP_FIT_OPTIONS)
    return " ".join(option if getattr(args, dests[option]) is True else f"{option} {getattr(args, dests[option])}"
                    for option in options)


def _given(args, **attributes):
    """``{parameter: args.<attribute>}`` of the options given (not None): the others keep the defaults of the
    class they are passed to."""
    return {name: getattr(args, attribute) for name, attribute in attributes.items()
            if getattr(args, attribute) is not None}


def _map(args):
    _quiet_transformers(args)
    from ..recommender import Recommender, default_path

    path = Path(args.recommender) if args.recommender else default_path()
    if args.html and Path(args.html).suffix.lower() not in (".html", ".htm"):  # before a fit of minutes
        raise ValueError(f"--html {args.html}: the map page is an .html file")
    check_output_folder(args.out, "--out")
    given = next((option for option, value in (("--vectors", args.vectors), ("--map-vectors", args.map_vectors))
                  if value), None)
    if given and not args.data:
        raise ValueError(f"{given} needs --data: the catalogue whose songs the vectors are of")
    fitting = [option for option, dest in MAP_FIT_OPTIONS if getattr(args, dest) is not None]
    if fitting and not args.data:  # before, they were ignored: the saved map was shown as it was
        raise ValueError(f"{' and '.join(fitting)} {'applies' if len(fitting) == 1 else 'apply'} when the map is "
                         f"fitted, from a catalogue: musemood map --data CATALOGUE {_options(args, fitting)} fits "
                         "the recommender again (every song embedded again, unless --vectors gives musemood embed's "
                         "vectors of them). Without --data, map shows the saved recommender's map as it is")
    if args.data:  # the fitted recommender is saved there
        check_output_folder(args.recommender, "--recommender")
    if args.data:
        from ..clustering import SongMap
        from ..datasets import load_dataset

        song_map = SongMap(**_given(args, n_clusters="n_clusters", k_rule="k_rule"))
        rec = Recommender(song_map=song_map, show_progress_bar=_show_progress(args), **_given(
            args, scoring="scoring", map_on="map_on", map_encoder="map_encoder", text_column="text_column",
            mood_column="label_column", max_length="max_length"))
        df = load_dataset(args.data, tags=_names_tags(args))  # the map uses no tags
        for option, column in (("--text-column", rec.text_column), ("--label-column", args.label_column)):
            if column and column not in df.columns:  # an absent default label column only means no moods
                raise KeyError(f"{option} {column!r} is not a column of {args.data}; its columns are "
                               f"{list(df.columns)}. {headerless_hint(df.columns)}".rstrip())
        if args.drop_missing:
            df = _with_lyrics(df, rec.text_column, args.data)
        if song_map.n_clusters == "auto" and len(song_map.k_values(len(df))) < 3:  # before any song is embedded
            raise ValueError(f"{len(df)} songs are too few for the map's choice of k, which tries k = 2 up to one "
                             "less than the songs and needs 3 of them to choose from: give --n-clusters (2 to "
                             f"{max(2, len(df) - 1)}), or map 5 songs or more")
        model = args.model
        if args.vectors and model is None:  # the default model, checked against the one that made the vectors
            from ..encoders import BertEncoder

            model = BertEncoder(max_length=rec.max_length)
        rec.fit(df, model, vectors=args.vectors, map_vectors=args.map_vectors)
        if args.neighbours:
            rec.retriever_.precompute_neighbours(show_progress_bar=True)
        rec.save(path)
        print(f"Fitted {rec!r} in {rec.fit_seconds_:.0f} s; saved to {path}")
    else:
        from ..recommender import get_recommender

        rec = get_recommender(args.recommender)  # the default one is built when absent; a given path must exist
        if args.neighbours:
            rec.retriever_.precompute_neighbours(show_progress_bar=True)
            print(f"Saved the songs' vector candidates to {rec.retriever_.save_neighbours(path / 'retriever')}")
            if rec.map_ is None:  # what was asked is done
                print("No song map to plot: the recommender was fitted with song_map=None")
                return 0
    _print_map(rec, args.data)
    print("Wrote " + ", ".join(str(p) for p in rec.plot_map(Path(args.out) if args.out else path / "plots")))
    if args.html:
        from ..web import write_map_html

        print(f"Wrote the interactive map to {write_map_html(rec, args.html, show_progress_bar=True)}; open it in a "
              "browser (no server needed)")


def _with_lyrics(df, text_column, data):
    """``df`` without its songs that have no lyrics (``map --drop-missing``), saying how many and the first."""
    import numpy as np

    from .._validation import is_text_or_missing, row_of
    from ..text import is_instrumental

    values = df[text_column]
    empty = np.fromiter((is_instrumental(v) if isinstance(v, str) else is_text_or_missing(v) for v in values),
                        dtype=bool, count=len(values))  # a number is kept: the fit says it is not text
    if empty.any():
        print(f"Left out {int(empty.sum()):,} of the {len(df):,} songs of {data}: no lyrics in {text_column!r} "
              f"(the first at {row_of(df, empty, title=True)})")
    return df[~empty]


def _evaluate_recommender(args):
    import json

    from ..recommender import get_recommender

    if args.out and Path(args.out).is_dir():  # before the evaluation
        raise ValueError(f"--out {args.out} is a folder; name the JSON file to write, e.g. "
                         f"{Path(args.out) / 'eval.json'}")
    rec = get_recommender(args.recommender)
    table = rec.evaluate(top_k=args.top_k)
    payload = {"table": table.to_dict(orient="records"), **table.attrs}
    if args.json:
        _print_json(payload)
    else:
        _print_evaluation(table)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(payload, indent=1, default=str))
        if not args.json:
            print(f"Wrote {args.out}")


def _embed(args):
    _quiet_transformers(args)
    from ..embed import embed_dataset

    result = embed_dataset(args.data, args.out, args.model, text_column=args.text_column,
                           id_column=args.id_column, part_size=args.part_size, batch_size=args.batch_size,
                           max_length=args.max_length, skip=args.skip_vectors, engine=args.engine,
                           address=args.address, concurrency=args.concurrency, show_progress_bar=_show_progress(args))
    if not result.songs and args.skip_vectors:  # every song is in a folder to skip
        print(f"Nothing to embed: {', '.join(args.skip_vectors)} hold{'s' if len(args.skip_vectors) == 1 else ''} "
              f"a vector of every song of {args.data} ({result.left_out:,}), of the same lyrics; {result.path} holds "
              f"{result.parts} empty parts, for map --vectors to take as any other folder")
        return
    done = f", {result.skipped} already done" if result.skipped else ""
    if args.skip_vectors:
        done += f"; {result.left_out:,} left out: they have vectors in {', '.join(args.skip_vectors)}"
        if result.changed:
            done += f"; {result.changed:,} embedded again: {'its' if result.changed == 1 else 'their'} lyrics changed"
    rate = result.songs_per_second
    print(f"Embedded {result.songs:,} song{'' if result.songs == 1 else 's'} into {result.parts} parts in "
          f"{result.path} ({result.written} written{done}) in {result.seconds:.0f} s, "
          f"{rate:.{0 if rate >= 10 else 1}f} songs/s; {result.dim}-dimensional vectors; read them with "
          "musemood.embed.load_vectors")
    if result.without_lyrics:
        n = result.without_lyrics
        print(f"{n:,} of them {'has' if n == 1 else 'have'} no lyrics in {args.text_column!r} (empty, or only a mark "
              "such as [Instrumental]): each has the vector of the empty text, so musemood map refuses them; fill "
              "their lyrics (musemood scrape lyrics) and embed again, or leave them out: musemood map --drop-missing")


def _serve(args):
    import os

    from .. import serve

    serve._require()
    import uvicorn

    if args.port > 65535:
        raise ValueError(f"--port must be at most 65535, got {args.port}")
    own_sockets = args.workers > 1 and serve.spreads_connections()  # a bad setting fails before the long load
    serve.check_address(args.host, args.port)  # so does a port in use
    # errors loading the parts are the user's, with exit codes
    if args.workers == 1:
        _quiet_transformers(args)
        rec, model = serve.load_parts(args.recommender, args.model, mmap=args.mmap)
        songs, model_name = serve.describe(rec, model)
    else:  # the workers load their own parts: check them in a process that then exits, so that this one,
        # which only watches the workers, does not keep the imports and the copy (0.6 GB at 1M songs)
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            songs, model_name = pool.submit(serve.describe_parts, args.recommender, args.model, mmap=args.mmap,
                                            quiet=not args.verbose).result()
    threads = args.threads or serve.default_threads(args.workers)
    print(f"Serving {songs:,} songs" + (f" and a {model_name}" if model_name else
                                       " (no mood model: /predict answers 503)")
          + f" on http://{args.host}:{args.port} (API docs at /docs) with {args.workers} worker"
          + ("s" if args.workers > 1 else "") + f" of {threads} thread" + ("s" if threads > 1 else "")
          + "; Ctrl-C stops" + ("; SIGHUP reloads the parts" if args.workers == 1 or own_sockets else ""),
          file=sys.stderr)
    logging.getLogger("musemood.access").setLevel(logging.INFO)
    if args.workers == 1:
        app = serve.create_app(rec, model, threads=threads)
        serve.reload_on_hangup(app, args.recommender, args.model, mmap=args.mmap)
        serve.freeze_loaded()
        uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="warning")
        return 0
    os.environ["MUSEMOOD_SERVE_RECOMMENDER"] = str(args.recommender or "")
    os.environ["MUSEMOOD_SERVE_MODEL"] = str(args.model or "")
    os.environ["MUSEMOOD_SERVE_THREADS"] = str(threads)
    os.environ["MUSEMOOD_SERVE_MMAP"] = "1" if args.mmap else "0"
    if own_sockets:  # a socket per worker: the kernel spreads connections over them
        serve.run_workers(args.workers, args.host, args.port)
        return 0
    uvicorn.run(serve.APP_FACTORY, factory=True, host=args.host, port=args.port, workers=args.workers,
                access_log=False, log_level="warning")
    return 0
