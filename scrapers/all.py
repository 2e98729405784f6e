"""Run every job in turn (wasabi, lastfm, spotify, lyrics) and write the labelled Parquet dataset.

Same as `musemood scrape all`; every option of that command works here (`--help`).
Resumable: run it again after an interruption and it carries on where it stopped.
"""

import sys

from musemood.cli import main

if __name__ == "__main__":
    sys.exit(main(["scrape", "all", *sys.argv[1:]]))
