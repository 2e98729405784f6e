"""The ``musemood`` command.  Thin over the library; heavy imports happen in the handlers."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from ._version import __version__
from . import schema
from .schema import MODELS, STUDY_MODELS


EXIT_BUG = 1
"""Something failed that the user did not cause: a bug to report (``-v`` shows where)."""
EXIT_BAD_INPUT = 2
"""Bad input: a path, a file, an option value or a key the user can fix (argparse uses 2 too)."""
EXIT_SERVICE = 3
"""A service or the environment failed: an API down or refusing us, a missing extra, a full disk."""


def exit_code(exc):
    """The exit code for an exception raised by a command (see the ``EXIT_*`` constants)."""
    from .sources.http import CredentialError, SourceError
    from .sources.store import StoreBusy

    if isinstance(exc, (CredentialError, ValueError, LookupError, TypeError, FileNotFoundError, IsADirectoryError,
                        NotADirectoryError, PermissionError, FileExistsError)):
        return EXIT_BAD_INPUT
    if isinstance(exc, (SourceError, StoreBusy, ImportError, OSError, MemoryError)):
        return EXIT_SERVICE
    return EXIT_BUG


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    logging.basicConfig(
        level=logging.WARNING - 10 * args.verbose, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return args.handler(args) or 0
    except KeyboardInterrupt:
        print(f"musemood {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`musemood recommend ... | head -3`): not an error
        import os

        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        except (OSError, ValueError):  # stdout is not a file (captured, redirected in-process)
            pass
        return 0
    except Exception as exc:  # no traceback for a user: one line that says what failed and what to do
        code = exit_code(exc)
        if args.verbose:
            import traceback

            traceback.print_exc()
        what = "" if code == EXIT_BAD_INPUT else f"{type(exc).__name__}: "
        hint = ("" if args.verbose or code == EXIT_BAD_INPUT
                else "\n(run the command again with -v to see where it failed)")
        print(f"musemood {args.command}: error: {what}{exc}{hint}", file=sys.stderr)
        return code


def _int_at_least(low):
    """An argparse type: a whole number >= ``low`` (argparse reports anything else, exit code 2)."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be {low} or more, got {value}")
        return value
    parse.__name__ = f"whole number >= {low}"
    return parse


