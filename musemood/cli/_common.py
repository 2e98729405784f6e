"""What every ``musemood`` command shares: exit codes, progress and JSON output."""

import sys


EXIT_BUG = 1
"""Something failed that the user did not cause: a bug to report (``-v`` shows where)."""
EXIT_BAD_INPUT = 2
"""Bad input: a path, a file, an option value or a key the user can fix (argparse uses 2 too)."""
EXIT_SERVICE = 3
"""A service or the environment failed: an API down or refusing us, a missing extra, a full disk."""


def exit_code(exc):
    """The exit code for an exception raised by a command (see the ``EXIT_*`` constants)."""
    from ..sources.http import CredentialError, SourceError
    from ..sources.store import StoreBusy

    if isinstance(exc, (CredentialError, ValueError, LookupError, TypeError, FileNotFoundError, IsADirectoryError,
                        NotADirectoryError, PermissionError, FileExistsError)):
        return EXIT_BAD_INPUT
    if isinstance(exc, (SourceError, StoreBusy, ImportError, OSError, MemoryError)):
        return EXIT_SERVICE
    return EXIT_BUG


def _print_json(payload):
    import json

    from ..persistence import jsonable

    print(json.dumps(jsonable(payload), indent=1, default=str))


def _show_progress(args):
    """Progress bars on a terminal (or with -v), not in logs."""
    return bool(args.verbose) or sys.stderr.isatty()


def _quiet_transformers(args):
    """Hide transformers' per-load progress bars unless -v: the command prints its own progress."""
    if not args.verbose:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
