"""The ``musemood`` commands and their options (argparse); each command's handler lives with its kind."""

from __future__ import annotations

import argparse

from .. import schema
from .._validation import read_utf8
from .._version import __version__
from ..schema import MODELS, STUDY_MODELS
from ._common import _info
from ._data import _build_dataset, _check, _label, _scrape
from ._models import _compare, _evaluate, _predict, _train, _tune
from ._songs import _demo, _embed, _evaluate_recommender, _map, _recommend, _serve


def _auto_or_int_at_least(low):
    """An argparse type: 'auto', or a whole number >= ``low``."""
    whole = _int_at_least(low)

    def parse(text):
        if text.strip().lower() == "auto":
            return "auto"
        try:
            return whole(text)
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentTypeError(f"{exc}; give a number or 'auto'") from None
    parse.__name__ = f"'auto' or whole number >= {low}"
    return parse


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


def _mood_sets(text):
    """An argparse type for --moods: a name of schema.MOOD_SETS, or a JSON object (in a .json file, or
    given inline) mapping each mood to its tags, checked as the label rule will read it."""
    import json
    from pathlib import Path

    if text in schema.MOOD_SETS:
        return text
    inline = text.lstrip().startswith(("{", "["))
    if inline:
        source = "the JSON given"
    else:
        path = Path(text)
        if not path.is_file() and path.suffix.lower() == ".json":
            raise argparse.ArgumentTypeError(f"no mood sets file at {path}")
        if not path.is_file():
            raise argparse.ArgumentTypeError(f"unknown mood sets {text!r}: use {', '.join(sorted(schema.MOOD_SETS))}, "
                                             "a .json file or a JSON object mapping each mood to its tags")
        try:
            source, text = str(path), read_utf8(path, "the mood sets file")
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        except OSError as exc:  # e.g. not readable by this user
            raise argparse.ArgumentTypeError(f"the mood sets file {path} could not be read ({exc.strerror})") from None
    try:
        sets = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"{source} is not JSON (line {exc.lineno}, column {exc.colno}: "
                                         f"{exc.msg})") from None
    if not isinstance(sets, dict):
        raise argparse.ArgumentTypeError(f"{source}: mood sets are a JSON object mapping each mood to its tags, "
                                         'such as {"happy": ["happy", "joy"], "sad": ["sad"]}')
    try:
        schema.resolve_mood_sets(sets)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"{source}: {exc}") from None
    return sets


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


#: What a data file's name ends with.
DATA_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv")


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors can end with a hint (``hint_for``); its commands' parsers are too."""

    hint = None

    def error(self, message):
        super().error(message + (f"\n({self.hint})" if self.hint else ""))

    def hint_for(self, argv):
        """Prepare the hint for ``argv``'s command: a data file given as a bare argument to a command that takes
        it after ``--data`` (``musemood train songs.csv``, as ``check`` and ``label`` take it) is told so."""
        command = self.commands.get(argv[0]) if argv else None
        if command is None:
            return
        if _misspelt_option(command, argv):
            return
        if "--data" in argv or not any("--data" in a.option_strings for a in command._actions):
            return
        for before, token in zip(argv, argv[1:]):  # a bare argument: not an option, nor an option's value
            if not token.startswith("-") and not before.startswith("-") and token.lower().endswith(DATA_SUFFIXES):
                command.hint = f"a data file goes after --data: musemood {argv[0]} --data {token}"
                return


def _misspelt_option(command, argv):
    """Hint the nearest option of ``command`` for the first unknown long option of ``argv`` that has one
    (``--n-trials``: ``--trials``); True when it did."""
    import difflib

    options = [o for action in command._actions for o in action.option_strings if o.startswith("--")]
    for token in argv[1:]:
        if token == "--":  # what follows is not options
            return False
        name = token.split("=", 1)[0]
        if not name.startswith("--") or name in options or any(o.startswith(name) for o in options):
            continue  # a known option, or argparse's abbreviation of one
        nearest = difflib.get_close_matches(name, options, n=1, cutoff=0.75)
        if nearest:
            command.hint = f"{name} is not an option of {command.prog}; did you mean {nearest[0]}?"
            return True
    return False