def _number_in(low, high=None):
    """An argparse type: a finite number in [low, high]."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (value >= low and (high is None or value <= high)) or value == float("inf"):
            limit = f"between {low:g} and {high:g}" if high is not None else f"a finite number >= {low:g}"
            raise argparse.ArgumentTypeError(f"must be {limit}, got {text}")
        return value
    parse.__name__ = "number"
    return parse


def build_parser():
    parser = argparse.ArgumentParser(
        prog="musemood",
        description="Song mood from lyrics, audio features and listeners' tags.",
    )
    parser.add_argument("--version", action="version", version=f"musemood {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_demo_command(commands)
    _add_compare_command(commands)
    _add_train_command(commands)
    _add_tune_command(commands)
    _add_predict_command(commands)
    _add_recommend_command(commands)
    _add_map_command(commands)
    _add_evaluate_recommender_command(commands)
    _add_scrape_command(commands)
    _add_build_dataset_command(commands)
    _add_label_command(commands)
    _add_serve_command(commands)
    _add_embed_command(commands)
    return parser


def _add_demo_command(commands):
    demo = commands.add_parser(
        "demo",
        help="run the whole pipeline on the embedded demo corpus",
        description="Build the demo corpus, label it with the k/epsilon rule and print a summary; then compare "
        "the models, map the songs (UMAP + KMeans) and fit, evaluate and try the recommender.",
    )
    demo.add_argument("--n-songs", type=_int_at_least(50), default=2000, help="songs to generate (default 2000)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument(
        "--tag-counts", choices=("raw", "lastfm"), default="raw",
        help="raw counts as in WASABI dumps, or Last.fm API weights (top tag = 100)",
    )
    demo.add_argument("--out", default=None, help="output folder (default $MUSEMOOD_HOME/demo)")
    demo.add_argument(
        "--models", default=",".join(STUDY_MODELS),
        help="models to compare after labelling, comma-separated, or 'none' (default: the study's, "
        + ",".join(STUDY_MODELS) + "; all: " + ",".join(MODELS) + ")",
    )
    demo.add_argument("--recommender", help="folder to save the recommender in (default $MUSEMOOD_HOME/recommender, "
                      "or <out>/recommender with --out)")
    _add_rule_options(demo)
    _add_training_options(demo, seeds=1, epochs=2, max_length=128)
    _add_verbosity(demo)
    demo.set_defaults(handler=_demo)


def _add_compare_command(commands):
    compare = commands.add_parser(
        "compare",
        help="train the baselines and the study's three models in sequence; print the study's Table 1",
        description="Train a majority baseline, TF-IDF + logistic regression, simple BERT, fine-tuned "
        "BERT and tBERT on a labelled CSV/Parquet file (or the demo corpus) over several seeds; print "
        "accuracy, precision, recall, macro-F1 and training time (mean ± sd) with McNemar tests, and "
        "write table.json, table.md, loss_curves.png and confusion.png.",
    )
    _add_data_options(compare)
    compare.add_argument("--models", default=",".join(STUDY_MODELS),
                         help="comma-separated models (default: the study's, " + ",".join(STUDY_MODELS) + "); all: "
                         + ",".join(MODELS))
    compare.add_argument(
        "--optimizers", default=None,
        help="also fine-tune with each of these optimizers and plot their loss curves (e.g. adamw,adagrad,sgd)",
    )
    compare.add_argument("--out", default=None,
                         help="output folder (default: a new run folder, $MUSEMOOD_HOME/runs/compare-<time>)")
    _add_training_options(compare, seeds=3, epochs=3, max_length=256)
    _add_tracking_options(compare)
    _add_verbosity(compare)
    compare.set_defaults(handler=_compare)


def _add_train_command(commands):
    train = commands.add_parser(
        "train", help="train one model and save it",
        description="Train simple BERT, fine-tuned BERT or tBERT on a labelled file (--data) or on the demo "
        "corpus (--demo) and save it. --params takes the best parameters a `musemood tune` run wrote.")
    _add_data_options(train, demo_flag=True)
    train.add_argument("--model", choices=("simple", "finetuned", "tbert", "dnn", "lstm"), default=None,
                       help="which model (default tbert, or the model of --params; dnn and lstm are the neural "
                       "baselines)")
    train.add_argument("--params", help="JSON of parameters, e.g. the best-params file `musemood tune` writes")
    train.add_argument("--lora", action="store_true", help="fine-tune with LoRA adapters")
    train.add_argument("--mode", choices=("two_stage", "joint"), default="two_stage", help="tBERT training")
    train.add_argument("--out", help="folder to save the model in (default: model/ in the run folder, "
                       "$MUSEMOOD_HOME/runs/train-<time>)")
    train.add_argument("--resume", metavar="RUN_FOLDER",
                       help="continue a killed train run from its last finished epoch, with the settings and "
                       "data it was started with (its folder under $MUSEMOOD_HOME/runs)")
    _add_training_options(train, seed=True, epochs=3, max_length=256)
    _add_tracking_options(train)
    _add_verbosity(train)
    train.set_defaults(handler=_train)


def _add_tune_command(commands):
    tune = commands.add_parser(
        "tune", help="search hyperparameters with Optuna (resumable)",
        description="Search learning rate, weight decay, epochs, dropout and LoRA rank on a validation "
        "split. Trials are stored in SQLite: run the same command again to continue the study.",
    )
    _add_data_options(tune)
    tune.add_argument("--model", choices=("simple", "finetuned", "tbert"), default="finetuned")
    tune.add_argument("--lora", action="store_true", help="tune LoRA fine-tuning (and its rank)")
    tune.add_argument("--trials", type=_int_at_least(1), default=20, help="finished trials to reach (20)")
    tune.add_argument("--timeout", type=_number_in(0), help="stop starting trials after this many seconds")
    tune.add_argument("--storage", help="SQLite file of the study (default $MUSEMOOD_HOME/tune.db)")
    tune.add_argument("--study", default="musemood", help="study name (musemood)")
    tune.add_argument("--best-params", help="where to write the best parameters as JSON for `train --params` "
                      "(default: beside the storage, <study>-best.json)")
    _add_training_options(tune, seed=True, epochs=5, max_length=256, epochs_help="largest number of fine-tuning "
                          "epochs searched (5)")
    _add_tracking_options(tune)
    _add_verbosity(tune)
    tune.set_defaults(handler=_tune)


def _add_predict_command(commands):
    predict = commands.add_parser("predict", help="predict moods with a saved model")
    predict.add_argument("model", help="folder written by `musemood train` or Model.save()")
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="CSV or Parquet file with the lyrics (and audio features)")
    source.add_argument("--text", help="one lyric")
    predict.add_argument("--text-column", default="lyrics")
    predict.add_argument("--out", help="write predictions here (.csv, .tsv or .parquet)")
    predict.add_argument("--json", action="store_true", help="print the predictions as JSON")
    _add_verbosity(predict)
    predict.set_defaults(handler=_predict)


def _add_recommend_command(commands):
    recommend = commands.add_parser(
        "recommend", help="songs that feel like a song (or like a description)",
        description="Recommend songs from a fitted recommender: the one saved under "
        "$MUSEMOOD_HOME/recommender (written by `musemood demo` or `musemood map --data`), else the demo one.",
    )
    recommend.add_argument("title", nargs="?", help="song title (fuzzy: small typos are forgiven)")
    recommend.add_argument("--artist", help="artist, when several songs share the title")
    recommend.add_argument("--text", help="describe what you want instead of naming a song")
    recommend.add_argument("--mood", help="only songs with this mood label")
    recommend.add_argument("--top-k", type=_int_at_least(1), default=10, help="how many songs (10)")
    recommend.add_argument("--method", choices=("rerank", "lexical", "embedding"), default="rerank",
                           help="ranking: the tuned rerank (default), keywords only or embeddings only")
    recommend.add_argument("--recommender", help="folder of a saved recommender")
    recommend.add_argument("--json", action="store_true", help="print the recommendations as JSON")
    _add_verbosity(recommend)
    recommend.set_defaults(handler=_recommend)


def _add_map_command(commands):
    song_map = commands.add_parser(
        "map", help="cluster songs (UMAP + KMeans) and plot the song map",
        description="With --data, fit a recommender (song vectors, song map, indexes, tuned rerank) on a "
        "catalogue and save it; otherwise use the saved one. Prints the choice of k and each cluster's top "
        "words and mood mix, and writes k_sweep.png, map_mood.png and map_cluster.png.",
    )
    song_map.add_argument("--data", help="catalogue .csv/.parquet (title, artist, lyrics; audio features and "
                          "label used when present)")
    song_map.add_argument("--model", help="saved musemood model folder or encoder name/path for the song "
                          "embeddings (default: the packaged all-MiniLM-L6-v2)")
    song_map.add_argument("--text-column", default="lyrics")
    song_map.add_argument("--label-column", default="label", help="mood column (label)")
    song_map.add_argument("--scoring", choices=("tfidf", "bm25"), default="tfidf", help="lexical scoring (tfidf)")
    song_map.add_argument("--n-clusters", default="auto", help="number of clusters or 'auto' (the k sweep)")
    song_map.add_argument("--k-rule", choices=schema.K_RULES, default="finest",
                          help="how the k sweep picks k: the largest k within 0.05 of the best silhouette (finest), "
                          "the distortion's elbow, or the best silhouette")
    song_map.add_argument("--map-on", choices=schema.MAP_ON, default="auto",
                          help="vectors the map is drawn from: the encoder's vectors of the lyrics, the song vectors, "
                          "or auto (lyrics when --model is trained on the labels)")
    song_map.add_argument("--map-encoder", help="encoder name/path for --map-on lyrics (default: the packaged "
                          "all-MiniLM-L6-v2)")
    song_map.add_argument("--max-length", type=_int_at_least(8), default=256,
                          help="tokens per window for a plain encoder")
    song_map.add_argument("--recommender", help="folder to save the fitted recommender in, or to read it from "
                          "(default $MUSEMOOD_HOME/recommender)")
    song_map.add_argument("--out", help="folder for the plots (default: <recommender>/plots)")
    song_map.add_argument("--html", metavar="FILE", help="also write the interactive map as one self-contained "
                          ".html file (the scatter plot's script, the songs and their recommendations inlined)")
    _add_verbosity(song_map)
    song_map.set_defaults(handler=_map)


def _add_evaluate_recommender_command(commands):
    evaluate = commands.add_parser(
        "evaluate-recommender", help="precision@k of mood agreement: keywords vs embeddings vs the rerank",
        description="Evaluate a saved recommender on its held-out query songs: precision@k of mood agreement "
        "for lexical (TF-IDF/BM25) retrieval only, embeddings only and the tuned rerank, against the random "
        "baseline (sum of squared mood shares), with a Wilcoxon signed-rank test of rerank vs lexical.",
    )
    evaluate.add_argument("--recommender", help="folder of a saved recommender (default $MUSEMOOD_HOME/recommender)")
    evaluate.add_argument("--top-k", type=_int_at_least(1), default=10, help="k of precision@k (10)")
    evaluate.add_argument("--out", help="also write the table as JSON here")
    evaluate.add_argument("--json", action="store_true", help="print the table as JSON")
    _add_verbosity(evaluate)
    evaluate.set_defaults(handler=_evaluate_recommender)


def _add_scrape_command(commands):
    scrape = commands.add_parser(
        "scrape", help="build a song dataset from WASABI, Last.fm, Spotify and Genius/LRCLIB (resumable)",
        description="Run one scraping job, or all of them. Every job resumes where it stopped: results are "
        "kept per song in the scrape store (an SQLite file). Keys come from the environment: LASTFM_API_KEY, "
        "SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET, GENIUS_ACCESS_TOKEN. 'all' ends with build-dataset.",
    )
    scrape.add_argument("job", choices=("wasabi", "lastfm", "spotify", "lyrics", "all"),
                        help="wasabi: read the songs; lastfm: tags; spotify: audio features; lyrics; all")
    _add_store_option(scrape)
    scrape.add_argument("--songs", help="the WASABI songs CSV (wasabi, all)")
    scrape.add_argument("--tag-dump", help="a WASABI Last.fm tag dump: its songs skip the Last.fm API")
    scrape.add_argument("--msd-lastfm", help="the Million Song Dataset's Last.fm folder (JSON files), likewise")
    scrape.add_argument("--limit", type=_int_at_least(1), help="at most this many songs per job")
    scrape.add_argument("--retry-failed", action="store_true", help="ask again for songs that failed before")
    scrape.add_argument("--workers", type=_int_at_least(1), default=2,
                        help="Last.fm requests in flight (2; 5 per second at most)")
    scrape.add_argument("--audio-sources", default="spotify,table,librosa",
                        help="audio-feature sources in order (spotify,table,librosa); table needs --features-table, "
                        "librosa needs --audio-dir")
    scrape.add_argument("--features-table", help="CSV/Parquet of audio features keyed by Spotify id")
    scrape.add_argument("--audio-dir", help="folder of audio files named <song_id> or <spotify_id>.<ext>")
    scrape.add_argument("--lyrics-sources", default="genius,lrclib", help="lyrics sources in order (genius,lrclib)")
    scrape.add_argument("--match-threshold", type=_number_in(0, 100), default=90,
                        help="fuzzy title/artist match (0-100) a lyrics hit needs (90)")
    scrape.add_argument("--out", help="the dataset Parquet for 'all' (default $MUSEMOOD_HOME/dataset.parquet)")
    scrape.add_argument("--max-retry-after", type=_number_in(0), metavar="SECONDS",
                        help="the longest Retry-After to wait for (default $MUSEMOOD_MAX_RETRY_AFTER or 120); "
                             "a server asking for longer is reported and its songs stay pending")
    _add_rule_options(scrape)
    _add_verbosity(scrape)
    scrape.set_defaults(handler=_scrape)


def _add_build_dataset_command(commands):
    build = commands.add_parser(
        "build-dataset", help="write the scraped songs as a labelled Parquet dataset",
        description="Read the scrape store, keep songs with tags and lyrics, label them with the k/epsilon "
        "rule, split them and write the schema's Parquet.",
    )
    _add_store_option(build)
    build.add_argument("--out", help="output .parquet (default $MUSEMOOD_HOME/dataset.parquet)")
    build.add_argument("--keep-unlabelled", action="store_true", help="keep songs the rule does not label")
    _add_rule_options(build)
    _add_verbosity(build)
    build.set_defaults(handler=_build_dataset)


def _add_label_command(commands):
    label = commands.add_parser(
        "label",
        help="label songs from their tags with the k/epsilon rule",
        description="Read a Parquet or CSV dataset with a 'tags' column, add 'label' and "
        "'label_reason', print a summary and write the result.",
    )
    label.add_argument("data", help="input .parquet, .csv or .tsv")
    label.add_argument("--out", help="output .parquet, .csv or .tsv, in the format its suffix names "
                       "(default: print the summary only)")
    _add_rule_options(label)
    _add_verbosity(label)
    label.set_defaults(handler=_label)


def _add_serve_command(commands):
    serve = commands.add_parser(
        "serve",
        help="serve predict, recommend, song search and the map over HTTP",
        description="Load a recommender and a mood model once, then serve them over HTTP (FastAPI): "
        "POST /predict, GET and POST /recommend, GET /songs, GET /map, GET /health, GET /version, and the "
        "OpenAPI docs at /docs. Needs `pip install \"musemood[serve]\"`.",
    )
    serve.add_argument("--recommender", help="a saved recommender folder (default $MUSEMOOD_HOME/recommender; "
                       "the demo one is built there if absent)")
    serve.add_argument("--model", help="a saved mood model folder (default: the recommender's model when it is a "
                       "classifier, as the demo's tBERT is)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1; 0.0.0.0 for all)")
    serve.add_argument("--port", type=_int_at_least(1), default=8000, help="port (8000)")
    serve.add_argument("--workers", type=_int_at_least(1), default=1,
                       help="worker processes (1; see docs/serve.md); they share the recommender's large arrays, "
                       "mapped from its files, and each has its own copy of the rest")
    serve.add_argument("--no-mmap", dest="mmap", action="store_false",
                       help="read the recommender's arrays into each worker's memory instead of mapping them from "
                       "its files (e.g. when the files sit on a slow network drive)")
    serve.add_argument("--threads", type=_int_at_least(1),
                       help="requests each worker runs at once; more wait their turn (default: the cores "
                       "divided among the workers, at least 1; see docs/serve.md)")
    _add_verbosity(serve)
    serve.set_defaults(handler=_serve)


def _add_embed_command(commands):
    embed = commands.add_parser(
        "embed",
        help="compute song vectors for a whole catalogue, in resumable Parquet parts",
        description="Read a Parquet file or a folder of Parquet files part by part, compute each song's vector "
        "with a model and write part-00000.parquet... (song_id, vector) to --out, with embed.json naming the "
        "model. Memory holds one part; a killed run resumes where it stopped when run again.",
    )
    embed.add_argument("data", help="a .parquet file or a folder of .parquet files (e.g. from build-dataset)")
    embed.add_argument("--out", required=True, help="output folder (an interrupted run's folder is resumed)")
    embed.add_argument("--model", help="a saved musemood model folder or an encoder name/path (default: the "
                       "packaged all-MiniLM-L6-v2)")
    embed.add_argument("--text-column", default="lyrics", help="the lyrics column (lyrics)")
    embed.add_argument("--id-column", default="song_id", help="the song id column (song_id)")
    embed.add_argument("--part-size", type=_int_at_least(1), default=10_000, help="songs per part (10000)")
    embed.add_argument("--batch-size", type=_int_at_least(1), help="texts per encoder batch (32 on CPU, 256 on a GPU)")
    embed.add_argument("--max-length", type=_int_at_least(8), default=256,
                       help="tokens per window for an encoder given by name (256)")
    embed.add_argument("--engine", choices=schema.EMBED_ENGINES, default="local",
                       help="local: this process; ray: Ray actors, each loading the model once (musemood[ray])")
    embed.add_argument("--address", help="the Ray cluster to join, e.g. ray://head:10001 (default: a local Ray)")
    embed.add_argument("--concurrency", type=_int_at_least(1),
                       help="Ray actors (default: one per CPU of the cluster)")
    _add_verbosity(embed)
    embed.set_defaults(handler=_embed)


def _add_store_option(parser):
    parser.add_argument("--store", help="the scrape store (default $MUSEMOOD_HOME/scrape.sqlite)")


def _add_rule_options(parser):
    group = parser.add_argument_group("label rule")
    group.add_argument("--moods", default="binary", help="mood sets: binary (happy/sad) or four")
    group.add_argument("--k", type=_int_at_least(1), default=5, help="top-k condition (default 5)")
    group.add_argument("--epsilon", type=_number_in(0, 1), default=0.1, help="dominance margin (default 0.1)")
    group.add_argument(
        "--denominator", choices=("total", "mood"), default="total",
        help="divide the margin by the song's tag total or by the mood's top-tag count",
    )
    group.add_argument("--min-tags", type=_int_at_least(0), default=11, help="reject songs with fewer tags (11)")
    group.add_argument(
        "--min-tag-count", type=_number_in(0), default=3, help="drop tags used fewer times (raw counts; 3)"
    )
    group.add_argument(
        "--counts", choices=("auto", "raw", "relative"), default="auto",
        help="how to read tag counts (default: detect Last.fm weights)",
    )


def _add_data_options(parser, demo_flag=False):
    group = parser.add_argument_group("data")
    if demo_flag:
        source = group.add_mutually_exclusive_group()  # one of them, or `train --resume`: checked in _train
        source.add_argument("--data", help="labelled .csv, .tsv or .parquet")
        source.add_argument("--demo", action="store_true", help="use the labelled demo corpus (--n-songs)")
    else:
        group.add_argument("--data", help="labelled .csv, .tsv or .parquet (default: the demo corpus)")
    group.add_argument("--text-column", default="lyrics", help="column with the lyrics (lyrics)")
    group.add_argument("--label-column", default="label", help="column with the labels (label)")
    group.add_argument(
        "--audio-columns", default="auto",
        help="'auto' (the 12 Spotify features if present), 'none', or a comma-separated list",
    )
    group.add_argument("--drop-missing", action="store_true", help="drop rows without a label or text")
    group.add_argument(
        "--objective", choices=("classification", "regression"), default="classification",
        help="regression predicts a number (e.g. --label-column valence) and reports MSE, RMSE, R²",
    )
    group.add_argument("--limit", type=_int_at_least(1), help="use at most this many songs (a random sample)")
    group.add_argument("--n-songs", type=_int_at_least(50), default=2000, help="demo corpus size when no --data (2000)")


def _add_training_options(parser, *, seeds=None, seed=False, epochs, max_length, epochs_help=None):
    group = parser.add_argument_group("training")
    group.add_argument("--encoder", default=None, help="encoder name or path (default: packaged all-MiniLM-L6-v2)")
    if seeds is not None:
        group.add_argument("--seeds", type=int, default=seeds, help=f"number of seeds, 0, 1, ... ({seeds})")
    if seed:
        group.add_argument("--seed", type=int, default=0, help="random seed (0)")
    group.add_argument("--epochs", type=_int_at_least(0), default=epochs,
                       help=epochs_help or f"fine-tuning epochs ({epochs})")
    group.add_argument("--max-length", type=_int_at_least(8), default=max_length,
                       help=f"tokens per window ({max_length})")
    group.add_argument("--batch-size", type=int, default=16, help="songs per batch (16)")
    group.add_argument("--n-topics", type=int, default=7, help="LDA topics for tBERT (7; 0 for none)")
    group.add_argument("--class-weight", choices=("none", "balanced"), default="none",
                       help="'balanced' weighs each class's loss by n / (classes x its count): for imbalanced labels")
    group.add_argument("--strategy", choices=("auto", "finetune", "contrastive", "frozen"), default=None,
                       help="how the encoder learns: 'auto' (default of fine-tuned BERT and tBERT: contrastive, "
                       "SetFit's way, below 500 training songs, else fine-tuning), 'finetune', 'contrastive'; "
                       "'frozen' is simple BERT's default (in compare, simple BERT stays frozen)")


def _add_tracking_options(parser):
    group = parser.add_argument_group("tracking (every run also gets its own folder under $MUSEMOOD_HOME/runs)")
    group.add_argument("--report-to", default="none",
                       help="also record the run in mlflow, wandb, both (mlflow,wandb), all installed, or none "
                       "(default); needs pip install 'musemood[track]'")
    group.add_argument("--tracking-uri", help="MLflow store (default sqlite:///$MUSEMOOD_HOME/mlflow.db)")


def _tracker(args, command, folder, **params):
    """The run's :class:`~musemood.tracking.Tracker` over ``folder``, with the command's settings (each
    command has checked ``--report-to`` before loading data, so a missing extra fails before training)."""
    from .tracking import Tracker

    settings = {k: v for k, v in vars(args).items() if k not in ("handler", "report_to", "tracking_uri", "verbose")}
    return Tracker(folder, {"command": command, **settings, **params}, report_to=args.report_to,
                   tracking_uri=args.tracking_uri, experiment=f"musemood-{command}")


def _add_verbosity(parser):
    parser.add_argument("-v", "--verbose", action="count", default=0, help="show progress and details")


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


def _demo(args):
    from . import pipeline
    from .recommender import default_path

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


def _print_map(rec):
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
    print()
    for _, row in rec.clusters_.iterrows():
        mix = ", ".join(f"{m} {p:.0%}" for m, p in (row.get("mood_mix") or {}).items()) or "no labels"
        print(f"cluster {row['cluster']:>2}: {row['songs']:>5} songs; {mix}; " + " ".join(row["top_words"]))


def _print_evaluation(table):
    k = table.attrs["k"]
    print(f"\nRecommender: precision@{k} of mood agreement on {int(table['queries'].iloc[0])} held-out query songs")
    for _, row in table.iterrows():
        err = "" if row["stderr"] != row["stderr"] else f" ± {row['stderr']:.3f}"
        print(f"  {row['method']:<18} {row[f'precision@{k}']:.3f}{err}")
    w = table.attrs["weights"]
    print(f"  tuned weights: lexical {w['lexical']:.3f}, embedding {1 - w['lexical']:.3f}, same cluster "
          f"{w.get('cluster', 0):.3f}; Wilcoxon rerank vs lexical p = {table.attrs['wilcoxon_rerank_vs_lexical']:.3g}")


def _print_recommendations(result):
    note = result.attrs["query"].get("note")
    if note:
        print(f"  ({note})")
    for _, row in result.iterrows():
        mood = row["mood"] if isinstance(row["mood"], str) else "-"
        print(f"  {row['rank']:>2}. {row['title']} - {row['artist']}  [{mood}, cluster {row['cluster']}] "
              f"score {row['score']:.3f}; {row['why']}")


def _recommend(args):
    _quiet_transformers(args)
    from .recommender import get_recommender

    if not args.title and not args.text:
        raise ValueError("give a song title, or --text to describe what you want")
    rec = get_recommender(args.recommender)
    result = rec.recommend(args.title, args.top_k, artist=args.artist, text=None if args.title else args.text,
                           mood=args.mood, method=args.method)
    query = result.attrs["query"]
    if args.json:
        _print_json({"query": query, "results": result.to_dict(orient="records")})
        return
    head = (f"{query['title']} - {query['artist']} [{query['mood'] or '-'}, cluster {query['cluster']}]"
            if query["title"] else repr(query["text"]))
    print(f"Songs like {head}; keywords: {', '.join(query['keywords'])}")
    _print_recommendations(result)


def _print_json(payload):
    import json

    from .persistence import jsonable

    print(json.dumps(jsonable(payload), indent=1, default=str))


def _map(args):
    _quiet_transformers(args)
    from .recommender import Recommender, default_path

    path = Path(args.recommender) if args.recommender else default_path()
    if args.data:
        from .clustering import SongMap
        from .datasets import load_dataset

        df = load_dataset(args.data)
        song_map = SongMap(n_clusters=args.n_clusters if args.n_clusters == "auto" else int(args.n_clusters),
                           k_rule=args.k_rule)
        rec = Recommender(scoring=args.scoring, song_map=song_map, map_on=args.map_on, map_encoder=args.map_encoder,
                          text_column=args.text_column, mood_column=args.label_column, max_length=args.max_length,
                          show_progress_bar=_show_progress(args))
        rec.fit(df, args.model)
        rec.save(path)
        print(f"Fitted {rec!r} in {rec.fit_seconds_:.0f} s; saved to {path}")
    else:
        from .recommender import get_recommender

        rec = get_recommender(args.recommender)  # the default one is built when absent; a given path must exist
    if args.html and Path(args.html).suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"--html {args.html}: the map page is an .html file")
    _print_map(rec)
    print("Wrote " + ", ".join(str(p) for p in rec.plot_map(Path(args.out) if args.out else path / "plots")))
    if args.html:
        from .web import write_map_html

        print(f"Wrote the interactive map to {write_map_html(rec, args.html, show_progress_bar=True)}; open it in a "
              "browser (no server needed)")


def _evaluate_recommender(args):
    import json

    from .recommender import get_recommender

    rec = get_recommender(args.recommender)
    table = rec.evaluate(top_k=args.top_k)
    payload = {"table": table.to_dict(orient="records"), **table.attrs}
    if args.json:
        _print_json(payload)
    else:
        _print_evaluation(table)
    if args.out:
        Path(args.out).write_text(json.dumps(payload, indent=1, default=str))
        if not args.json:
            print(f"Wrote {args.out}")


def _models(text, *, allow_none=False):
    if allow_none and (not text or text == "none"):
        return ()
    models = tuple(m.strip() for m in (text or "").split(",") if m.strip())
    if not models:
        raise ValueError(f"--models lists no model; choose from {', '.join(MODELS)} (comma-separated)")
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown models {unknown}; choose from {', '.join(MODELS)}")
    return models


def _load_data(args):
    """The user's file, or the labelled demo corpus."""
    from .datasets import load_dataset, load_demo
    from .pipeline import labelled_songs

    if args.data:
        df = load_dataset(args.data)
    else:
        df = labelled_songs(load_demo(args.n_songs, random_state=0))
    if args.limit and len(df) > args.limit:
        df = df.sample(args.limit, random_state=0)
    return df


