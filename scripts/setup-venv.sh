#!/usr/bin/env bash
# Create ./.venv with torch (CPU wheel) and musemood installed in editable mode with its
# dev extras.  Reinstalls only when setup.cfg or pyproject.toml changed.  Needs Python >= 3.10.
# Environment: PYTHON (interpreter, default python3), TORCH_VERSION (default 2.13.0),
# TORCH_INDEX_URL (a wheel index for torch, e.g. a CPU-only one; default: pip's own).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
VENV=.venv
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || { echo "musemood needs Python >= 3.10; set PYTHON=/path/to/python3.11" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
stamp="$VENV/.musemood-install"
want="$(cat setup.cfg pyproject.toml | sha256sum | cut -d' ' -f1) ${TORCH_VERSION:-2.13.0}"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Installing musemood and its dependencies into $VENV (first run takes a few minutes)..." >&2
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet "torch==${TORCH_VERSION:-2.13.0}" \
    ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
  "$VENV/bin/python" -m pip install --quiet -e ".[dev,serve]"
  echo "$want" > "$stamp"
fi