def build_parser():
    parser = _Parser(
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
    _add_evaluate_command(commands)
    _add_recommend_command(commands)
    _add_map_command(commands)
    _add_evaluate_recommender_command(commands)
    _add_scrape_command(commands)
    _add_build_dataset_command(commands)
    _add_label_command(commands)
    _add_check_command(commands)
    _add_serve_command(commands)
    _add_embed_command(commands)
    _add_info_command(commands)
    parser.commands = commands.choices  # each command's parser, by name
    return parser


def _add_demo_command(commands):
    demo = commands.add_parser(
        "demo",
        help="run the whole pipeline on the embedded demo corpus",
        description="Build the demo corpus, label it with the k/epsilon rule and print a summary; then compare "
        "the models, map the songs (UMAP + KMeans) and fit, evaluate and try the recommender.",
    )
    demo.add_argument("--n-songs", type=_int_at_least(50), default=2000, help="songs to generate (default 2000)")
    demo.add_argument("--seed", type=_int_at_least(0), default=0, help="random seed (default 0)")
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
    compare.add_argument("--test-data", help="labelled .csv, .tsv or .parquet to score every seed on (a benchmark's "
                         "own test file): the models then train on all of --data instead of 80%% of it")
    compare.add_argument("--use-split", action="store_true", help="score every seed on the data's own 'test' songs "
                         "(its split column, as musemood label writes it) and train on its 'train' songs, as musemood "
                         "train and evaluate do, instead of a random 20%% test split per seed")
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
    train.add_argument("--all-splits", action="store_true", help="also train on the songs whose split is 'valid' "
                       "or 'test' (held out by default, for musemood evaluate and the recommender's queries)")
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
    tune.add_argument("--all-splits", action="store_true", help="also search on the songs whose split is 'valid' "
                      "or 'test' (held out by default, as train holds them out)")
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
    source.add_argument("--data", help="CSV or Parquet file (or a folder of Parquet parts) with the lyrics (and "
                        "audio features); - reads one "
                        "(or a TSV) from standard input")
    source.add_argument("--text", action="append", help="a lyric to predict; repeat for several; - reads one "
                        "from standard input (musemood predict model --text - < song.txt)")
    predict.add_argument("--text-column", help="column of --data with the lyrics (default: the column the model "
                         "was trained on, 'lyrics' unless train was given --text-column)")
    predict.add_argument("--out", help="write predictions here (.csv, .tsv or .parquet)")
    predict.add_argument("--json", action="store_true", help="print the predictions as JSON")
    _add_verbosity(predict)
    predict.set_defaults(handler=_predict)


def _add_evaluate_command(commands):
    evaluate = commands.add_parser(
        "evaluate", help="score a saved model on a labelled file it did not train on",
        description="Accuracy, macro precision, recall and F1, each class's scores and the confusion matrix "
        "(MSE, RMSE, MAE and R² for a regression model) of a saved model on held-out labelled songs.",
    )
    evaluate.add_argument("model", help="folder written by `musemood train` or Model.save()")
    evaluate.add_argument("--data", required=True, help="labelled .csv, .tsv or .parquet (or a folder of .parquet "
                          "parts) the model did not train on")
    evaluate.add_argument("--text-column", help="column of --data with the lyrics (default: the column the model "
                          "was trained on)")
    evaluate.add_argument("--label-column", default="label", help="column of --data with the labels (label)")
    evaluate.add_argument("--drop-missing", action="store_true", help="leave out rows without a label or text")
    evaluate.add_argument("--include-trained", action="store_true", help="also score the songs the model trained "
                          "on (left out by default: their scores would flatter it)")
    evaluate.add_argument("--plot", help="also draw the confusion matrix (a regression model: predicted against "
                          "true values) into this .png, .svg or .pdf")
    evaluate.add_argument("--json", action="store_true", help="print the scores as JSON")
    _add_verbosity(evaluate)
    evaluate.set_defaults(handler=_evaluate)


def _add_recommend_command(commands):
    recommend = commands.add_parser(
        "recommend", help="songs that feel like a song (or like a description)",
        description="Recommend songs from a fitted recommender: the one saved under "
        "$MUSEMOOD_HOME/recommender (written by `musemood demo` or `musemood map --data`), else the demo one.",
    )
    recommend.add_argument("title", nargs="*", help="song title (fuzzy: small typos are forgiven); several titles: "
                           "songs that feel like all of them (a playlist to continue), those songs left out")
    recommend.add_argument("--artist", action="append", help="artist, when several songs share the title; with "
                           "several titles, once per title in their order ('' for a song without an artist)")
    recommend.add_argument("--text", help="describe what you want instead of naming a song (or give lyrics); - "
                           "reads it from standard input")
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
    song_map.add_argument("--data", help="catalogue .csv/.parquet or a folder of .parquet parts (title, artist, "
                          "lyrics; audio features and label used when present)")
    song_map.add_argument("--model", help="saved musemood model folder or encoder name/path for the song "
                          "embeddings (default: the packaged all-MiniLM-L6-v2)")
    # the options of a fit default to None: given without --data, they are refused (cli._songs.MAP_FIT_OPTIONS)
    song_map.add_argument("--text-column", help="the lyrics column (lyrics)")
    song_map.add_argument("--label-column", help="mood column (default: label, when the data has one)")
    song_map.add_argument("--drop-missing", action="store_true", default=None, help="leave out songs without "
                          "lyrics (empty, or only [Instrumental]); without it they are refused")
    song_map.add_argument("--scoring", choices=("tfidf", "bm25"), help="lexical scoring (tfidf)")
    song_map.add_argument("--n-clusters", type=_auto_or_int_at_least(1),
                          help="number of clusters or 'auto' (the k sweep; the default)")
    song_map.add_argument("--k-rule", choices=schema.K_RULES,
                          help="how the k sweep picks k: the largest k within 0.05 of the best silhouette (finest, "
                          "the default), the distortion's elbow, or the best silhouette")
    song_map.add_argument("--map-on", choices=schema.MAP_ON,
                          help="vectors the map is drawn from: the encoder's vectors of the lyrics, the song vectors, "
                          "or auto (the default: lyrics when --model is trained on the labels)")
    song_map.add_argument("--map-encoder", help="encoder name/path for --map-on lyrics (default: the packaged "
                          "all-MiniLM-L6-v2); with --map-vectors, the model they must be of")
    song_map.add_argument("--max-length", type=_int_at_least(8), help="tokens per window for a plain encoder (256)")
    song_map.add_argument("--vectors", metavar="FOLDER", nargs="+", help="the song vectors musemood embed computed "
                          "for --data with --model, instead of embedding every song again (matched by song id; "
                          "several folders, e.g. for songs added since, the last one's vector wins)")
    song_map.add_argument("--map-vectors", metavar="FOLDER", nargs="+", help="musemood embed's vectors of --data "
                          "(any one model) to draw the map from, instead of --map-on")
    song_map.add_argument("--recommender", help="folder to save the fitted recommender in, or to read it from "
                          "(default $MUSEMOOD_HOME/recommender)")
    song_map.add_argument("--out", help="folder for the plots (default: <recommender>/plots)")
    song_map.add_argument("--neighbours", action="store_true",
                          help="search every song's vector candidates now and save them with the recommender: a "
                          "song's recommendations then skip the vector search (11 minutes and 763 MiB per million "
                          "songs on 2 cores)")
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
        "kept per song in the scrape store (an SQLite file). Keys come from the environment or the keys file "
        "($MUSEMOOD_HOME/keys.toml, or the file MUSEMOOD_KEYS names): LASTFM_API_KEY, SPOTIPY_CLIENT_ID and "
        "SPOTIPY_CLIENT_SECRET, GENIUS_ACCESS_TOKEN. 'all' ends with build-dataset.",
    )
    scrape.add_argument("job", choices=("wasabi", "lastfm", "spotify", "lyrics", "all"),
                        help="wasabi: read the songs; lastfm: tags; spotify: audio features; lyrics; all")
    _add_store_option(scrape)
    scrape.add_argument("--songs", help="the WASABI songs CSV (wasabi, all)")
    scrape.add_argument("--tag-dump", help="a WASABI Last.fm tag dump: its songs skip the Last.fm API")
    scrape.add_argument("--msd-lastfm", help="the Million Song Dataset's Last.fm folder (JSON files), likewise")
    scrape.add_argument("--limit", type=_int_at_least(1), help="at most this many songs per job")
    scrape.add_argument("--retry-failed", action="store_true", help="ask again for songs that failed before")
    scrape.add_argument("--labelled-only", action="store_true",
                        help="spotify, lyrics, all: ask only for the songs whose tags the label rule (below) labels, "
                        "as the study did; the others stay pending")
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
    label.add_argument("data", help="input .parquet, .csv or .tsv, or a folder of .parquet parts")
    label.add_argument("--out", help="output .parquet, .csv or .tsv, in the format its suffix names "
                       "(default: print the summary only)")
    _add_rule_options(label)
    _add_verbosity(label)
    label.set_defaults(handler=_label)


