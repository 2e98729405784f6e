#!/usr/bin/env bash
# The test suite, slow tests (the real packaged encoder) included.
# Extra arguments go to pytest, e.g. `scripts/test.sh -m "not slow"`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup-venv.sh
exec .venv/bin/python -m pytest "$@"
