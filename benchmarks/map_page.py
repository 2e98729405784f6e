"""First paint of the song map page in a real browser, at 10k and 100k points, against bare scatter plots.

Run:  .venv/bin/python benchmarks/map_page.py [--sizes 10000,100000] [--runs 3] [--chromium /usr/bin/chromium]
                                              [--plotly plotly-gl2d.min.js]

For each size: a synthetic catalogue (benchmarks/_catalogue.py) with a song map whose every song is a
point (``plot_sample`` = all songs; positions from PCA, since the browser's cost depends on how many
points it draws, not on how they were placed; 20 clusters), served by ``musemood serve``'s app
(uvicorn in this process, loopback).  Debian's chromium (headless, software WebGL: no GPU here)
opens ``/`` in a fresh context each run; "first paint" is the time from navigation start to the
second animation frame after the page marks itself ready (it has fetched the map's pages of 50,000
points from ``GET /map``, built its points and labels and drawn them).  Peers, measured in the same
run, each a page with the same points inlined (no fetch, no labels, no legend): regl-scatterplot alone
(the library the page draws with: its floor) and, given ``--plotly`` (a plotly.js bundle, e.g.
plotly.js-gl2d-dist-min's ``plotly-gl2d.min.js`` from npm), plotly.js's ``scattergl``, which the page
drew with until 2026-11-25.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
        "--no-first-run", "--disable-component-update", "--disable-sync"]

# records the first paint after the page says it is ready (two animation frames: the frame that
# presents the plot has been produced)
PAINTED = """
new MutationObserver((_, observer) => {
  if (document.body && document.body.dataset.ready === "true") {
    observer.disconnect();
    requestAnimationFrame(() => requestAnimationFrame(() => { window.__painted = performance.now(); }));
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ["data-ready"]});
"""

REGL_PEER = """<!doctype html><html><head><meta charset="utf-8"><script src="{base}/static/regl-scatterplot.min.js">
</script></head><body style="margin:0"><canvas id="map" style="width:100vw;height:100vh;display:block"></canvas><script>
const data = {data};
const n = data.x.length, points = new Array(n);
let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
for (let i = 0; i < n; i++) {{
  x0 = Math.min(x0, data.x[i]); x1 = Math.max(x1, data.x[i]);
  y0 = Math.min(y0, data.y[i]); y1 = Math.max(y1, data.y[i]);
}}
const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, half = 0.55 * Math.max(x1 - x0, y1 - y0);
for (let i = 0; i < n; i++) points[i] = [(data.x[i] - cx) / half, (data.y[i] - cy) / half, data.cluster[i] % 20];
const plot = createScatterplot({{canvas: document.getElementById("map"), width: "auto", height: "auto", pointSize: 5,
  pointScaleMode: "constant", opacity: 0.75, colorBy: "valueA",
  pointColor: ["#875692", "#f38400", "#a1caf1", "#be0032", "#c2b280", "#848482", "#008856", "#e68fac", "#0067a5",
               "#f99379", "#604e97", "#f6a600", "#b3446c", "#dcd300", "#882d17", "#8db600", "#654522", "#e25822",
               "#2b3d26", "#f3c300"]}});
plot.draw(points, {{zDataType: "categorical"}}).then(() => {{
  window.__drawn = plot.get("points").length; document.body.dataset.ready = "true"; }});
</script></body></html>"""

PLOTLY_PEER = """<!doctype html><html><head><meta charset="utf-8"><script src="{plotly}"></script>
</head><body style="margin:0"><div id="map" style="width:100vw;height:100vh"></div><script>
const data = {data};
Plotly.newPlot("map", [{{type: "scattergl", mode: "markers", x: data.x, y: data.y, text: data.title,
  marker: {{size: 5, opacity: 0.75, color: data.cluster}}}}], {{margin: {{l: 10, r: 10, t: 10, b: 10}}}})
  .then(() => {{ window.__drawn = data.x.length; document.body.dataset.ready = "true"; }});
</script></body></html>"""


def build(n):
    import pandas as pd
    from sklearn.decomposition import PCA

    import _catalogue
    from musemood.clustering import SongMap
    from musemood.recommender import Recommender

    cat = _catalogue.catalogue(n)
    df = pd.DataFrame({"title": cat["title"], "artist": cat["artist"], "label": cat["mood"], "lyrics": cat["lyrics"]})
    song_map = SongMap(n_clusters=20, reducer=PCA(10, random_state=0), plot_sample=n, pca_components=None)
    rec = Recommender(song_map=song_map, n_embedding_keywords=0, weights={"lexical": 0.3, "cluster": 0.0})
    return rec.fit(df, None, vectors=cat["vectors"])


def serve(rec):
    from musemood.serve import create_app, serve_in_thread

    return serve_in_thread(create_app(rec, None))


def first_paint(browser, url, expected):
    context = browser.new_context(viewport={"width": 1400, "height": 850})
    try:
        page = context.new_page()
        page.add_init_script(PAINTED)
        page.goto(url)
        page.wait_for_function("window.__painted !== undefined", timeout=120_000)
        drawn = page.evaluate("window.songMap ? songMap.scatterplot.get('points').length : window.__drawn")
        if drawn != expected:
            raise RuntimeError(f"{url} drew {drawn} points, expected {expected}")
        return page.evaluate("window.__painted")
    finally:
        context.close()


def main():
    from playwright.sync_api import sync_playwright

    from musemood.web import map_page

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--plotly", type=Path, help="a plotly.js bundle: also measure plotly's scattergl")
    args = parser.parse_args()
    rows = []
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
        for n in (int(s) for s in args.sizes.split(",")):
            started = time.perf_counter()
            rec = build(n)
            print(f"built {n:,} songs in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
            server, base = serve(rec)
            columns = map_page(rec, 0, n)["points"]
            data = json.dumps({key: columns[key] for key in ("x", "y", "title", "cluster")}).replace("</", "<\\/")
            points = columns["row"]
            peers = {"regl": REGL_PEER.format(base=base, data=data)}
            if args.plotly:
                peers["plotly"] = PLOTLY_PEER.format(plotly=args.plotly.resolve().as_uri(), data=data)
            row = {"n": n}
            for name, html in peers.items():
                (Path(tmp) / f"{name}-{n}.html").write_text(html)
            # interleaved, so that a slow spell of the machine falls on every page alike
            times = {name: [] for name in ["ours", *peers]}
            for _ in range(args.runs):
                times["ours"].append(first_paint(browser, base + "/", len(points)))
                for name in peers:
                    times[name].append(first_paint(browser, (Path(tmp) / f"{name}-{n}.html").as_uri(), len(points)))
            for name, values in times.items():
                row[name], row[name + "_max"] = float(np.median(values)), max(values)
            rows.append(row)
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
            server.should_exit = True
            time.sleep(0.5)
        browser.close()
    print(f"\nFirst paint of the song map page, median of {args.runs} fresh loads (ms); headless chromium, "
          "software WebGL, 2 cores\n")
    plotly = bool(args.plotly)
    print("| points | musemood page (GET /map + draw) | worst | bare regl-scatterplot, data inlined | worst | "
          "page / bare |" + (" bare plotly.js scattergl, data inlined | worst | page / plotly |" if plotly else ""))
    print("|---|---|---|---|---|---|" + ("---|---|---|" if plotly else ""))
    for r in rows:
        line = (f"| {r['n']:,} | {r['ours']:.0f} | {r['ours_max']:.0f} | {r['regl']:.0f} | {r['regl_max']:.0f} | "
                f"{r['ours'] / r['regl']:.2f} |")
        if plotly:
            line += f" {r['plotly']:.0f} | {r['plotly_max']:.0f} | {r['ours'] / r['plotly']:.2f} |"
        print(line)


if __name__ == "__main__":
    main()