def _audio(args, df):
    """The --audio-columns option resolved against the data."""
    from .features import resolve_audio_columns

    if args.audio_columns == "none":
        return None
    if args.audio_columns == "auto":
        return resolve_audio_columns(df, "auto")
    return [c.strip() for c in args.audio_columns.split(",") if c.strip()]


def _show_progress(args):
    """Progress bars on a terminal (or with -v), not in logs."""
    return bool(args.verbose) or sys.stderr.isatty()


def _quiet_transformers(args):
    """Hide transformers' per-load progress bars unless -v: the command prints its own progress."""
    if not args.verbose:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()


def _run_comparison(args, df, models, out_dir, audio, keep_models=False, tracker=None):
    from .evaluation import compare_models

    _quiet_transformers(args)
    result = compare_models(
        df, text_column=getattr(args, "text_column", "lyrics"), label_column=getattr(args, "label_column", "label"),
        audio_columns=audio, models=models, seeds=tuple(range(args.seeds)), encoder=args.encoder,
        epochs=args.epochs, max_length=args.max_length, batch_size=args.batch_size,
        n_topics=args.n_topics or None, drop_missing=getattr(args, "drop_missing", False),
        objective=getattr(args, "objective", "classification"), class_weight=_class_weight(args),
        strategy=getattr(args, "strategy", None) or "auto", show_progress_bar=_show_progress(args),
        callback=lambda line: print("  " + line, flush=True), keep_models=keep_models, tracker=tracker,
    )
    print("\nTable 1\n")
    print(result.to_markdown())
    paths = result.save(out_dir)
    print("\nWrote " + ", ".join(str(p) for p in paths))
    return result


