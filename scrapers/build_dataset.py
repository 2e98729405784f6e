"""Write the scraped songs as a labelled Parquet dataset (k/epsilon rule, train/valid/test splits).

Same as `musemood build-dataset`; every option of that command works here (`--help`).
"""

import sys

from musemood.cli import main

if __name__ == "__main__":
    sys.exit(main(["build-dataset", *sys.argv[1:]]))
