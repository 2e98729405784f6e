"""The ``musemood`` command.  Thin over the library; heavy imports happen in the handlers.

Its parts: ``_parser`` (the commands and their options), ``_models`` (compare, train, tune, predict),
``_songs`` (demo, recommend, map, evaluate-recommender, embed, serve), ``_data`` (scrape, build-dataset,
label) and ``_common`` (exit codes, progress, JSON output).
"""

from __future__ import annotations

import logging
import os
import re
import sys

from ._common import EXIT_BAD_INPUT, EXIT_BUG, EXIT_SERVICE, exit_code
from ._data import format_summary
from ._parser import build_parser

__all__ = ["EXIT_BAD_INPUT", "EXIT_BUG", "EXIT_SERVICE", "build_parser", "exit_code", "format_summary", "main"]


#: Commands that train or score on a labelled file: their bad-input errors point to ``musemood check``.
CHECKED_COMMANDS = ("train", "compare", "tune", "evaluate")
#: Words of an error about the file's contents (not about an option), which ``musemood check`` covers.
DATA_WORDS = re.compile(r"\b(columns?|rows?|labels?|song_id|class(es)?)\b")


def main(argv=None):
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    parser.hint_for(argv)
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the command's parser: its usage, not musemood's
        parser.commands.get(args.command, parser).error(f"unrecognized arguments: {' '.join(unknown)}")
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
        if code == EXIT_BUG:  # not the user's input nor a service: ours to fix
            hint += ("\n(a bug in musemood: please report it with that output and what `musemood info` prints)")
        # a KeyError's str() is the repr of its message: quotes and escapes around the sentence
        keyed = isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(exc.args[0], str)
        message = exc.args[0] if keyed else exc
        data = getattr(args, "data", None)
        if code == EXIT_BAD_INPUT and args.command in CHECKED_COMMANDS and isinstance(data, str) \
                and os.path.isfile(data) and DATA_WORDS.search(str(message)):
            hint += f"\n(`musemood check {data}` lists every problem of the file at once)"
        print(f"musemood {args.command}: error: {what}{message}{hint}", file=sys.stderr)
        return code
