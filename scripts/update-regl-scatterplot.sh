#!/usr/bin/env bash
# Refresh the scatter plot library the song map page ships (musemood/web/regl-scatterplot.min.js).
#
# The page draws with regl-scatterplot (Fritz Lekschas; MIT), a WebGL scatter plot made for millions of
# points: one draw call of point sprites, pan and zoom, hover, click and filter. It replaced plotly.js's
# scattergl, whose first paint of 100,000 points took 2.3-2.7 s with software WebGL against about 1 s
# for this one (docs/benchmarks.md, "The song map page in a browser"). npm publishes it as an ES module
# that imports regl (MIT) and pub-sub-es (MIT); esbuild bundles the three into one minified classic
# script that sets `window.createScatterplot`, so the page can inline it in a self-contained file
# (`musemood map --html`). npm checks every tarball against the registry's integrity hash.
# Usage: bash scripts/update-regl-scatterplot.sh [VERSION]   (default: the version shipped now)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
version="${1:-1.16.0}"
esbuild_version="0.28.2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm init -y >/dev/null \
  && npm install --no-audit --no-fund --silent "regl-scatterplot@${version}" "esbuild@${esbuild_version}" \
  && echo 'import createScatterplot from "regl-scatterplot"; window.createScatterplot = createScatterplot;' > entry.js)
versions="$(cd "$tmp" && node -e 'for (const p of ["regl-scatterplot", "regl", "pub-sub-es"]) console.log(p + "@" + require("./node_modules/" + p + "/package.json").version)' | paste -sd ' ')"
{
  echo "/*! ${versions}; MIT licences in regl-scatterplot-LICENSE.txt; bundled by scripts/update-regl-scatterplot.sh */"
  "$tmp/node_modules/.bin/esbuild" "$tmp/entry.js" --bundle --format=iife --minify --legal-comments=none \
    --target=es2020 --log-level=warning
} > musemood/web/regl-scatterplot.min.js
for p in regl-scatterplot regl pub-sub-es; do
  echo "==== ${p} ===="
  cat "$tmp/node_modules/$p/LICENSE"
  echo
done > musemood/web/regl-scatterplot-LICENSE.txt
head -c 200 musemood/web/regl-scatterplot.min.js | head -1
