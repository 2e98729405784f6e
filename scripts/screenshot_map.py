"""Screenshots of the song map page for the docs: docs/img/song-map.png, song-map-recommendations.png and
song-map-playlist.png.

Serves the recommender under $MUSEMOOD_HOME (run `musemood demo` first) on a free port, opens the page
in Debian's chromium through Playwright, and saves three screenshots (the map; a song's recommendations;
the song and its first two recommendations as a playlist, with the songs like all three):

    .venv/bin/python scripts/screenshot_map.py [--recommender PATH] [--song TITLE] [--out docs/img]
"""

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

from musemood.serve import create_app, load_parts, serve_in_thread

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
        "--no-first-run", "--disable-component-update", "--disable-sync"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recommender", help="a saved recommender (default: $MUSEMOOD_HOME/recommender)")
    parser.add_argument("--song", help="the title to search for (default: the first song of the catalogue)")
    parser.add_argument("--out", default="docs/img")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    rec, model = load_parts(args.recommender)
    server, url = serve_in_thread(create_app(rec, model))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    song = args.song or rec.catalogue_.songs_.at[0, "title"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 850}, device_scale_factor=1)
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready=true]", timeout=60_000)
        page.select_option("#colour", "cluster")
        page.wait_for_timeout(500)
        page.screenshot(path=out / "song-map.png")
        page.fill("#search", song)
        page.press("#search", "Enter")
        page.wait_for_selector("#recommendations li, .suggestion")
        if page.locator(".suggestion").count():  # a title several artists sang: take the first
            page.locator(".suggestion").first.click()
            page.wait_for_selector("#recommendations li")
        page.wait_for_timeout(500)
        page.screenshot(path=out / "song-map-recommendations.png")
        page.click("#panel .meta button.add")
        for i in range(2):
            page.locator("#recommendations li button.add").nth(i).click()
        page.click("#playlist-recommend")
        page.wait_for_selector("#panel h2:has-text('Songs like these')")
        page.wait_for_timeout(500)
        page.screenshot(path=out / "song-map-playlist.png")
        browser.close()
    server.should_exit = True
    print(f"Wrote {out / 'song-map.png'}, {out / 'song-map-recommendations.png'} and {out / 'song-map-playlist.png'}")


if __name__ == "__main__":
    main()
