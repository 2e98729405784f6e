"""The song map page in a real browser: Debian's chromium driven by Playwright (no downloaded browser)."""
# ruff: noqa: F811 (the server fixtures come from test_serve)

import os
import shutil

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
    page.requests_seen, page.failed = [], []
    page.on("request", lambda request: page.requests_seen.append(request.url))
    page.on("response", lambda response: response.status >= 400 and page.failed.append((response.status,
                                                                                          response.url)))
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    yield page
    context.close()


def test_the_page_draws_every_song_with_webgl_and_loads_nothing_from_outside(page, server, parts):
    _, rec, _ = parts
    assert page.locator("#map canvas").count() == 1  # regl-scatterplot draws on one WebGL canvas
    assert page.evaluate("songMap.scatterplot.get('points').length") == len(rec.map_.plot_index_)
    assert page.evaluate("songMap.songs.row") == rec.map_.plot_index_.tolist()
    labels = page.locator("#labels div").all_inner_texts()
    assert len(labels) == rec.map_.n_clusters_ and all(":" in label for label in labels)
    # each label sits on a song of its cluster, drawn where that song is on the screen
    clusters = rec.map_.labels_[rec.map_.plot_index_]
    for label in page.evaluate("songMap.labels.map(l => ({cluster: l.cluster, point: l.point, text: l.text, "
                               "at: [parseFloat(l.div.style.left), parseFloat(l.div.style.top)], "
                               "song: songMap.scatterplot.getScreenPosition(l.point)}))"):
        assert clusters[label["point"]] == label["cluster"] and label["text"].startswith(f"{label['cluster']}:")
        assert label["at"] == pytest.approx(label["song"], abs=0.5)
    page.select_option("#colour", "cluster")
    legend = page.evaluate("songMap.legend")
    assert [g["name"] for g in legend] == [f"cluster {c}" for c in range(rec.map_.n_clusters_)]
    assert len({g["colour"] for g in legend}) == rec.map_.n_clusters_  # distinct colours
    assert sum(g["songs"] for g in legend) == len(rec.map_.plot_index_)
    # coloured by each point's fourth value, its cluster (regl-scatterplot calls it w)
    assert page.evaluate("songMap.scatterplot.get('colorBy')") in ("valueB", "valueW")
    page.select_option("#colour", "mood")
    assert page.evaluate("songMap.scatterplot.get('colorBy')") in ("valueA", "valueZ")
    assert all(url.startswith(server.url) for url in page.requests_seen), page.requests_seen  # no CDN
    assert not page.failed  # nor a request of the page that fails
    # the browser asks for /favicon.ico (a 404 in every access log, unseen by Playwright) unless the page has an icon
    assert page.evaluate("document.querySelector('link[rel=icon]').href").startswith("data:image/svg+xml,")


def _label_offsets(page):
    """How far each cluster label is, in pixels, from where its song is drawn."""
    return page.evaluate("""songMap.labels.map(l => {
        const [x, y] = songMap.scatterplot.getScreenPosition(l.point);
        return Math.hypot(parseFloat(l.div.style.left) - x, parseFloat(l.div.style.top) - y);
    })""")


def test_labels_follow_their_songs_through_zoom_and_a_resized_window(page):
    assert max(_label_offsets(page)) < 0.5
    page.mouse.move(500, 400)
    page.mouse.wheel(0, -400)  # zoom in
    page.wait_for_timeout(400)
    assert max(_label_offsets(page)) < 0.5
    at = page.evaluate("songMap.scatterplot.getScreenPosition(songMap.labels[0].point)")
    page.set_viewport_size({"width": 900, "height": 600})
    page.wait_for_timeout(300)
    moved = page.evaluate("songMap.scatterplot.getScreenPosition(songMap.labels[0].point)")
    assert moved != pytest.approx(at), "the points should move with the window"
    page.wait_for_function("Math.abs(songMap.scatterplot.getScreenPosition(songMap.labels[0].point)[0] - "
                           "parseFloat(songMap.labels[0].div.style.left)) < 0.5", timeout=5_000)
    assert max(_label_offsets(page)) < 0.5


def test_hovering_a_point_shows_its_song(page, parts):
    df, rec, _ = parts
    i = _isolated(page)
    at = _on_screen(page, i)
    page.mouse.move(at["x"] + 40, at["y"] + 40)
    page.mouse.move(at["x"], at["y"])
    page.wait_for_selector("#tooltip:not([hidden])", timeout=10_000)
    row = int(rec.map_.plot_index_[i])
    tip = page.inner_text("#tooltip")
    assert df.loc[row, "title"] in tip and df.loc[row, "artist"] in tip and f"cluster {rec.map_.labels_[row]}" in tip


