#!/usr/bin/env bash
# Refresh the plotly.js bundle the song map page ships (musemood/web/plotly-gl2d.min.js).
#
# The page draws with plotly.js's "gl2d" partial bundle (scattergl and the core: 1.6 MB) rather than
# the full plotly.js (4.8 MB): the browser compiles a third of the code before the first paint (see
# docs/benchmarks.md, "The song map page in a browser"). It is plotly's own build, published on npm as
# plotly.js-gl2d-dist-min (MIT, Plotly, Inc.); npm checks the tarball against the registry's integrity
# hash. Usage: bash scripts/update-plotly.sh [VERSION]   (default: the version shipped now)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
version="${1:-3.7.0}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
npm pack "plotly.js-gl2d-dist-min@${version}" --pack-destination "$tmp" >/dev/null
tar xzf "$tmp"/plotly.js-gl2d-dist-min-*.tgz -C "$tmp"
cp "$tmp/package/plotly-gl2d.min.js" musemood/web/plotly-gl2d.min.js
cp "$tmp/package/LICENSE" musemood/web/plotly-LICENSE.txt
head -c 120 musemood/web/plotly-gl2d.min.js | grep -o "plotly.js (gl2d - minified) v[0-9.]*"