def _compare(args):
    from .tracking import check_report_to, new_run_dir

    check_report_to(args.report_to)
    df = _load_data(args)
    models = _models(args.models)
    out = Path(args.out) if args.out else new_run_dir("compare")
    print(f"Run folder: {out}")
    with _tracker(args, "compare", out, n_rows=len(df)) as tracker:
        _run_comparison(args, df, models, out, _audio(args, df), tracker=tracker)
    if args.optimizers:
        from .evaluation import compare_optimizers, plot_optimizer_curves

        optimizers = [o.strip() for o in args.optimizers.split(",") if o.strip()]
        histories = compare_optimizers(
            df, optimizers=optimizers, text_column=args.text_column, label_column=args.label_column,
            encoder=args.encoder, epochs=args.epochs, max_length=args.max_length,
            batch_size=args.batch_size, drop_missing=args.drop_missing,
        )
        print(f"Wrote {plot_optimizer_curves(histories, out / 'optimizers.png')}")


def _train(args):
    _quiet_transformers(args)
    from .classifiers import make_model
    from .evaluation import check_dataset
    from .tracking import check_report_to, new_run_dir

    check_report_to(args.report_to)
    if args.resume:
        folder, args = Path(args.resume), _resumed(args)
    elif not (args.data or args.demo):
        raise ValueError("train needs --data FILE or --demo (or --resume RUN_FOLDER to continue a run)")
    else:  # absolute paths in the run's record: --resume works from any directory
        folder = None
        args.data = str(Path(args.data).resolve()) if args.data else None
        args.params = str(Path(args.params).resolve()) if args.params else None
    saved = _read_params(args.params) if args.params else {}
    name = args.model or saved.get("model") or "tbert"
    if saved.get("model") and saved["model"] != name:
        raise ValueError(f"{args.params} holds parameters for {saved['model']!r}, not --model {name}")
    df = check_dataset(_load_data(args), args.text_column, args.label_column, drop_missing=args.drop_missing,
                       objective=args.objective)
    params = dict(encoder=args.encoder, text_column=args.text_column, max_length=args.max_length,
                  batch_size=args.batch_size, objective=args.objective, epochs=args.epochs, lora=args.lora,
                  mode=args.mode, n_topics=args.n_topics, audio_columns=_audio(args, df),
                  class_weight=_class_weight(args), show_progress_bar=_show_progress(args))
    params.update(saved.get("params", {}))
    params["random_state"] = args.seed
    folder = folder or new_run_dir("train")
    params["checkpoint_dir"] = str(folder / "checkpoints")  # per epoch: --resume continues from there
    model = make_model(name, **params)
    if args.strategy and name in ("simple", "finetuned", "tbert", "tbert_topics", "tbert_audio"):
        model.set_params(strategy=args.strategy)
    target = df[args.label_column] if args.objective == "regression" else df[args.label_column].astype(str)
    with _tracker(args, "train", folder, model=name, n_rows=len(df)) as tracker:
        started = time.perf_counter()
        model.fit(df, target)
        for record in model.history_:
            valid, accuracy = record.get("valid_loss"), record.get("valid_accuracy")
            print(f"{record.get('stage', 'training')} epoch {record['epoch']}: train loss {record['train_loss']:.4f}"
                  + ("" if valid is None else f", validation loss {valid:.4f}")
                  + ("" if accuracy is None else f", validation accuracy {accuracy:.3f}"))
        final = {"train_seconds": time.perf_counter() - started}
        valid = [r["valid_loss"] for r in model.history_ if r.get("valid_loss") is not None]
        if valid:
            final["best_valid_loss"] = min(valid)
        accuracy = [r["valid_accuracy"] for r in model.history_ if r.get("valid_accuracy") is not None]
        if accuracy:  # a head trained with balanced class weights keeps the epoch of the best one
            final["best_valid_accuracy"] = max(accuracy)
        tracker.log_model_run(name, args.seed, final, model.history_, {"class": type(model).__name__})
        model_folder = model.save(args.out or folder / "model")
    print(f"Saved {type(model).__name__} to {model_folder} (run folder {folder})")