def _on_screen(page, i):
    """Where the i-th plotted song is drawn, in page coordinates."""
    return page.evaluate("""(i) => {
        const [x, y] = songMap.scatterplot.getScreenPosition(i);
        const box = document.getElementById('canvas').getBoundingClientRect();
        return {x: box.left + x, y: box.top + y};
    }""", i)


def _isolated(page):
    """The plotted song drawn farthest from any other: the mouse over it can only mean that song
    (songs drawn a pixel apart made these tests depend on which of the two the page picked)."""
    return page.evaluate("""() => {
        const at = songMap.songs.row.map((_, i) => songMap.scatterplot.getScreenPosition(i));
        let best = 0, bestGap = -1;
        at.forEach(([x, y], i) => {
            let gap = Infinity;
            at.forEach(([u, v], j) => { if (j !== i) gap = Math.min(gap, Math.hypot(x - u, y - v)); });
            if (gap > bestGap) { best = i; bestGap = gap; }
        });
        return best;
    }""")


def test_search_flies_to_a_song_and_shows_its_recommendations(page, parts):
    df, rec, _ = parts
    title, artist = df.loc[12, "title"], df.loc[12, "artist"]
    page.fill("#search", title)
    page.press("#search", "Enter")
    page.wait_for_selector("#recommendations li")
    shown = page.locator("#recommendations li b").all_inner_texts()
    assert shown == rec.recommend(title, 10, artist=artist)["title"].tolist()
    assert "embedding similarity" in page.inner_text("#recommendations")
    row = int(df.index[(df["title"] == title) & (df["artist"] == artist)][0])
    i = list(rec.map_.plot_index_).index(row)
    page.wait_for_function(f"songMap.focused === {i}", timeout=10_000)
    assert page.evaluate("songMap.scatterplot.get('selectedPoints')") == [i]  # the song is ringed
    view = page.evaluate("({target: songMap.scatterplot.get('cameraTarget'), "
                         "distance: songMap.scatterplot.get('cameraDistance'), "
                         "point: songMap.scatterplot.get('points')[%d]})" % i)
    assert view["target"] == pytest.approx(view["point"][:2], abs=1e-4)  # centred on it
    assert view["distance"] == pytest.approx(0.1)  # a tenth of the map


def test_a_title_with_a_typo_shows_which_song_was_taken(page, parts):
    """The API says in query.note which title a misspelt one was taken for; the page did not show it."""
    df, rec, _ = parts
    title = next(t for t in df["title"] if len(t) >= 18 and (df["title"] == t).sum() == 1)  # a typo within ratio 90
    typo = title[:-1] + ("x" if title[-1] != "x" else "y")
    page.fill("#search", typo)
    page.press("#search", "Enter")
    page.wait_for_selector("#recommendations li")
    expected = rec.recommend(typo, 10).attrs["query"]["note"]
    assert "closest title" in expected and page.inner_text("#note") == expected


def test_a_click_on_a_point_shows_that_songs_recommendations(page, parts):
    df, rec, _ = parts
    i = _isolated(page)
    at = _on_screen(page, i)
    page.mouse.move(at["x"], at["y"])
    page.mouse.click(at["x"], at["y"])
    page.wait_for_selector("#recommendations li", timeout=10_000)
    row = int(rec.map_.plot_index_[i])
    assert page.inner_text("#panel h2") == f"Songs like {df.loc[row, 'title']}"


def test_shift_drag_pans_instead_of_drawing_a_lasso(page):
    """The page acts on one song at a time: regl-scatterplot's lasso (shift-drag) is turned off."""
    before = page.evaluate("songMap.scatterplot.get('cameraTarget')")
    page.keyboard.down("Shift")
    page.mouse.move(300, 300)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(300 + 20 * step, 300 + 15 * step)
    page.mouse.up()
    page.keyboard.up("Shift")
    assert page.evaluate("songMap.scatterplot.get('selectedPoints')") == []
    assert page.evaluate("songMap.scatterplot.get('cameraTarget')") != pytest.approx(before)  # it panned


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
    moods = rec.catalogue_.songs_["mood"].to_numpy(dtype=object)[rec.map_.plot_index_]
    happy = [i for i, m in enumerate(moods) if isinstance(m, str) and m == "happy"]
    page.select_option("#mood", "happy")
    assert page.evaluate("songMap.scatterplot.get('filteredPoints')") == happy
    assert page.evaluate("songMap.legend.map(g => [g.name, g.songs])") == [["happy", len(happy)]]
    assert page.inner_text("#status").startswith(f"{len(happy)} songs")
    page.select_option("#mood", "")
    assert not page.evaluate("songMap.scatterplot.get('isPointsFiltered')")
    page.select_option("#colour", "cluster")
    names = page.evaluate("songMap.legend.map(g => g.name)")
    assert len(names) == rec.map_.n_clusters_ and all(n.startswith("cluster") for n in names)


