#!/usr/bin/env bash
# Write scripts/constraints-pyX.Y.txt (X.Y: the Python it runs): the exact versions that
# scripts/setup-venv.sh installs with that Python, so the README's demo and test commands run with
# them.  Taken from a fresh install of musemood's dev and serve extras into a throwaway venv
# without constraints: the newest versions setup.cfg allows today.
# Run it to move the pins forward, then run the demo and the tests, and commit the file with what
# moved.  torch is left out: setup-venv.sh pins it on its own (TORCH_VERSION).
# Environment: PYTHON, TORCH_VERSION, TORCH_INDEX_URL, as for setup-venv.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
version=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
out="scripts/constraints-py$version.txt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install --quiet --upgrade pip
"$tmp/venv/bin/python" -m pip install --quiet "torch==${TORCH_VERSION:-2.13.0}" \
  ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
"$tmp/venv/bin/python" -m pip install --quiet -e ".[dev,serve]"
{
  echo "# The versions scripts/setup-venv.sh installs with Python $version (pip's -c), so the README's demo and"
  echo "# test commands run with exactly these.  Written by scripts/update-constraints.sh on $(date -u +%Y-%m-%d)"
  echo "# with Python $("$tmp/venv/bin/python" -c 'import platform; print(platform.python_version())').  Installing musemood with pip uses the ranges of setup.cfg instead."
  "$tmp/venv/bin/python" -m pip freeze --exclude-editable | grep -v -i -E '^(torch|musemood)=='
} > "$out.new"
mv "$out.new" "$out"
echo "wrote $out ($(grep -c '==' "$out") pins)" >&2
