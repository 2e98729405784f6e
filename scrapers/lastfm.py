"""Fetch each pending song's Last.fm top tags with counts (LASTFM_API_KEY; at most 5 requests per second).

Same as `musemood scrape lastfm`; every option of that command works here (`--help`).
Resumable: run it again after an interruption and it carries on where it stopped.
"""

import sys

from musemood.cli import main

if __name__ == "__main__":
    sys.exit(main(["scrape", "lastfm", *sys.argv[1:]]))