def test_the_self_contained_file_works_offline(browser, parts, tmp_path):
    from urllib.parse import urlencode

    from musemood.web import write_map_html

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
    linked = context.new_page()  # the file opened with a song in its address, as the served page is
    linked.goto(path.as_uri() + "?" + urlencode({"title": title, "artist": df.loc[12, "artist"]}))
    linked.wait_for_selector("body[data-ready=true]", timeout=30_000)
    assert linked.inner_text("#panel h2") == f"Songs like {title}"
    assert linked.locator("#recommendations li").count() == 5
    context.close()


def test_a_title_that_looks_like_markup_leaves_the_self_contained_file_working(browser, tmp_path):
    """A title holding "<!--<script>" inside the file's inlined JSON kept the browser from ever closing that
    <script> element (HTML's "double escaped" script state): the page stayed blank.  The JSON's "<", ">" and
    "&" are now written as \\u escapes, which JavaScript reads back as the same characters."""
    import numpy as np

    from musemood.clustering import SongMap
    from musemood.datasets import drop_duplicate_songs, load_demo
    from musemood.recommender import Recommender
    from musemood.web import write_map_html

    df = drop_duplicate_songs(load_demo(60, random_state=1)).reset_index(drop=True)
    df.loc[5, "title"], df.loc[5, "artist"] = "Rock <!--<script> & Roll", "</script><b>Band</b>"
    vectors = np.random.default_rng(0).normal(size=(len(df), 8)).astype(np.float32)
    rec = Recommender(song_map=SongMap(k_range=(2, 4)), weights={"lexical": 0.5}).fit(df, vectors=vectors)
    path = write_map_html(rec, tmp_path / "map.html", show_progress_bar=False)
    assert "Rock \\u003c!--\\u003cscript\\u003e \\u0026 Roll" in path.read_text()
    context = browser.new_context(offline=True)
    try:
        page = context.new_page()
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        page.fill("#search", df.loc[5, "title"])
        page.press("#search", "Enter")
        page.wait_for_selector("#recommendations li")
        assert page.inner_text("#panel h2") == f"Songs like {df.loc[5, 'title']}"
    finally:
        context.close()


def test_a_title_shared_by_a_song_without_an_artist_is_chosen_on_the_page(browser):
    """Search a title that a song without an artist shares: "Which artist?" offers "(no artist)", and that
    choice shows the song without one (the API's artist=""), where "<NA>" led to a 404."""
    import numpy as np

    from musemood.clustering import SongMap
    from musemood.datasets import drop_duplicate_songs, load_demo
    from musemood.recommender import Recommender
    from musemood.serve import create_app, serve_in_thread

    df = drop_duplicate_songs(load_demo(60, random_state=1)).reset_index(drop=True)
    df.loc[4, "title"], df.loc[4, "artist"] = df.loc[3, "title"], None
    vectors = np.random.default_rng(0).normal(size=(len(df), 8)).astype(np.float32)
    rec = Recommender(song_map=SongMap(k_range=(2, 4)), weights={"lexical": 0.5}).fit(df, vectors=vectors)
    srv, url = serve_in_thread(create_app(rec))
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        page.fill("#search", df.loc[3, "title"])
        page.press("#search", "Enter")
        page.wait_for_selector("#problem")
        choices = page.locator(".suggestion")
        assert sorted(choices.all_inner_texts()) == sorted(["(no artist)", df.loc[3, "artist"]])
        choices.filter(has_text="(no artist)").click()
        page.wait_for_selector("#recommendations li")
        i = list(rec.map_.plot_index_).index(4)
        page.wait_for_function(f"songMap.focused === {i}", timeout=10_000)  # the song without an artist
    finally:
        context.close()
        srv.should_exit = True


