"""Fetch lyrics from Genius (GENIUS_ACCESS_TOKEN) and LRCLIB, in the order of --lyrics-sources.

Same as `musemood scrape lyrics`; every option of that command works here (`--help`).
Resumable: run it again after an interruption and it carries on where it stopped.
"""

import sys

from musemood.cli import main

if __name__ == "__main__":
    sys.exit(main(["scrape", "lyrics", *sys.argv[1:]]))
