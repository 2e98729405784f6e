"""Read the WASABI songs CSV into the scrape store (English songs with Spotify and Last.fm links, no duplicates).

Same as `musemood scrape wasabi`; every option of that command works here (`--help`).
Resumable: run it again after an interruption and it carries on where it stopped.
"""

import sys

from musemood.cli import main

if __name__ == "__main__":
    sys.exit(main(["scrape", "wasabi", *sys.argv[1:]]))
