"""The ``musemood`` command.  Thin over the library; heavy imports happen in the handlers."""

from __future__ import annotations

import argparse
import logging
import sys

from ._version import __version__


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
    except (ValueError, KeyError, FileNotFoundError, ImportError) as exc:
        print(f"musemood {args.command}: error: {exc}", file=sys.stderr)
        return 2


def build_parser():
    parser = argparse.ArgumentParser(
        prog="musemood",
        description="Song mood from lyrics, audio features and listeners' tags.",
    )
    parser.add_argument("--version", action="version", version=f"musemood {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run the whole pipeline on the embedded demo corpus",
        description="Build the demo corpus, label it with the k/epsilon rule and print a summary.",
    )
    demo.add_argument("--n-songs", type=int, default=2000, help="songs to generate (default 2000)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument(
        "--tag-counts", choices=("raw", "lastfm"), default="raw",
        help="raw counts as in WASABI dumps, or Last.fm API weights (top tag = 100)",
    )
    demo.add_argument("--out", default=None, help="output folder (default $MUSEMOOD_HOME/demo)")
    _add_rule_options(demo)
    _add_verbosity(demo)
    demo.set_defaults(handler=_demo)

    label = commands.add_parser(
        "label",
        help="label songs from their tags with the k/epsilon rule",
        description="Read a Parquet or CSV dataset with a 'tags' column, add 'label' and "
        "'label_reason', print a summary and write the result.",
    )
    label.add_argument("data", help="input .parquet, .csv or .tsv")
    label.add_argument("--out", help="output .parquet (default: print the summary only)")
    _add_rule_options(label)
    _add_verbosity(label)
    label.set_defaults(handler=_label)
    return parser


def _add_rule_options(parser):
    group = parser.add_argument_group("label rule")
    group.add_argument("--moods", default="binary", help="mood sets: binary (happy/sad) or four")
    group.add_argument("--k", type=int, default=5, help="top-k condition (default 5)")
    group.add_argument("--epsilon", type=float, default=0.1, help="dominance margin (default 0.1)")
    group.add_argument(
        "--denominator", choices=("total", "mood"), default="total",
        help="divide the margin by the song's tag total or by the mood's top-tag count",
    )
    group.add_argument("--min-tags", type=int, default=11, help="reject songs with fewer tags (11)")
    group.add_argument(
        "--min-tag-count", type=float, default=3, help="drop tags used fewer times (raw counts; 3)"
    )
    group.add_argument(
        "--counts", choices=("auto", "raw", "relative"), default="auto",
        help="how to read tag counts (default: detect Last.fm weights)",
    )


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
    from .pipeline import run_demo

    report = run_demo(
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


def _label(args):
    from .datasets import load_dataset, save_dataset
    from .labels import label_songs, summarize

    df = load_dataset(args.data)
    rule = _rule(args)
    out = label_songs(df, **rule)
    result = out.rename(columns={"label_reason": "reason"})
    result.attrs = out.attrs
    print(format_summary(summarize(result), rule))
    if args.out:
        print(f"Saved to {save_dataset(out, args.out)}")


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