def _resumed(args):
    """The arguments a train run in folder ``args.resume`` was started with (verbosity and tracking of now)."""
    import argparse
    import json

    folder = Path(args.resume)
    try:
        saved = json.loads((folder / "params.json").read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"--resume {folder}: no readable params.json ({exc}); give the folder of a `musemood "
                         "train` run under $MUSEMOOD_HOME/runs") from None
    if saved.get("command") != "train":
        raise ValueError(f"--resume {folder} is the folder of a {saved.get('command')!r} run, not of a train run")
    if (folder / "model" / "config.json").exists():
        raise ValueError(f"--resume {folder}: that run finished; its model is in {folder / 'model'}")
    keep = {"resume": None, "verbose": args.verbose, "report_to": args.report_to, "tracking_uri": args.tracking_uri}
    return argparse.Namespace(**{**{k: saved.get(k, v) for k, v in vars(args).items()}, **keep})


def _class_weight(args):
    value = getattr(args, "class_weight", "none")
    return None if value == "none" else value


def _read_params(path):
    import json

    try:
        saved = json.loads(Path(path).read_text())
    except OSError as exc:
        raise FileNotFoundError(f"cannot read --params {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ValueError(f"--params {path} is not valid JSON ({exc})") from None
    if not isinstance(saved, dict) or not isinstance(saved.get("params", {}), dict):
        raise ValueError(f"--params {path} must hold {{\"model\": ..., \"params\": {{...}}}} as `musemood tune` "
                         "writes it")
    return saved if "params" in saved else {"params": saved}


def _tune(args):
    _quiet_transformers(args)
    if args.objective == "regression":
        raise ValueError("tune searches classifiers only for now; use --objective classification")
    import json

    from .config import home
    from .tracking import check_report_to, new_run_dir
    from .tuning import best_params, tune

    check_report_to(args.report_to)
    df = _load_data(args)
    storage = Path(args.storage) if args.storage else home() / "tune.db"
    folder = new_run_dir("tune")
    with _tracker(args, "tune", folder, storage=str(storage), n_rows=len(df)) as tracker:  # settings first
        study = tune(
            df, model=args.model, lora=args.lora, n_trials=args.trials, storage=str(storage), study_name=args.study,
            text_column=args.text_column, label_column=args.label_column, audio_columns=_audio(args, df),
            encoder=args.encoder, max_length=args.max_length, batch_size=args.batch_size, max_epochs=args.epochs,
            n_topics=args.n_topics or None, random_state=args.seed, drop_missing=args.drop_missing,
            timeout=args.timeout,
        )
        trials = study.trials_dataframe(attrs=("number", "value", "params", "state"))
        print(trials.to_string(index=False))
        print(f"\nBest validation accuracy {study.best_value:.4f} with {study.best_params}")
        best = best_params(study)
        trials.to_csv(folder / "trials.csv", index=False)
        (folder / "best_params.json").write_text(json.dumps(best, indent=1))
        for trial in study.trials:
            if trial.value is not None:
                tracker.log_model_run(args.model, f"trial{trial.number}", {"valid_accuracy": trial.value},
                                      params=trial.params)
    out = Path(args.best_params) if args.best_params else storage.with_name(f"{args.study}-best.json")
    out.write_text(json.dumps(best, indent=1))
    print(f"Study {args.study!r} stored in {storage}; run again to add trials. Run folder: {folder}")
    print(f"Best parameters written to {out}; train with them: musemood train --params {out} --data FILE --out DIR")


def _predict(args):
    _quiet_transformers(args)
    import pandas as pd

    from .classifiers import load_model
    from .datasets import load_dataset, save_dataset

    model = load_model(args.model)
    df = load_dataset(args.data) if args.data else pd.DataFrame({args.text_column: [args.text]})
    if args.text_column != model.text_column:
        df = df.rename(columns={args.text_column: model.text_column})
    out = pd.DataFrame(index=df.index)
    out["prediction"] = model.predict(df)
    if model.objective == "classification":
        for label, column in zip(model.classes_, model.predict_proba(df).T):
            out[f"p_{label}"] = column
    if args.out:
        print(f"Wrote {len(out)} predictions to {save_dataset(out, args.out)}", file=sys.stderr if args.json else None)
    if args.json:
        _print_json(out.to_dict(orient="records"))
    elif not args.out:
        print(out.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def _label(args):
    from .datasets import load_dataset, save_dataset
    from .labels import assign_moods, attach_labels, summarize

    df = load_dataset(args.data)
    rule = _rule(args)
    result = assign_moods(df, **rule)
    print(format_summary(summarize(result), rule))
    if args.out:
        print(f"Saved to {save_dataset(attach_labels(df, result, split=True), args.out)}")


def _scrape(args):
    from . import scrape

    store = _store(args, create=args.job in ("wasabi", "all"))
    jobs = ("wasabi", "lastfm", "spotify", "lyrics") if args.job == "all" else (args.job,)
    if args.job == "all" and not args.songs and not store.songs():
        raise ValueError("'scrape all' needs --songs (the WASABI songs CSV) for an empty store")
    progress = True  # tqdm bars with rate and ETA; they go to stderr
    stops = []
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
                                          retry_failed=args.retry_failed, show_progress_bar=progress)
        else:
            summary = scrape.scrape_lyrics(store, _lyrics_sources(args), limit=args.limit,
                                           retry_failed=args.retry_failed, show_progress_bar=progress)
        _print_scrape_summary(summary)
        if summary.get("stopped"):  # the next job goes on: one source's failure stops no other
            stops.append(summary)
            print(f"musemood scrape {job}: stopped: {summary['stopped']}\nSongs not done yet stay pending: "
                  "run the same command again to resume.", file=sys.stderr)
    code = 0
    if stops:  # bad keys are the user's to fix (2); an outage or a refusal is the service's (3)
        code = EXIT_BAD_INPUT if all(s.get("credentials") for s in stops) else EXIT_SERVICE
    if args.job == "all":
        return _build_dataset(args, store) or code
    return code


def _embed(args):
    _quiet_transformers(args)
    from .embed import embed_dataset

    result = embed_dataset(args.data, args.out, args.model, text_column=args.text_column,
                           id_column=args.id_column, part_size=args.part_size, batch_size=args.batch_size,
                           max_length=args.max_length, engine=args.engine, address=args.address,
                           concurrency=args.concurrency, show_progress_bar=_show_progress(args))
    done = f", {result.skipped} already done" if result.skipped else ""
    print(f"Embedded {result.songs:,} songs into {result.parts} parts in {result.path} ({result.written} written"
          f"{done}) in {result.seconds:.0f} s, {result.songs_per_second:.0f} songs/s; {result.dim}-dimensional "
          "vectors; read them with musemood.embed.load_vectors")


def _serve(args):
    import os

    from . import serve

    serve._require()
    import uvicorn

    if args.port > 65535:
        raise ValueError(f"--port must be at most 65535, got {args.port}")
    own_sockets = args.workers > 1 and serve.spreads_connections()  # a bad setting fails before the long load
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
          + "; Ctrl-C stops", file=sys.stderr)
    logging.getLogger("musemood.access").setLevel(logging.INFO)
    if args.workers == 1:
        app = serve.create_app(rec, model, threads=threads)
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


