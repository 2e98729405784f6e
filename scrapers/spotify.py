"""Fetch audio features: Spotify (SPOTIPY_CLIENT_ID/SECRET), then --features-table, then --audio-dir (librosa).

Same as `musemood scrape spotify`; every option of that command works here (`--help`).
Resumable: run it again after an interruption and it carries on where it stopped.
"""

import sys

from musemood.cli import main

if __name__ == "__main__":
    sys.exit(main(["scrape", "spotify", *sys.argv[1:]]))
