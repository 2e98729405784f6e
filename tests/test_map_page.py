"""The song map page in a real browser: Debian's chromium driven by Playwright (no downloaded browser)."""
# ruff: noqa: F811 (the server fixtures come from test_serve)

import os
import shutil

import numpy as np
import pytest

pytest.importorskip("fastapi")
sync_api = pytest.importorskip("playwright.sync_api")

from test_serve import parts, server  # noqa: E402,F401 (fixtures)

CHROMIUM = os.environ.get("MUSEMOOD_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
        "--no-first-run", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM),
                                reason=f"needs chromium at {CHROMIUM} (apt install chromium)")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.requests_seen = []
    page.on("request", lambda request: page.requests_seen.append(request.url))
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    yield page
    context.close()


def test_the_page_draws_every_song_with_webgl_and_loads_nothing_from_outside(page, server, parts):
    _, rec, _ = parts
    assert page.locator("#map canvas").count() > 0  # scattergl draws on WebGL canvases
    drawn = page.evaluate("document.getElementById('map').data.reduce((n, t) => n + t.x.length, 0)")
    assert drawn == len(rec.map_.plot_index_)
    labels = page.evaluate("document.getElementById('map').layout.annotations.map(a => a.text)")
    assert len(labels) == rec.map_.n_clusters_ and all(":" in label for label in labels)
    # each label sits on a song of its cluster, and clusters get distinct colours
    at = page.evaluate("document.getElementById('map').layout.annotations.map(a => [a.x, a.y, a.text])")
    points = rec.map_.map_2d_
    clusters = rec.map_.labels_[rec.map_.plot_index_]
    for x, y, text in at:
        nearest = int(np.argmin((points[:, 0] - x) ** 2 + (points[:, 1] - y) ** 2))
        assert np.allclose(points[nearest], (x, y), atol=1e-4) and text.startswith(f"<b>{clusters[nearest]}</b>")
    page.select_option("#colour", "cluster")
    colours = page.evaluate("document.getElementById('map').data.map(t => t.marker.color)")
    assert len(set(colours)) == len(colours) == rec.map_.n_clusters_
    page.select_option("#colour", "mood")
    assert all(url.startswith(server.url) for url in page.requests_seen), page.requests_seen  # no CDN


def test_search_flies_to_a_song_and_shows_its_recommendations(page, parts):
    df, rec, _ = parts
    title, artist = df.loc[12, "title"], df.loc[12, "artist"]
    page.fill("#search", title)
    page.press("#search", "Enter")
    page.wait_for_selector("#recommendations li")
    shown = page.locator("#recommendations li b").all_inner_texts()
    assert shown == rec.recommend(title, 10, artist=artist)["title"].tolist()
    assert "embedding similarity" in page.inner_text("#recommendations")
    layout = page.evaluate("(() => { const l = document.getElementById('map').layout; "
                           "return {range: l.xaxis.range, ring: l.shapes[0]}; })()")
    row = int(df.index[(df["title"] == title) & (df["artist"] == artist)][0])
    x = float(rec.map_.map_2d_[list(rec.map_.plot_index_).index(row), 0])
    assert (layout["ring"]["x0"] + layout["ring"]["x1"]) / 2 == pytest.approx(x, abs=1e-4)  # the song is ringed
    full = float(rec.map_.map_2d_[:, 0].max() - rec.map_.map_2d_[:, 0].min())
    assert layout["range"][0] < x < layout["range"][1] and layout["range"][1] - layout["range"][0] < full / 2


def test_a_click_on_a_point_shows_that_songs_recommendations(page):
    box = page.evaluate("""() => {
        const gd = document.getElementById('map'), L = gd._fullLayout, t = gd.data[0];
        const x = L.xaxis.l2p(t.x[0]) + L._size.l, y = L.yaxis.l2p(t.y[0]) + L._size.t;
        const r = gd.getBoundingClientRect();
        return {x: r.left + x, y: r.top + y};
    }""")
    page.mouse.move(box["x"], box["y"])
    page.mouse.click(box["x"], box["y"])
    page.wait_for_selector("#recommendations li", timeout=10_000)
    assert page.inner_text("#panel").startswith("Songs like")


def test_a_bad_query_shows_the_suggestions_and_one_click_recovers(page):
    page.fill("#search", "Qwertyuiop Zxcvbnm Nowhere")
    page.press("#search", "Enter")
    page.wait_for_selector("#problem")
    assert "no song titled" in page.inner_text("#problem").lower()
    suggestions = page.locator(".suggestion")
    assert suggestions.count() >= 1
    suggestions.first.click()
    page.wait_for_selector("#recommendations li")


def test_the_mood_filter_and_colour_modes(page, parts):
    _, rec, _ = parts
    page.select_option("#mood", "happy")
    assert page.evaluate("document.getElementById('map').data.map(t => t.name)") == ["happy"]
    page.select_option("#mood", "")
    page.select_option("#colour", "cluster")
    names = page.evaluate("document.getElementById('map').data.map(t => t.name)")
    assert len(names) == rec.map_.n_clusters_ and all(n.startswith("cluster") for n in names)


def test_the_self_contained_file_works_offline(browser, parts, tmp_path):
    from musemood.serve import write_map_html

    df, rec, _ = parts
    path = write_map_html(rec, tmp_path / "map.html", show_progress_bar=False)
    context = browser.new_context(offline=True)
    page = context.new_page()
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    title = df.loc[12, "title"]
    page.fill("#search", title)
    page.press("#search", "Enter")
    page.wait_for_selector("#recommendations li")
    assert page.locator("#recommendations li").count() == 5
    context.close()
