#!/usr/bin/env bash
# Create ./.venv with torch (CPU wheel) and musemood installed in editable mode with its
# dev and serve extras, at the versions pinned for this Python in scripts/constraints-pyX.Y.txt
# (written by scripts/update-constraints.sh), so that a fresh clone runs the demo and the tests
# with the versions CI checked; with no pins for this Python, the newest versions setup.cfg
# allows.  Reinstalls only when setup.cfg, pyproject.toml or the pins changed.  Needs Python >= 3.10.
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
version=$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
pins="scripts/constraints-py$version.txt"
[ -f "$pins" ] || pins=/dev/null  # no pins for this Python
want="$(cat setup.cfg pyproject.toml "$pins" | sha256sum | cut -d' ' -f1) ${TORCH_VERSION:-2.13.0}"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Installing musemood and its dependencies into $VENV (first run takes a few minutes)..." >&2
  [ "$pins" != /dev/null ] || echo "No pinned versions for Python $version: installing the newest versions" \
    "setup.cfg allows (scripts/constraints-py*.txt lists the Pythons with pins)" >&2
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet "torch==${TORCH_VERSION:-2.13.0}" \
    ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
  "$VENV/bin/python" -m pip install --quiet -c "$pins" -e ".[dev,serve]"
  echo "$want" > "$stamp"
fi