def test_the_address_keeps_the_song_and_the_view_for_a_link_or_a_reload(page, server, parts):
    """A shown song, the colour mode and the mood filter go into the page's address; opening that address
    (a shared link, a bookmark, a reload) shows the same song, ringed, with the same colours and filter."""
    from urllib.parse import parse_qs, urlsplit

    df, rec, _ = parts
    title, artist = df.loc[12, "title"], df.loc[12, "artist"]
    page.fill("#search", title)
    page.press("#search", "Enter")
    page.wait_for_selector("#recommendations li")
    page.select_option("#colour", "cluster")
    page.select_option("#mood", "happy")
    link = page.url
    assert parse_qs(urlsplit(link).query) == {"title": [title], "artist": [artist], "colour": ["cluster"],
                                              "mood": ["happy"]}
    shown = page.locator("#recommendations li b").all_inner_texts()
    other = page.context.new_page()
    other.goto(link)
    other.wait_for_selector("body[data-ready=true]", timeout=30_000)
    assert other.inner_text("#panel h2") == f"Songs like {title}"
    assert other.locator("#recommendations li b").all_inner_texts() == shown
    i = list(rec.map_.plot_index_).index(int(df.index[(df["title"] == title) & (df["artist"] == artist)][0]))
    other.wait_for_function(f"songMap.focused === {i}", timeout=10_000)
    assert other.input_value("#colour") == "cluster" and other.input_value("#mood") == "happy"
    assert other.evaluate("songMap.scatterplot.get('isPointsFiltered')")
    assert other.input_value("#search") == title
    other.select_option("#mood", "")  # back to every mood: the address drops it
    assert "mood" not in parse_qs(urlsplit(other.url).query)
    # an address naming a song the catalogue lacks shows the suggestions, as a search would
    other.goto(server.url + "/?title=Qwertyuiop%20Zxcvbnm&colour=nonsense")
    other.wait_for_selector("body[data-ready=true]", timeout=30_000)
    assert "no song titled" in other.inner_text("#problem").lower()
    assert other.input_value("#colour") == "mood"  # a value the page does not offer is ignored
    other.close()


def test_a_playlist_built_on_the_page_gets_songs_like_all_of_its_songs(page, server, parts):
    """A shown song and a recommended one join the playlist ("+"), "Songs like these" asks POST /recommend
    for songs like both (neither among them), the address keeps the playlist for a link, and a song
    leaves it with "×"."""
    from urllib.parse import parse_qs, urlsplit

    df, rec, _ = parts
    title, artist = df.loc[12, "title"], df.loc[12, "artist"]
    page.fill("#search", title)
    page.press("#search", "Enter")
    page.wait_for_selector("#recommendations li")
    second = page.locator("#recommendations li b").first.inner_text()
    second_artist = rec.recommend(title, 1, artist=artist)["artist"].iloc[0]
    page.click("#panel .meta button.add")  # the shown song
    page.locator("#recommendations li button.add").first.click()  # its first recommendation
    assert page.locator("#playlist li").count() == 2
    page.click("#playlist-recommend")
    page.wait_for_selector("#panel h2:has-text('Songs like these 2 songs')")
    expected = rec.recommend(songs=[(title, artist), (second, second_artist)], top_k=10)
    shown = page.locator("#recommendations li b").all_inner_texts()
    assert shown == expected["title"].tolist() and not {title, second} & set(shown)
    plotted = list(rec.map_.plot_index_)
    rows = [int(df.index[(df["title"] == t) & (df["artist"] == a)][0]) for t, a in [(title, artist),
                                                                                   (second, second_artist)]]
    assert sorted(page.evaluate("songMap.scatterplot.get('selectedPoints')")) == sorted(
        plotted.index(r) for r in rows if r in plotted)  # the playlist's songs are ringed
    link = page.url
    assert parse_qs(urlsplit(link).query) == {"playlist": [f'[["{title}","{artist}"],["{second}","{second_artist}"]]']}
    other = page.context.new_page()
    other.goto(link)
    other.wait_for_selector("body[data-ready=true]", timeout=30_000)
    other.wait_for_selector("#recommendations li")
    assert other.locator("#playlist li").count() == 2
    assert other.locator("#recommendations li b").all_inner_texts() == shown
    other.locator("#playlist li button.remove").first.click()
    assert other.locator("#playlist li").count() == 1 and second in other.inner_text("#playlist")
    other.click("#playlist-clear")
    assert other.locator("#playlist").is_hidden() and "playlist" not in parse_qs(urlsplit(other.url).query)
    other.close()
    assert not page.failed
