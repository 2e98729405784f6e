#!/usr/bin/env bash
# The main job: the whole musemood pipeline on the embedded demo corpus.
# Extra arguments go to `musemood demo` (see `musemood demo --help`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup-venv.sh
exec .venv/bin/musemood demo "$@"
