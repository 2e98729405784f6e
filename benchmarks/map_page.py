"""First paint of the song map page in a real browser, at 10k and 100k points, against bare plotly.js.

Run:  .venv/bin/python benchmarks/map_page.py [--sizes 10000,100000] [--runs 3] [--chromium /usr/bin/chromium]

For each size: a synthetic catalogue (benchmarks/_catalogue.py) with a song map whose every song is a
point (``plot_sample`` = all songs; positions from PCA, since the browser's cost depends on how many
points it draws, not on how they were placed; 20 clusters), served by ``musemood serve``'s app
(uvicorn in this process, loopback).  Debian's chromium (headless, software WebGL: no GPU here)
opens ``/`` in a fresh context each run; "first paint" is the time from navigation start to the
second animation frame after the page marks itself ready (it has fetched the map's pages of 50,000
points from ``GET /map``, built its traces and drawn them).  The peer, measured in the same run: a
page that draws the same points as one ``scattergl`` trace with plotly.js from the same server and the
data inlined (no fetch, no grouping, no labels): plotly's own floor.
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

PEER = """<!doctype html><html><head><meta charset="utf-8"><script src="{base}/static/plotly.min.js"></script>
</head><body style="margin:0"><div id="map" style="width:100vw;height:100vh"></div><script>
const data = {data};
Plotly.newPlot("map", [{{type: "scattergl", mode: "markers", x: data.x, y: data.y, text: data.title,
  marker: {{size: 5, opacity: 0.75, color: data.cluster}}}}], {{margin: {{l: 10, r: 10, t: 10, b: 10}}}})
  .then(() => {{ document.body.dataset.ready = "true"; }});
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
        drawn = page.evaluate("document.getElementById('map').data.reduce((n, t) => n + t.x.length, 0)")
        if drawn != expected:
            raise RuntimeError(f"{url} drew {drawn} points, expected {expected}")
        return page.evaluate("window.__painted")
    finally:
        context.close()


def main():
    from playwright.sync_api import sync_playwright

    from musemood.serve import map_page

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
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
            data = {key: columns[key] for key in ("x", "y", "title", "cluster")}
            points = columns["row"]
            peer = Path(tmp) / f"peer-{n}.html"
            peer.write_text(PEER.format(base=base, data=json.dumps(data).replace("</", "<\\/")))
            ours = [first_paint(browser, base + "/", len(points)) for _ in range(args.runs)]
            bare = [first_paint(browser, peer.as_uri(), len(points)) for _ in range(args.runs)]
            rows.append({"n": n, "ours": float(np.median(ours)), "ours_max": max(ours),
                         "peer": float(np.median(bare)), "peer_max": max(bare)})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
            server.should_exit = True
            time.sleep(0.5)
        browser.close()
    print(f"\nFirst paint of the song map page, median of {args.runs} fresh loads (ms); headless chromium, "
          "software WebGL, 2 cores\n")
    print("| points | musemood page (GET /map + draw) | worst | bare plotly.js scattergl, data inlined | worst | "
          "page / bare |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['n']:,} | {r['ours']:.0f} | {r['ours_max']:.0f} | {r['peer']:.0f} | {r['peer_max']:.0f} | "
              f"{r['ours'] / r['peer']:.2f} |")


if __name__ == "__main__":
    main()
