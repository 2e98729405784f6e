"""``python -m musemood.cli``: the ``musemood`` command."""

import sys

from . import main

sys.exit(main())
