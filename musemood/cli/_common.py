"""What every ``musemood`` command shares: exit codes, progress and JSON output."""

import sys

from .._validation import not_utf8


EXIT_BUG = 1
"""Something failed that the user did not cause: a bug to report (``-v`` shows where)."""
EXIT_BAD_INPUT = 2
"""Bad input: a path, a file, an option value or a key the user can fix (argparse uses 2 too)."""
EXIT_SERVICE = 3
"""A service or the environment failed: an API down or refusing us, a missing extra, a full disk."""


def exit_code(exc):
    """The exit code for an exception raised by a command (see the ``EXIT_*`` constants)."""
    from ..predictions import PredictionsBusy
    from ..sources.http import CredentialError, SourceError
    from ..sources.store import StoreBusy

    if isinstance(exc, (CredentialError, ValueError, LookupError, TypeError, FileNotFoundError, IsADirectoryError,
                        NotADirectoryError, PermissionError, FileExistsError)):
        return EXIT_BAD_INPUT
    if isinstance(exc, (SourceError, StoreBusy, PredictionsBusy, ImportError, OSError, MemoryError)):
        return EXIT_SERVICE
    return EXIT_BUG


def check_output_folder(path, option):
    """Refuse ``path``, a folder the command will write (made if missing), when it is a file: before the
    work whose results would go there."""
    from pathlib import Path

    if path is not None and Path(path).exists() and not Path(path).is_dir():
        raise ValueError(f"{option} {path} is a file; give a folder (it is made if missing)")


def check_study_storage(path):
    """Refuse ``path`` as ``tune``'s Optuna storage when it is a folder, not an SQLite file, or an SQLite
    file of something else (a scrape store): Optuna would fail deep in SQLAlchemy, or add its tables."""
    import sqlite3
    from pathlib import Path

    path = Path(path)
    if path.is_dir():
        raise ValueError(f"--storage {path} is a folder; give the SQLite file of the study (e.g. {path / 'tune.db'})")
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError:
        raise ValueError(f"--storage {path} is not an SQLite file: give the .db a tune run wrote, or a new file "
                         "name") from None
    if tables and "studies" not in tables:
        raise ValueError(f"--storage {path} holds no Optuna study (its tables: {', '.join(sorted(tables)[:5])}): "
                         "give the .db a tune run wrote, or a new file name")


def _print_json(payload):
    """``payload`` as JSON that any parser reads: a missing value (NaN, as pandas holds an unlabelled song's
    mood) is null, not the ``NaN`` that JavaScript's JSON.parse and jq refuse."""
    import json
    import math

    from ..persistence import jsonable

    def strict(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: strict(v) for k, v in value.items()}
        return [strict(v) for v in value] if isinstance(value, list) else value

    print(json.dumps(strict(jsonable(payload)), indent=1, default=str, allow_nan=False))


def _show_progress(args):
    """Progress bars on a terminal (or with -v), not in logs."""
    return bool(args.verbose) or sys.stderr.isatty()


def _quiet_transformers(args):
    """Hide transformers' per-load progress bars unless -v: the command prints its own progress."""
    if not args.verbose:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()


def _info(args):
    """``musemood info``: versions, device, extras, the encoder, MUSEMOOD_HOME and which keys are set."""
    from ..info import environment, format_environment

    info = environment()
    if args.json:
        _print_json(info)
    else:
        print(format_environment(info))


#: ``--text -`` (``predict``, ``recommend``) and ``--data -`` (``predict``): read from standard input.
STDIN = "-"


def stdin_text(what="the lyrics"):
    """``--text -``: the whole of standard input, one text of many lines (a terminal is told how to end it)."""
    if sys.stdin.isatty():
        print(f"Reading {what} from standard input; end with Ctrl-D", file=sys.stderr)
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    try:
        text = data.decode("utf-8-sig")  # without a byte-order mark
    except UnicodeDecodeError:
        raise ValueError(not_utf8([data], "standard input")) from None
    return text.rstrip("\r\n")