def _add_check_command(commands):
    check = commands.add_parser(
        "check",
        help="list every problem of a dataset file at once",
        description="Read a Parquet, CSV or TSV dataset and list what training, labelling or the recommender "
        "would stop at (or quietly get wrong): texts and labels missing, labels that differ only in case, "
        "classes of one song, ids given twice, audio features that are not numbers or out of range, tags "
        "that cannot be read. Exit code 2 when there is an error.",
    )
    check.add_argument("data", help="the dataset: .parquet, .csv or .tsv, or a folder of .parquet parts")
    check.add_argument("--text-column", default=schema.LYRICS, help="the column with the lyrics (lyrics)")
    check.add_argument("--label-column", default=schema.LABEL, help="the column with the labels (label)")
    check.add_argument("--json", action="store_true", help="print the findings as JSON")
    _add_verbosity(check)
    check.set_defaults(handler=_check)


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
    embed.add_argument("--skip-vectors", nargs="+", metavar="DIR",
                       help="folders of an earlier embed run with this model: their songs are left out unless their "
                       "lyrics changed (a catalogue that grew: embed the new and changed songs only, then give the "
                       "folders, this one last, to map --vectors)")
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
    group.add_argument("--moods", type=_mood_sets, default="binary",
                       help="mood sets: binary (happy/sad), four, or your own as a .json file (or an inline JSON "
                       'object) mapping each mood to its tags: {"calm": ["calm", "mellow"], "angry": ["angry"]}')
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
        source.add_argument("--data", help="labelled .csv, .tsv or .parquet, or a folder of .parquet parts")
        source.add_argument("--demo", action="store_true", help="use the labelled demo corpus (--n-songs)")
    else:
        group.add_argument("--data", help="labelled .csv, .tsv or .parquet, or a folder of .parquet parts "
                           "(default: the demo corpus)")
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
        group.add_argument("--seeds", type=_int_at_least(1), default=seeds,
                           help=f"number of seeds, 0, 1, ... ({seeds})")
    if seed:
        group.add_argument("--seed", type=_int_at_least(0), default=0, help="random seed (0)")
    group.add_argument("--epochs", type=_int_at_least(0), default=epochs,
                       help=epochs_help or f"fine-tuning epochs ({epochs})")
    group.add_argument("--max-length", type=_int_at_least(8), default=max_length,
                       help=f"tokens per window ({max_length})")
    group.add_argument("--batch-size", type=_int_at_least(1), default=16, help="songs per batch (16)")
    group.add_argument("--n-topics", type=_int_at_least(0), default=7, help="LDA topics for tBERT (7; 0 for none)")
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


def _add_info_command(commands):
    info = commands.add_parser(
        "info", help="what this machine gives musemood (for a bug report)",
        description="Print the versions of Python, musemood and its libraries, torch's device, the optional "
        "extras installed, the packaged encoder, what MUSEMOOD_HOME holds, and which API keys are set and "
        "where (never their values).",
    )
    info.add_argument("--json", action="store_true", help="print it as JSON")
    _add_verbosity(info)
    info.set_defaults(handler=_info)


def _add_verbosity(parser):
    parser.add_argument("-v", "--verbose", action="count", default=0, help="show progress and details")