def _store(args, *, create=False):
    """The scrape store; only a job that reads the WASABI songs (``create``) may start a new one."""
    from .config import home
    from .sources import ScrapeStore

    path = Path(args.store) if args.store else home() / "scrape.sqlite"
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

    from .sources.lastfm import MIN_INTERVAL, LastfmClient

    return LastfmClient(api_url=os.environ.get("MUSEMOOD_LASTFM_API_URL"), min_interval=_interval(MIN_INTERVAL),
                        max_retry_after=args.max_retry_after)


def _audio_sources(args):
    import os

    from .sources import audio

    sources = []
    for name in [n.strip() for n in args.audio_sources.split(",") if n.strip()]:
        if name == "spotify":
            has_keys = os.environ.get("SPOTIPY_CLIENT_ID") and os.environ.get("SPOTIPY_CLIENT_SECRET")
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

    from .sources.genius import API_URL, WEB_URL, GeniusClient
    from .sources.lrclib import BASE_URL, LrclibClient

    sources = []
    names = [n.strip() for n in args.lyrics_sources.split(",") if n.strip()]
    for name in names:
        if name == "genius" and not os.environ.get("GENIUS_ACCESS_TOKEN") and len(names) > 1:
            print("note: GENIUS_ACCESS_TOKEN is not set: lyrics come from " + ", ".join(n for n in names if n != name)
                  + " only", file=sys.stderr)  # a missing key stops no key-less source
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
    for note in summary.get("notes", []):
        print(f"  note: {note}")


def _build_dataset(args, store=None):
    from .config import home
    from .scrape import build_dataset

    store = store or _store(args)
    out = args.out or home() / "dataset.parquet"
    df, summary = build_dataset(store, out, keep_unlabelled=getattr(args, "keep_unlabelled", False), **_rule(args))
    print(f"dataset: {summary['rows']} songs written to {out} ({summary['songs']} in the store, "
          f"{summary['with_tags_and_lyrics']} with tags and lyrics)")
    for reason, n in sorted(summary["dropped"].items(), key=lambda x: -x[1]):
        print(f"  dropped {n}: {reason}")
    if "labels" in summary:
        labels = summary["labels"]
        print("  labels: " + ", ".join(f"{m} {n}" for m, n in labels["labelled"].items()))
        for reason, n in labels["rejected"].items():
            if n:
                print(f"  unlabelled {n}: {reason}")
    return 0


def format_summary(summary, rule):
    """Text table of :func:`musemood.labels.summarize` output."""
    from .labels import REASON_TEXT

    n = max(summary["n_songs"], 1)
    lines = [
        f"Label rule: k={rule['k']}, epsilon={rule['epsilon']}, denominator={rule['denominator']}, "
        f"min_tags={rule['min_tags']}, min_tag_count={rule['min_tag_count']}; "
        f"tag counts read as {summary['counts']}",
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
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
