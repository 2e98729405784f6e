"""musemood over HTTP: a real uvicorn server on a free port, asked with a real HTTP client."""

import contextvars
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

pytest.importorskip("fastapi")
import httpx  # noqa: E402

from musemood import schema  # noqa: E402
from musemood.classifiers import SimpleBertClassifier  # noqa: E402
from musemood.serve import MAX_BATCH, MAX_SONGS, MAX_TEXT, create_app, default_threads, serve_in_thread  # noqa: E402

from test_classifiers import FAST, make_songs  # noqa: E402


@pytest.fixture(scope="module")
def parts(_tiny_bert_dir):
    from musemood.clustering import SongMap
    from musemood.datasets import drop_duplicate_songs, load_demo
    from musemood.recommender import Recommender

    df = drop_duplicate_songs(load_demo(150, random_state=0)).reset_index(drop=True)
    df.loc[5, "title"] = df.loc[6, "title"]  # one title by two artists
    vectors = np.random.default_rng(0).normal(size=(len(df), 8)).astype(np.float32)
    rec = Recommender(song_map=SongMap(k_range=(2, 5)), weights={"lexical": 0.5}).fit(df, vectors=vectors)
    train, y = make_songs(60, 0, "text")
    model = SimpleBertClassifier(str(_tiny_bert_dir), epochs=3, **FAST).fit(train, y)
    return df, rec, model


@pytest.fixture(scope="module")
def server(parts):
    _, rec, model = parts
    srv, url = serve_in_thread(create_app(rec, model))
    with httpx.Client(base_url=url, timeout=30) as client:
        client.url = url
        yield client
    srv.should_exit = True


def test_health_version_and_openapi(server, parts):
    df, _, _ = parts
    assert server.get("/health").json() == {"status": "ok", "songs": len(df), "model": "SimpleBertClassifier"}
    assert server.get("/version").json()["musemood"]
    spec = server.get("/openapi.json").json()
    assert {"/predict", "/recommend", "/songs", "/map", "/health", "/version"} <= set(spec["paths"])
    assert server.get("/docs").status_code == 200


def test_predict_one_and_many_texts_as_the_library_does(server, parts):
    _, _, model = parts
    texts = ["sunshine and dancing all night long", "tears and rain and an empty room"]
    answer = server.post("/predict", json={"texts": texts}).json()
    expected = model.predict_proba(texts)
    assert answer["classes"] == list(model.classes_) and len(answer["predictions"]) == 2
    for got, want in zip(answer["predictions"], expected):
        np.testing.assert_allclose([got["probabilities"][c] for c in answer["classes"]], want, rtol=1e-5)
        assert got["label"] == answer["classes"][int(np.argmax(want))]


def test_a_model_with_audio_predicts_texts_with_or_without_their_audio(_tiny_bert_dir, caplog):
    # the default server's model is the demo's tBERT: texts without audio once answered 500 (a KeyError)
    from fastapi.testclient import TestClient

    from musemood import TBertClassifier

    train, y = make_songs(60, 0, "audio")
    model = TBertClassifier(str(_tiny_bert_dir), n_topics=None, epochs=1, **FAST).fit(train, y)
    client = TestClient(create_app(None, model))
    texts = ["sunshine and dancing", "tears and rain"]
    with caplog.at_level("WARNING"):
        alone = client.post("/predict", json={"texts": texts})
    assert alone.status_code == 200 and not caplog.records  # the medians, as for model.predict_proba(texts)
    np.testing.assert_allclose([p["probabilities"][c] for p in alone.json()["predictions"] for c in model.classes_],
                               model.predict_proba(texts).ravel(), rtol=1e-5)
    audio = [{"valence": 0.9, "tempo": 128}, {"valence": 0.1}]
    given = client.post("/predict", json={"texts": texts, "audio": audio}).json()
    frame = train.head(0).reindex(range(2)).assign(lyrics=texts, valence=[0.9, 0.1], tempo=[128, np.nan])
    np.testing.assert_allclose([p["probabilities"][c] for p in given["predictions"] for c in model.classes_],
                               model.predict_proba(frame).ravel(), rtol=1e-5)


def test_recommend_by_title_and_by_text(server, parts):
    df, rec, _ = parts
    title, artist = df.loc[10, "title"], df.loc[10, "artist"]
    answer = server.get("/recommend", params={"title": title, "artist": artist, "top_k": 4}).json()
    expected = rec.recommend(title, 4, artist=artist)
    assert [r["title"] for r in answer["results"]] == expected["title"].tolist()
    assert answer["results"][0]["why"] and answer["query"]["title"] == title
    assert answer == rec.recommend(title, 4, artist=artist, as_frame=False)  # every field, every digit
    by_text = server.post("/recommend", json={"text": "rain on the window", "top_k": 3}).json()
    assert len(by_text["results"]) == 3 and by_text["query"]["text"] == "rain on the window"
    assert by_text == rec.recommend(text="rain on the window", top_k=3, as_frame=False)


def test_recommend_like_several_songs(server, parts):
    """POST /recommend with songs (titles, or title and artist objects) continues a playlist; an unknown
    song is a 404 with suggestions, as for GET."""
    df, rec, _ = parts
    seeds = [(df.loc[10, "title"], df.loc[10, "artist"]), (df.loc[20, "title"], df.loc[20, "artist"])]
    body = {"songs": [{"title": t, "artist": a} for t, a in seeds], "top_k": 5, "mood": "sad"}
    answer = server.post("/recommend", json=body).json()
    assert answer == rec.recommend(songs=seeds, top_k=5, mood="sad", as_frame=False)
    assert answer["query"]["songs"] == body["songs"] and len(answer["results"]) == 5
    by_title = server.post("/recommend", json={"songs": [df.loc[30, "title"]], "top_k": 3}).json()
    assert by_title == rec.recommend(songs=[df.loc[30, "title"]], top_k=3, as_frame=False)
    missing = server.post("/recommend", json={"songs": [seeds[0][0], df.loc[3, "title"] + " zzz qqq"]})
    assert missing.status_code == 404 and missing.json()["suggestions"]

def test_unknown_title_is_404_with_suggestions_and_ambiguous_is_409_with_artists(server, parts):
    df, _, _ = parts
    missing = server.get("/recommend", params={"title": df.loc[3, "title"] + " zzz qqq"})
    assert missing.status_code == 404 and missing.json()["suggestions"]
    ambiguous = server.get("/recommend", params={"title": df.loc[6, "title"]})
    assert ambiguous.status_code == 409
    assert set(ambiguous.json()["artists"]) >= {df.loc[5, "artist"], df.loc[6, "artist"]}


def test_songs_search_and_map_pages(server, parts):
    df, rec, _ = parts
    found = server.get("/songs", params={"q": df.loc[20, "title"], "top_k": 3}).json()["results"]
    assert found and found[0]["title"] == df.loc[20, "title"]
    first = server.get("/map", params={"limit": 100}).json()
    second = server.get("/map", params={"offset": 100, "limit": 100}).json()
    columns = ("row", "x", "y", "cluster", "mood", "title", "artist")
    assert first["total"] == len(rec.map_.plot_index_) and set(first["points"]) == set(columns)
    assert all(len(first["points"][c]) == 100 for c in columns)
    assert len(second["points"]["row"]) == first["total"] - 100
    rows = first["points"]["row"] + second["points"]["row"]
    assert rows == rec.map_.plot_index_.tolist()  # every plotted song once, in order
    np.testing.assert_allclose(first["points"]["x"], rec.map_.map_2d_[:100, 0], atol=1e-5)
    row = first["points"]["row"][7]
    assert first["points"]["title"][7] == df.loc[row, "title"] and first["points"]["artist"][7] == df.loc[row, "artist"]
    assert first["points"]["cluster"][7] == rec.map_.labels_[row]
    moods = rec.catalogue_.songs_["mood"]
    assert first["points"]["mood"][7] == (moods[row] if isinstance(moods[row], str) else None)
    assert first["clusters"] and "top_words" in first["clusters"][0]
    # where each cluster's label goes: its plotted song nearest the cluster's (upper) median point
    plotted = rec.map_.labels_[rec.map_.plot_index_]
    for cluster in first["clusters"]:
        xy = rec.map_.map_2d_[plotted == cluster["cluster"]].astype(float)
        median = np.sort(xy, axis=0)[len(xy) // 2]
        nearest = xy[np.argmin(((xy - median) ** 2).sum(axis=1))]
        np.testing.assert_allclose((cluster["x"], cluster["y"]), nearest)
        # and its position among the plotted songs, the same song
        np.testing.assert_allclose(rec.map_.map_2d_[cluster["point"]], nearest)
    assert server.get("/map", params={"offset": 10**6}).json()["points"]["row"] == []  # past the end: empty


def test_the_page_loads_the_shipped_scatter_plot_bundle(server):
    from importlib.resources import files

    page = server.get("/")
    assert page.status_code == 200 and '<script src="static/regl-scatterplot.min.js">' in page.text
    js = server.get("/static/regl-scatterplot.min.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("application/javascript")
    assert js.text.startswith("/*! regl-scatterplot@") and "window.createScatterplot" in js.text
    assert "max-age" in js.headers["cache-control"]
    licences = files("musemood.web").joinpath("regl-scatterplot-LICENSE.txt").read_text()
    assert all(f"==== {p} ====" in licences for p in ("regl-scatterplot", "regl", "pub-sub-es"))
    assert licences.count("MIT License") == 3


@pytest.mark.parametrize("method, path, payload, fix", [
    ("post", "/predict", {"texts": []}, "texts"),
    ("post", "/predict", {"texts": ["a"] * (MAX_BATCH + 1)}, "texts"),
    ("post", "/predict", {"texts": ["a" * (MAX_TEXT + 1)]}, "limit"),
    ("post", "/predict", {"texts": [3]}, "texts"),
    ("post", "/predict", {"texts": ["rain", " \n"]}, "texts[1] is empty"),
    ("post", "/predict", {"texts": ["a"], "audio": [{"tempo": "fast"}]}, "audio"),
    ("post", "/predict", {"texts": ["a"], "audio": [{"loudness_db": 3}]}, "unknown features"),
    ("post", "/predict", {"texts": ["a"], "audio": [{"valence": False}]}, "body.audio.0.valence"),  # not 0.0
    ("post", "/predict", {"texts": ["a"], "audio": [{"valence": "0.5"}]}, "body.audio.0.valence"),
    ("post", "/recommend", {"text": "rain", "top_k": True}, "body.top_k"),  # not 1
    ("post", "/predict", {"texts": ["a", "b"], "audio": [{"tempo": 120}]}, "one audio mapping per text"),
    ("post", "/predict", {"text": "a"}, "texts"),
    ("post", "/predict", "not json", "invalid request: body: the body is not JSON (Expecting value at character 0)"),
    ("post", "/predict", '{"texts": ["caf\u00e9"]}'.encode("latin-1"), "the body is not JSON text in UTF-8"),
    ("get", "/recommend", {}, "title"),
    ("get", "/recommend", {"title": "x", "top_k": 0}, "top_k"),
    ("get", "/recommend", {"title": "x", "top_k": 10_000}, "top_k"),
    ("get", "/recommend", {"title": "x", "top_k": "many"}, "top_k"),
    ("get", "/recommend", {"title": "x", "method": "magic"}, "method"),
    ("post", "/recommend", {"text": ""}, "text"),
    ("post", "/recommend", {"text": "   "}, "no words to search by"),
    ("get", "/recommend", {"title": "\U0001F3B5"}, "no letters or digits"),
    ("post", "/recommend", {"text": "rain", "top_k": -1}, "top_k"),
    ("post", "/recommend", {"text": "rain", "songs": ["x"]}, "give text (a description) or songs"),
    ("post", "/recommend", {"top_k": 3}, "not neither"),
    ("post", "/recommend", {"songs": []}, "songs"),
    ("post", "/recommend", {"songs": ["x"] * (MAX_SONGS + 1)}, "songs"),
    ("post", "/recommend", {"songs": [{"title": "x", "album": "y"}]}, "album"),
    ("post", "/recommend", {"songs": ["x" * 501]}, "songs"),
    ("post", "/recommend", {"text": "qqqq zzzz"}, "vocabulary"),
    ("post", "/recommend", {"text": "rain", "mood": "ecstatic"}, "unknown mood"),
    ("get", "/songs", {}, "q"),
    ("get", "/songs", {"q": "x", "top_k": 0}, "top_k"),
    ("get", "/map", {"limit": 0}, "limit"),
    ("get", "/map", {"offset": -1}, "offset"),
    # a misspelt or misplaced parameter is refused, not ignored into another answer
    ("get", "/recommend", {"text": "rain at night"}, 'a description goes in POST /recommend: {"text": ...}'),
    ("get", "/recommend", {"title": "x", "topk": 3}, "unknown query parameter 'topk' (GET /recommend takes title, "
                                                      "artist, top_k, mood, method)"),
    ("get", "/songs", {"query": "rain"}, "unknown query parameter 'query'"),
    ("post", "/recommend?top_k=3", {"text": "rain"}, "(POST /recommend takes its parameters in the JSON body)"),
])
def test_a_bad_request_is_a_4xx_that_says_what_to_fix(server, method, path, payload, fix):
    if method == "get":
        response = server.get(path, params=payload)
    elif isinstance(payload, (str, bytes)):
        response = server.post(path, content=payload, headers={"Content-Type": "application/json"})
    else:
        response = server.post(path, json=payload)
    assert 400 <= response.status_code < 500, response.text
    assert fix in response.json()["detail"], response.json()


def test_concurrent_requests_give_the_single_request_answers(server, parts):
    df, _, _ = parts
    rows = list(range(0, 120, 8))
    alone = [server.get("/recommend", params={"title": df.loc[i, "title"], "artist": df.loc[i, "artist"],
                                              "top_k": 5}).json() for i in rows]
    texts = [["night drive with the windows down"], ["a letter I never sent"]] * 6

    def ask(i):
        return server.get("/recommend", params={"title": df.loc[i, "title"], "artist": df.loc[i, "artist"],
                                                "top_k": 5}).json()

    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(ask, rows))
        predictions = list(pool.map(lambda t: server.post("/predict", json={"texts": t}).json(), texts))
    assert together == alone
    assert all(p == predictions[i % 2] for i, p in enumerate(predictions))


def test_access_log_is_json_without_bodies_or_queries(server, parts, caplog):
    """Nor does another log hold what users typed: a misspelt title's note was also logged by the catalogue
    (it is in the answer, as `query.note`)."""
    df, _, _ = parts
    caplog.set_level(logging.INFO, logger="musemood.access")
    caplog.set_level(logging.INFO, logger="musemood.catalogue")
    server.post("/recommend", json={"text": "my secret diary words", "top_k": 2})
    server.get("/songs", params={"q": "private query"})
    row = df["title"].str.len().idxmax()
    typo = df.loc[row, "title"][:-1]
    answer = server.get("/recommend", params={"title": typo, "artist": df.loc[row, "artist"], "top_k": 2})
    assert answer.status_code == 200 and f"no song titled {typo!r}" in answer.json()["query"]["note"]
    assert typo not in caplog.text
    for _ in range(100):  # the server logs a request once its response is sent: the client may be faster
        lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "musemood.access"]
        if {line["path"] for line in lines} >= {"/recommend", "/songs"}:
            break
        time.sleep(0.05)
    assert {(line["method"], line["path"], line["status"]) for line in lines} >= {("POST", "/recommend", 200),
                                                                                 ("GET", "/songs", 200)}
    assert "secret" not in caplog.text and "private" not in caplog.text
    assert all(isinstance(line["ms"], float) for line in lines)


def test_without_parts_the_endpoints_say_what_to_load():
    from fastapi.testclient import TestClient

    client = TestClient(create_app(None, None))
    assert client.get("/health").json() == {"status": "ok", "songs": None, "model": None}
    response = client.post("/predict", json={"texts": ["a"]})
    assert response.status_code == 503 and "--model" in response.json()["detail"]
    assert "--recommender" in client.get("/recommend", params={"title": "x"}).json()["detail"]


def test_parts_the_endpoints_cannot_use_are_refused_when_the_app_is_made(tmp_path):
    """A path (as the command takes) or an unfitted recommender was accepted, and every request then failed
    with a 500 ('str' object has no attribute 'map_')."""
    from musemood import Recommender

    with pytest.raises(TypeError, match="create_app takes a loaded recommender, not the path '.*rec': load it "
                                        "first, rec, model = musemood.serve.load_parts"):
        create_app(str(tmp_path / "rec"))
    with pytest.raises(TypeError, match="create_app takes a loaded model, not the path"):
        create_app(None, tmp_path / "model")
    with pytest.raises(TypeError, match="recommender must be a fitted musemood Recommender .* got an unfitted"):
        create_app(Recommender())
    with pytest.raises(TypeError, match="model must be a fitted musemood model .* got dict"):
        create_app(None, {})


@pytest.mark.parametrize("workers", [1, 2])
def test_sighup_reloads_the_parts_and_a_broken_save_keeps_the_old_ones(parts, tmp_path, workers):
    """A catalogue rebuilt and saved over the served folder is taken up on SIGHUP, and the server answers
    throughout: one worker loads the parts again beside the old ones and swaps them in; several workers
    are replaced one at a time, each old one stopped once its new one answers.  A folder that no longer
    loads is reported and the old parts keep being served."""
    import psutil

    from musemood.recommender import Recommender

    if workers > 1 and not __import__("musemood.serve").serve.spreads_connections():
        pytest.skip("replacing workers needs Linux's SO_REUSEPORT")
    df, rec, _ = parts
    folder = rec.save(tmp_path / "rec", include_model=False)
    server, port = _serve_process("--workers", workers, "--recommender", folder, timeout=120)
    url = f"http://127.0.0.1:{port}/health"
    done, failed = (("reloaded the parts in 2 workers", "reload stopped after 0 of 2 workers") if workers > 1 else
                    ("reloaded the parts in", "reload failed, still serving the parts loaded before"))

    def songs():  # a new connection each time: none is refused or reset while workers are replaced
        return httpx.get(url, timeout=30).json()["songs"]

    def processes():
        return sorted(p.pid for p in psutil.Process(server.pid).children() if "spawn_main" in " ".join(p.cmdline()))

    try:
        before = processes()
        assert songs() == len(df) and len(before) == (2 if workers > 1 else 0)
        smaller = df.iloc[:100].reset_index(drop=True)
        vectors = np.random.default_rng(1).normal(size=(len(smaller), 8)).astype(np.float32)
        Recommender(song_map=None, weights={"lexical": 0.5}).fit(smaller, vectors=vectors).save(folder)
        server.send_signal(signal.SIGHUP)
        seen, deadline = [], time.monotonic() + 120
        while done not in _printed(server):
            assert time.monotonic() < deadline and server.poll() is None, _printed(server)
            seen.append(songs())  # never unanswered while the parts change
        assert set(seen) <= {len(df), 100} and [songs() for _ in range(20)] == [100] * 20
        after = processes()
        assert len(after) == len(before) and not set(after) & set(before)
        # a save that no longer loads: reported, and the parts loaded before are served on
        config = folder / "config.json"
        config.write_text(config.read_text().replace('"format"', '"fromat"', 1))
        server.send_signal(signal.SIGHUP)
        while failed not in _printed(server):
            assert time.monotonic() < deadline and server.poll() is None, _printed(server)
            assert songs() == 100
        assert processes() == after and [songs() for _ in range(10)] == [100] * 10
        assert ("a worker could not start" if workers > 1 else "config.json") in _printed(server)
        server.send_signal(signal.SIGTERM)  # uvicorn stops, then ends by the signal it caught (one worker)
        assert server.wait(60) == (0 if workers > 1 else -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()


@pytest.mark.skipif(not __import__("musemood.serve").serve.spreads_connections(), reason="SO_REUSEPORT: Linux")
def test_a_worker_that_dies_during_a_reload_is_restarted_at_once(parts, tmp_path):
    """While SIGHUP's first new worker loads, the other worker is killed: it is started again at once, not
    once the reload is over, and the worker started again, which loaded the new parts, is not replaced a
    second time.  Requests are answered throughout, each on a new connection: the replaced worker hands its
    socket, still open, to its successor (closed, it reset the connections waiting in it: this test failed
    in 2 of 4 runs); the worker that died leaves its socket and the one started again gets a new one."""
    import psutil

    _, rec, _ = parts
    folder = rec.save(tmp_path / "rec", include_model=False)
    server, port = _serve_process("--workers", 2, "--recommender", folder, timeout=120)
    deadline = time.monotonic() + 120

    def workers():  # alive, oldest first
        found = []
        for process in psutil.Process(server.pid).children():
            try:
                if process.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(process.cmdline()):
                    found.append(process)
            except psutil.Error:  # gone meanwhile
                pass
        return sorted(found, key=lambda p: p.create_time())

    def socket_of(process):  # the listening socket's inode, as /proc names it (None: not listening yet)
        listening = [c for c in process.net_connections("tcp") if c.status == psutil.CONN_LISTEN]
        assert len(listening) <= 1, listening
        return os.readlink(f"/proc/{process.pid}/fd/{listening[0].fd}") if listening else None

    try:
        first, second = workers()
        while None in (socket_of(first), socket_of(second)):  # /health answered: one worker is up, maybe not both
            assert time.monotonic() < deadline, _printed(server)
            time.sleep(0.05)
        socket_of_first, sockets = socket_of(first), {socket_of(first), socket_of(second)}
        assert len(sockets) == 2
        server.send_signal(signal.SIGHUP)
        while len(workers()) < 3:  # the first worker's replacement is loading
            assert time.monotonic() < deadline, _printed(server)
            time.sleep(0.05)
        known = {p.pid for p in workers()}
        second.kill()
        while not {p.pid for p in workers()} - known:
            assert time.monotonic() < deadline, _printed(server)
            time.sleep(0.05)
        restarted = next(p for p in workers() if p.pid not in known)
        while "reloaded the parts in 2 workers" not in _printed(server):
            assert time.monotonic() < deadline and server.poll() is None, _printed(server)
            assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=30).status_code == 200
        printed = _printed(server)
        assert printed.index("was killed by SIGKILL") < printed.index("reloaded the parts in 2 workers"), printed
        after = workers()
        assert len(after) == 2 and restarted.pid in {p.pid for p in after}
        assert not {first.pid, second.pid} & {p.pid for p in after}
        successor = next(p for p in after if p.pid != restarted.pid)
        assert socket_of(successor) == socket_of_first and socket_of(restarted) not in sockets
    finally:
        server.terminate()
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on Windows")
def test_a_sighup_during_a_reload_loads_once_more_after_it(monkeypatch, capsys):
    """The folder saved again while a reload reads it: the SIGHUP that follows is not lost, the parts
    are read once more after the running reload, and the last ones read are served."""
    import musemood.serve as serve_module

    class Parts:
        catalogue_ = ()

    release, loads = threading.Event(), []

    def load_parts(recommender_path, model_path, *, mmap, reload):
        loads.append(Parts())
        if len(loads) == 1:
            release.wait(30)  # the first reload is still reading when the second SIGHUP comes
        return loads[-1], None

    monkeypatch.setattr(serve_module, "load_parts", load_parts)
    monkeypatch.setattr(serve_module, "freeze_loaded", lambda: None)
    app = create_app()
    previous = signal.getsignal(signal.SIGHUP)
    try:
        serve_module.reload_on_hangup(app, "rec")
        os.kill(os.getpid(), signal.SIGHUP)
        deadline = time.monotonic() + 30
        while not loads:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGHUP)
        time.sleep(0.2)
        assert len(loads) == 1  # one reload at a time
        release.set()
        printed = ""
        while printed.count("reloaded the parts") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            printed += capsys.readouterr().err
        assert len(loads) == 2 and app.state.recommender is loads[1], printed
    finally:
        signal.signal(signal.SIGHUP, previous)


def _serve_process(*args, timeout):
    """``musemood serve ARGS`` in a process of its own on a free port, once its /health answers:
    ``(process, port)``; what it prints goes to a file (:func:`_printed`; a pipe nobody reads fills up and
    stops the server at its next log line).  A server that exits first or is not up in ``timeout``
    seconds fails the test (with what it printed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tempfile.TemporaryFile("w+")
    child = subprocess.Popen([sys.executable, "-m", "musemood.cli", "serve", *map(str, args), "--port", str(port)],
                             stderr=log, text=True)
    child.log = log
    deadline = time.monotonic() + timeout
    while True:
        if child.poll() is not None:
            raise AssertionError(f"musemood serve stopped with code {child.returncode}: {_printed(child)}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return child, port
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            child.kill()
            raise AssertionError(f"musemood serve did not answer within {timeout} s")
        time.sleep(0.2)


def _printed(child):
    """What a :func:`_serve_process` server has printed so far."""
    child.log.seek(0)
    return child.log.read()


def test_musemood_serve_runs_a_saved_recommender_and_stops_cleanly(parts, tmp_path):
    _, rec, model = parts
    rec_dir, model_dir = rec.save(tmp_path / "rec", include_model=False), model.save(tmp_path / "model")
    child, port = _serve_process("--recommender", rec_dir, "--model", model_dir, timeout=60)
    try:
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()
        assert health == {"status": "ok", "songs": len(rec.catalogue_), "model": "SimpleBertClassifier"}
        assert httpx.post(f"http://127.0.0.1:{port}/predict", json={"texts": ["rain"]}).status_code == 200
    finally:
        child.terminate()
        child.wait(30)
    err = _printed(child)
    assert "Serving" in err and "Traceback" not in err
    assert f"with 1 worker of {default_threads(1)} thread" in err
    assert '"path": "/predict", "status": 200' in err  # the access log line, as JSON


class _GatedModel:
    """A mood model whose predictions wait for ``release``: it shows which requests run at once."""

    text_column, objective, classes_ = schema.LYRICS, "classification", np.array(["happy", "sad"])

    def __init__(self):
        self.entered, self.release = [], threading.Event()

    def predict_proba(self, X):  # texts, or a DataFrame when audio comes with them, as the real models take
        self.entered.append(str(X[0] if isinstance(X, list) else X.iloc[0, 0]))
        assert self.release.wait(20)
        return np.tile([0.25, 0.75], (len(X), 1))


def test_a_thread_cap_runs_requests_in_turn_and_health_never_waits():
    model = _GatedModel()
    server, url = serve_in_thread(create_app(None, model, threads=1))
    try:
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(httpx.post, f"{url}/predict", json={"texts": ["first"]}, timeout=30)
            deadline = time.monotonic() + 10
            while not model.entered and time.monotonic() < deadline:
                time.sleep(0.01)
            second = pool.submit(httpx.post, f"{url}/predict", json={"texts": ["second"]}, timeout=30)
            # the one thread is busy: health still answers, the second prediction waits its turn
            assert httpx.get(f"{url}/health", timeout=5).json()["status"] == "ok"
            time.sleep(0.3)
            assert model.entered == ["first"]
            model.release.set()
            assert first.result().status_code == second.result().status_code == 200
        assert model.entered == ["first", "second"]
        assert second.result().json()["predictions"][0]["label"] == "sad"
    finally:
        model.release.set()
        server.should_exit = True


_REQUEST = contextvars.ContextVar("request", default=None)


class _Tagging:
    """ASGI middleware that puts each request's path in a context variable, as tracing libraries do."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            _REQUEST.set(scope["path"])
        await self.app(scope, receive, send)


def test_requests_run_in_the_app_s_own_threads_in_turn_with_their_context():
    """threads=2: two predictions run at once in the app's threads and the third waits in the queue;
    each sees the context its request set; the threads end with the server."""
    seen = []

    class Model(_GatedModel):
        def predict_proba(self, frame):
            seen.append((threading.current_thread().name, _REQUEST.get()))
            return super().predict_proba(frame)

    model = Model()
    app = create_app(None, model, threads=2)
    app.add_middleware(_Tagging)
    server, url = serve_in_thread(app)
    try:
        with ThreadPoolExecutor(3) as pool:
            answers = [pool.submit(httpx.post, f"{url}/predict", json={"texts": [str(i)]}, timeout=30)
                       for i in range(3)]
            deadline = time.monotonic() + 10
            while len(model.entered) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.3)
            assert len(model.entered) == 2  # the third waits for a thread
            model.release.set()
            assert [a.result().status_code for a in answers] == [200, 200, 200]
        assert len(model.entered) == 3
        assert all(name.startswith("musemood-serve") and path == "/predict" for name, path in seen), seen
        assert len({name for name, _ in seen}) == 2
        pool = app.state.pool
    finally:
        model.release.set()
        server.should_exit = True
    deadline = time.monotonic() + 10
    while app.state.pool is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app.state.pool is None  # stopped with the server
    with pytest.raises(RuntimeError, match="shutdown"):
        pool.submit(print)


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "2"])
def test_create_app_refuses_a_bad_thread_cap(threads):
    with pytest.raises(ValueError, match="threads must be a whole number"):
        create_app(None, None, threads=threads)


def test_workers_take_their_thread_cap_from_the_environment(parts, tmp_path, monkeypatch):
    from musemood.serve import app_from_env

    _, rec, _ = parts
    monkeypatch.setenv("MUSEMOOD_SERVE_RECOMMENDER", str(rec.save(tmp_path / "rec", include_model=False)))
    monkeypatch.setenv("MUSEMOOD_SERVE_MODEL", "")
    monkeypatch.setenv("MUSEMOOD_SERVE_THREADS", "3")
    frozen = _no_freeze(monkeypatch)
    assert app_from_env().state.threads == 3
    assert frozen == [1]  # a worker keeps what it loaded out of garbage collection
    monkeypatch.setenv("MUSEMOOD_SERVE_THREADS", "many")
    with pytest.raises(ValueError, match="MUSEMOOD_SERVE_THREADS must be a whole number, got 'many'"):
        app_from_env()
    assert 1 <= default_threads(64) <= default_threads(1)


def test_workers_map_the_recommender_unless_told_not_to(parts, tmp_path, monkeypatch):
    from musemood.serve import app_from_env

    _, rec, _ = parts
    monkeypatch.setenv("MUSEMOOD_SERVE_RECOMMENDER", str(rec.save(tmp_path / "rec", include_model=False)))
    monkeypatch.setenv("MUSEMOOD_SERVE_MODEL", "")
    _no_freeze(monkeypatch)
    for value, mapped in ((None, True), ("1", True), ("0", False)):
        if value is None:
            monkeypatch.delenv("MUSEMOOD_SERVE_MMAP", raising=False)
        else:
            monkeypatch.setenv("MUSEMOOD_SERVE_MMAP", value)
        vectors = app_from_env().state.recommender.retriever_.vectors
        assert isinstance(vectors, np.memmap) == mapped
    monkeypatch.setenv("MUSEMOOD_SERVE_MMAP", "yes")
    with pytest.raises(ValueError, match="MUSEMOOD_SERVE_MMAP must be 0 or 1, got 'yes'"):
        app_from_env()


def _no_freeze(monkeypatch):
    """Count calls of serve.freeze_loaded instead of freezing the test process's objects for good."""
    import musemood.serve

    calls = []
    monkeypatch.setattr(musemood.serve, "freeze_loaded", lambda: calls.append(1))
    return calls


def test_freeze_loaded_keeps_loaded_objects_out_of_collections():
    code = ("import gc; from musemood.serve import freeze_loaded; kept = [[i] for i in range(100_000)]; "
            "freeze_loaded(); print(gc.get_freeze_count() >= 100_000, any(o is kept for o in gc.get_objects()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["True", "False"], out.stderr  # frozen: no collection walks them


def test_one_worker_serve_freezes_its_parts_before_serving(parts, monkeypatch, capsys):
    import uvicorn

    import musemood.serve
    from musemood.cli import main

    _, rec, _ = parts
    events = []
    monkeypatch.setattr(musemood.serve, "load_parts", lambda *a, **k: (rec, None))
    monkeypatch.setattr(musemood.serve, "freeze_loaded", lambda: events.append("freeze"))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: events.append("serve"))
    assert main(["serve"]) == 0
    assert events == ["freeze", "serve"]


@pytest.mark.parametrize("argv, mmap", [(["serve"], True), (["serve", "--no-mmap"], False)])
def test_serve_maps_the_recommender_unless_told_not_to(argv, mmap, monkeypatch, capsys):
    import musemood.serve
    from musemood.cli import main

    asked = []

    def load_parts(recommender_path=None, model_path=None, *, mmap=True):
        asked.append(mmap)
        raise FileNotFoundError("no recommender here")

    monkeypatch.setattr(musemood.serve, "load_parts", load_parts)
    assert main(argv) == 2 and asked == [mmap]
    assert "no recommender here" in capsys.readouterr().err


def test_several_workers_have_their_parts_checked_in_a_process_of_their_own(parts, tmp_path, monkeypatch, capsys):
    """With --workers N the command checks the parts in a child process that exits, so the process that
    watches the workers keeps neither the parts nor their imports; a bad part is still the user's error."""
    import uvicorn

    import musemood.serve
    from musemood.cli import main

    _, rec, _ = parts
    folder = rec.save(tmp_path / "rec", include_model=False)

    def not_here(*args, **kwargs):
        raise AssertionError("the watching process loaded the parts itself")

    started = []
    for name in ("RECOMMENDER", "MODEL", "THREADS", "MMAP"):  # what the command sets for the workers: restored after
        monkeypatch.setenv(f"MUSEMOOD_SERVE_{name}", "")
    monkeypatch.setattr(musemood.serve, "load_parts", not_here)  # this process only: the child imports afresh
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: started.append(kwargs["workers"]))
    monkeypatch.setattr(musemood.serve, "run_workers", lambda workers, host, port: started.append(workers))
    assert main(["serve", "--workers", "2", "--recommender", str(folder)]) == 0
    assert f"Serving {len(rec.catalogue_):,} songs (no mood model" in capsys.readouterr().err
    assert started == [2]
    assert main(["serve", "--workers", "2", "--recommender", str(tmp_path / "none")]) == 2
    assert "holds no saved recommender" in capsys.readouterr().err and len(started) == 1


@pytest.mark.skipif(not __import__("musemood.serve").serve.spreads_connections(), reason="SO_REUSEPORT: Linux")
def test_several_workers_each_listen_and_share_the_connections(parts, tmp_path):
    """serve --workers 2 gives each worker a socket of its own on the port, so the kernel spreads
    connections over them (a shared socket can give every keep-alive client to one worker); a worker
    with more than its share asks clients to reconnect until the two hold as many; a SIGTERM stops
    the workers with the server."""
    import signal

    import psutil

    _, rec, model = parts
    folder = rec.save(tmp_path / "rec", include_model=False)
    deadline = time.monotonic() + 120
    server, port = _serve_process("--workers", 2, "--recommender", folder, "--model", model.save(tmp_path / "model"),
                                  timeout=120)
    clients = []
    try:
        workers = [p for p in psutil.Process(server.pid).children() if "spawn_main" in " ".join(p.cmdline())]

        def listening(worker):
            return sum(c.status == psutil.CONN_LISTEN and c.laddr.port == port
                       for c in worker.net_connections(kind="tcp"))

        while not all(listening(worker) for worker in workers):  # a worker listens once its app is made
            assert time.monotonic() < deadline, "a worker did not listen within 120 s"
            time.sleep(0.2)
        for _ in range(24):  # keep-alive clients, each its own connection, all open at once
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
            assert client.get("/songs", params={"q": "love"}).status_code == 200
            clients.append(client)

        def connected():
            return [sum(c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port
                        for c in worker.net_connections(kind="tcp")) for worker in workers]

        assert len(workers) == 2 and [listening(worker) for worker in workers] == [1, 1]
        assert min(connected()) > 0  # all on one worker: 1 chance in millions
        rounds = 0  # a worker with more than 12 of the 24 asks a client to reconnect until both hold 12
        while connected() != [12, 12]:  # a client told to reconnect has no connection until its next request
            assert time.monotonic() < deadline, f"connections still {connected()} after {rounds} rounds"
            for client in clients:
                assert client.get("/songs", params={"q": "love"}).status_code == 200
            rounds += 1
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0
        assert not any(worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE for worker in workers)
        printed = _printed(server)
        assert "leaked semaphore" not in printed and "Loading weights" not in printed  # workers: no bars, no leaks
    finally:
        for client in clients:
            client.close()
        if server.poll() is None:
            server.kill()


def test_a_worker_over_its_share_of_connections_asks_one_client_at_a_time_to_reconnect():
    import asyncio

    from musemood._workers import _Rebalance

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    def answer(wrapper, scope_type="http"):
        sent = []

        async def send(message):
            sent.append(message)

        asyncio.run(wrapper({"type": scope_type}, None, send))
        return sent

    def closes(sent):
        return (b"connection", b"close") in sent[0]["headers"]

    counts = [0, 11]  # this worker is slot 0; the other holds 11 connections
    rebalance = _Rebalance(app, connections={f"c{i}" for i in range(13)}, counts=counts, slot=0, interval=3600)
    sent = answer(rebalance)
    assert counts == [13, 11] and closes(sent) and sent[1]["body"] == b"ok"  # 13 > ceil(24 / 2)
    assert sent[0]["headers"][0] == (b"content-type", b"text/plain")
    assert not closes(answer(rebalance))  # at most one a interval
    rebalance.interval = 0
    assert closes(answer(rebalance))
    rebalance.connections = {f"c{i}" for i in range(12)}
    assert not closes(answer(rebalance)) and counts == [12, 11]  # 12 <= ceil(23 / 2)
    counts[1] = 5
    rebalance.connections = {"a", "b", "c", "d", "e", "f"}  # 6 = ceil(11 / 2): at its share, it keeps them
    assert not closes(answer(rebalance))
    assert answer(rebalance, "lifespan")[0]["headers"] == [(b"content-type", b"text/plain")]  # passed through


@pytest.mark.skipif(not __import__("musemood.serve").serve.spreads_connections(), reason="SO_REUSEPORT: Linux")
@pytest.mark.parametrize("request_comes", [True, False])
def test_a_stopping_worker_answers_the_connections_it_accepted_before_their_request_came(request_comes):
    """A worker told to stop (SIGTERM, as when SIGHUP replaces it) stops accepting at once, yet a connection
    it had accepted, whose request had not come yet, still gets its answer.  uvicorn's own shutdown closed
    such a connection at once, and its client, whose request came a moment later, saw it reset: the SIGHUP
    test failed so in one fresh-clone CI run of six.  A connection that never sends a request is closed
    after a second, and the worker stops."""
    import uvicorn

    from musemood._workers import _listening_socket, _server

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"answered"})

    server = _server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    listening = _listening_socket("127.0.0.1", 0)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    with socket.create_connection(listening.getsockname()[:2], timeout=10) as client:
        for _ in range(200):  # accepted by the server
            if server.server_state.connections:
                break
            time.sleep(0.01)
        [connection] = server.server_state.connections  # what _server reads to tell it waits for its request:
        assert getattr(connection, "cycle", "no such attribute") is None  # a uvicorn that renames it fails here
        server.should_exit = True  # as uvicorn's SIGTERM handler does
        time.sleep(0.3)  # the server has begun to stop (it looks every 0.1 s) before the request comes
        if request_comes:
            client.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        received = b""
        while chunk := client.recv(4096):
            received += chunk
    thread.join(10)
    assert not thread.is_alive()
    if request_comes:
        assert received.startswith(b"HTTP/1.1 200") and b"\r\nanswered\r\n" in received
        assert b"\r\nconnection: close\r\n" in received.lower()  # and it was told not to ask again
    else:
        assert received == b""  # closed without a word: it asked nothing


def test_uvicorn_s_shared_socket_on_request(monkeypatch):
    from musemood.serve import spreads_connections

    monkeypatch.delenv("MUSEMOOD_SERVE_REUSEPORT", raising=False)
    assert spreads_connections() == sys.platform.startswith("linux")
    monkeypatch.setenv("MUSEMOOD_SERVE_REUSEPORT", "0")
    assert not spreads_connections()
    monkeypatch.setenv("MUSEMOOD_SERVE_REUSEPORT", "yes")
    with pytest.raises(ValueError, match="MUSEMOOD_SERVE_REUSEPORT must be 0 or 1, got 'yes'"):
        spreads_connections()


def test_serve_refuses_a_bad_socket_setting_before_loading(monkeypatch, capsys):
    import musemood.serve
    from musemood.cli import main

    def not_yet(*args, **kwargs):
        raise AssertionError("the parts were loaded before the setting was checked")

    monkeypatch.setattr(musemood.serve, "load_parts", not_yet)
    monkeypatch.setenv("MUSEMOOD_SERVE_REUSEPORT", "yes")
    assert main(["serve", "--workers", "2", "--recommender", "/nonexistent/rec"]) == 2
    assert "MUSEMOOD_SERVE_REUSEPORT must be 0 or 1, got 'yes'" in capsys.readouterr().err


@pytest.mark.skipif(not __import__("musemood.serve").serve.spreads_connections(), reason="SO_REUSEPORT: Linux")
def test_a_worker_socket_shares_its_port_and_turns_nagle_off():
    """Two workers' sockets bind the same port; a connection accepted on one has TCP_NODELAY, which asyncio
    sets only when the listening socket says IPPROTO_TCP (uvicorn's own bound socket says 0: Nagle stays on)."""
    import asyncio

    from musemood._workers import _listening_socket

    async def nodelay_of_an_accepted_connection(sockets):
        accepted = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport):
                accepted.set_result(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP,
                                                                                  socket.TCP_NODELAY))
                transport.close()

        servers = [await asyncio.get_running_loop().create_server(Probe, sock=sock) for sock in sockets]
        _, writer = await asyncio.open_connection(*sockets[0].getsockname()[:2])  # the kernel picks a socket
        try:
            return await asyncio.wait_for(accepted, 10)
        finally:
            writer.close()
            for server in servers:
                server.close()

    first = _listening_socket("127.0.0.1", 0)
    second = _listening_socket("127.0.0.1", first.getsockname()[1])
    try:
        assert asyncio.run(nodelay_of_an_accepted_connection([first, second])) == 1
    finally:
        first.close()
        second.close()


@pytest.mark.skipif(not __import__("musemood.serve").serve.spreads_connections(), reason="SO_REUSEPORT: Linux")
def test_workers_that_cannot_start_the_app_stop_the_server(tmp_path, monkeypatch):
    from musemood.serve import run_workers

    monkeypatch.setenv("MUSEMOOD_SERVE_RECOMMENDER", str(tmp_path / "none"))
    monkeypatch.setenv("MUSEMOOD_SERVE_MODEL", "")
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="a worker could not start the app"):
        run_workers(2, "127.0.0.1", 0)
    assert time.monotonic() - started < 120
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):  # a port in use is refused before any worker starts
            run_workers(2, "127.0.0.1", taken.getsockname()[1])


@pytest.mark.skipif(not __import__("musemood.serve").serve.spreads_connections(), reason="SO_REUSEPORT: Linux")
def test_workers_that_keep_dying_before_their_app_is_made_stop_the_server(tmp_path, monkeypatch):
    """A worker killed while it loads (the kernel's OOM killer sends SIGKILL) is not restarted forever:
    after three in a row the server stops and says how they ended."""
    from musemood._workers import STARTUP_DEATHS
    from musemood.serve import run_workers

    site = tmp_path / "site"
    site.mkdir()  # every new interpreter of this test, the workers among them, kills itself at start
    (site / "sitecustomize.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    # without the guard run_workers restarts the workers forever: a SIGTERM after 60 s makes it return
    # (it stops on SIGTERM) and this test fail, rather than hang the suite
    watchdog = threading.Timer(60, os.kill, (os.getpid(), signal.SIGTERM))
    watchdog.start()
    try:
        with pytest.raises(RuntimeError, match=f"died {STARTUP_DEATHS} times in a row before its app was made "
                                               r"\(the last was killed by SIGKILL \(as the kernel does when memory"):
            run_workers(2, "127.0.0.1", 0)
    finally:
        watchdog.cancel()


@pytest.mark.parametrize("argv, named", [
    (["serve", "--recommender", "/nonexistent/rec"], "/nonexistent/rec"),
    (["serve", "--port", "70000", "--recommender", "/nonexistent/rec"], "65535"),
    (["serve", "--workers", "0"], "--workers"),
    (["serve", "--threads", "0"], "--threads"),
])
def test_serve_refuses_bad_options_before_starting(argv, named, capsys):
    from musemood.cli import main

    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and named in err and "Traceback" not in err


# ------------------------------------------------------ fuzzing from the spec
def test_a_body_sent_without_the_json_content_type_is_told_so_and_errors_are_in_the_spec(server):
    response = server.post("/predict", content='{"texts": ["rain"]}', headers={"Content-Type": "text/plain"})
    assert response.status_code == 422 and ("the body must be a JSON object sent with Content-Type: "
                                            "application/json (it came as text/plain)") in response.json()["detail"]
    spec = server.get("/openapi.json").json()
    responses = spec["paths"]["/recommend"]["get"]["responses"]
    assert set(responses) == {"200", "404", "409", "422", "503"}
    assert responses["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert set(spec["components"]["schemas"]["ErrorBody"]["properties"]) == {"detail", "errors", "suggestions",
                                                                            "artists"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_every_kind_of_answer_is_what_the_spec_says(server, parts):
    """The answers' models are in the spec only (the endpoints write their own JSON): each kind of answer,
    every method and query of /recommend included, is checked against them."""
    schemathesis = pytest.importorskip("schemathesis")
    from schemathesis.checks import response_schema_conformance, status_code_conformance

    df, _, _ = parts
    song = {"title": df.loc[10, "title"], "artist": df.loc[10, "artist"]}
    requests = [("GET", "/health", {}, None), ("GET", "/version", {}, None),
                ("POST", "/predict", {}, {"texts": ["rain on the window", "dancing in the sun"]}),
                ("GET", "/songs", {"q": df.loc[3, "title"][:4]}, None), ("GET", "/map", {"limit": 7}, None),
                ("POST", "/recommend", {}, {"text": "rain on the window", "top_k": 3}),
                ("POST", "/recommend", {}, {"songs": [song, df.loc[20, "title"]], "mood": "sad"}),
                ("GET", "/recommend", {"title": df.loc[6, "title"], "artist": df.loc[6, "artist"]}, None)]
    requests += [("GET", "/recommend", {**song, "method": method, "top_k": 3}, None)
                 for method in ("rerank", "lexical", "embedding")]
    spec = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    for method, path, query, body in requests:
        case = spec[path][method].Case(query=query or None, **({"body": body} if body is not None else {}))
        response = case.call(base_url=server.url, timeout=30)
        assert response.status_code == 200, (path, query, body, response.text[:300])
        case.validate_response(response, checks=[status_code_conformance, response_schema_conformance])
    answer = server.get("/recommend", params=song).json()
    spec_fields = server.get("/openapi.json").json()["components"]["schemas"]["Recommendation"]["properties"]
    assert set(answer["results"][0]) == set(spec_fields)  # every field of the answer is described


def test_no_request_the_spec_allows_or_breaks_gets_a_500_or_an_answer_the_spec_does_not_describe(server):
    """schemathesis draws requests for every operation from the server's own OpenAPI spec (valid ones
    and ones that break it); each must be answered, with a 4xx when it is bad, never a 500, and with a
    status and a body the spec documents (its error bodies were FastAPI's default, not ours; 404, 409 and
    503 were not listed; a body not in UTF-8 was a 400 of FastAPI's own), a request that breaks the spec
    being refused (an audio feature of false was read as 0.0)."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import (content_type_conformance, negative_data_rejection, not_a_server_error,
                                     response_schema_conformance, status_code_conformance)

    spec = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in spec.get_all_operations()]
    assert len(operations) >= 7
    modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
    for operation, mode in [(op, mode) for op in operations for mode in modes]:
        @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case):
            response = case.call(base_url=server.url, timeout=30)
            assert response.status_code < 500, (f"{case.method} {case.formatted_path}: {response.status_code} "
                                                 f"{response.text[:300]}")
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                                      content_type_conformance, response_schema_conformance,
                                                      negative_data_rejection])  # no true read as 1

        try:
            check()
        except Unsatisfiable:  # an operation without inputs (/health) has no request that breaks its spec
            assert mode == schemathesis.GenerationMode.NEGATIVE


def test_map_html_writes_one_self_contained_file(parts, tmp_path, capsys):
    from musemood.cli import main

    _, rec, _ = parts
    folder = rec.save(tmp_path / "rec", include_model=False)
    out = tmp_path / "new" / "folder" / "map.html"  # folders made as for the other outputs
    assert main(["map", "--recommender", str(folder), "--out", str(tmp_path / "plots"), "--html", str(out)]) == 0
    html = out.read_text()
    assert "<script src=" not in html and "/*! regl-scatterplot@" in html  # inlined: no server, no CDN
    config = html.split("const CONFIG = ", 1)[1].split(";\n", 1)[0]
    data = json.loads(config)["data"]
    assert len(data["points"]["row"]) == len(rec.map_.plot_index_) == len(data["recommendations"])
    assert main(["map", "--recommender", str(folder), "--html", str(tmp_path / "map.pdf")]) == 2
    assert "an .html file" in capsys.readouterr().err
    # refused before a fit on --data, which would take minutes
    assert main(["map", "--data", str(tmp_path / "missing.parquet"), "--html", str(tmp_path / "map.pdf")]) == 2
    assert "an .html file" in capsys.readouterr().err


def test_serve_in_thread_says_when_the_server_cannot_start(parts):
    _, rec, _ = parts
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"127.0.0.1:{port} did not start"):
            serve_in_thread(create_app(rec, None), port=port, timeout=2)


def test_recommendation_responses_are_plain_json_whatever_values_they_hold():
    """The response is the recommender's plain values dumped as they are; NumPy values and NaN (which
    JSON has no word for) still come out as JSON numbers, booleans and null."""
    from musemood.serve import _recommendations

    plain = {"query": {"title": "a", "cluster": 3}, "results": [{"rank": 1, "score": 0.5, "why": "ü"}]}
    assert json.loads(_recommendations(plain).body) == plain
    assert "ü" in _recommendations(plain).body.decode()  # not escaped
    odd = {"query": {"cluster": np.int64(3), "same": np.bool_(True)},
           "results": [{"score": float("nan"), "similarity": np.float32(0.25), "ids": np.arange(2)}]}
    assert json.loads(_recommendations(odd).body) == {"query": {"cluster": 3, "same": True},
                                                      "results": [{"score": None, "similarity": 0.25, "ids": [0, 1]}]}


def test_a_song_without_an_artist_is_on_the_map_and_gets_recommendations(tmp_path, capsys):
    """A catalogue may miss a song's artist: the map shows it as none (not "<NA>"), and its recommendations
    are found by its title, on the page file and through the API, instead of a 404 for the artist "<NA>"."""
    from musemood.clustering import SongMap
    from musemood.datasets import drop_duplicate_songs, load_demo
    from musemood.recommender import Recommender
    from musemood.web import map_frame, write_map_html

    df = drop_duplicate_songs(load_demo(60, random_state=1)).reset_index(drop=True)
    df.loc[3:40, "artist"] = None  # so that recommendations have songs without an artist too
    df.loc[50, "title"] = None  # on the map, but not to be found by name
    vectors = np.random.default_rng(0).normal(size=(len(df), 8)).astype(np.float32)
    rec = Recommender(song_map=SongMap(k_range=(2, 4)), weights={"lexical": 0.5}).fit(df, vectors=vectors)
    frame = map_frame(rec, 0, len(rec.map_.plot_index_)).set_index("row")
    assert frame.loc[3, "artist"] == "" and frame.loc[3, "title"] == df.loc[3, "title"]
    page = write_map_html(rec, tmp_path / "map.html", show_progress_bar=False).read_text()  # every song's
    assert "<NA>" not in page
    assert frame.loc[50, "title"] == ""
    srv, url = serve_in_thread(create_app(rec))
    try:
        response = httpx.get(url + "/recommend", params={"title": df.loc[3, "title"], "top_k": 10}, timeout=30)
        assert response.status_code == 200 and response.json()["query"]["artist"] is None
        assert None in [song["artist"] for song in response.json()["results"]]
        found = httpx.get(url + "/songs", params={"q": df.loc[3, "title"]}, timeout=30)  # the autocomplete
        assert found.status_code == 200 and found.json()["results"][0]["title"] == df.loc[3, "title"]
        assert found.json()["results"][0]["artist"] is None
        assert rec.catalogue_.display(3) == df.loc[3, "title"]  # in messages: the title alone
    finally:
        srv.should_exit = True
    from musemood.cli import main

    rec.save(tmp_path / "rec", include_model=False)
    assert main(["recommend", df.loc[3, "title"], "--recommender", str(tmp_path / "rec"), "--top-k", "10"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"Songs like {df.loc[3, 'title']} [") and "<NA>" not in printed


def test_a_title_shared_by_a_song_without_an_artist_can_choose_either():
    """Two songs titled alike, one without an artist: the 409 lists it as "" (artist="" chooses it), and its
    message says so, instead of "<NA>", which no query could choose."""
    from musemood.clustering import SongMap
    from musemood.datasets import drop_duplicate_songs, load_demo
    from musemood.recommender import Recommender

    df = drop_duplicate_songs(load_demo(60, random_state=1)).reset_index(drop=True)
    df.loc[4, "title"], df.loc[4, "artist"] = df.loc[3, "title"], None
    vectors = np.random.default_rng(0).normal(size=(len(df), 8)).astype(np.float32)
    rec = Recommender(song_map=SongMap(k_range=(2, 4)), weights={"lexical": 0.5}).fit(df, vectors=vectors)
    srv, url = serve_in_thread(create_app(rec))
    try:
        title = df.loc[3, "title"]
        both = httpx.get(url + "/recommend", params={"title": title}, timeout=30)
        assert both.status_code == 409 and both.json()["artists"] == sorted(["", df.loc[3, "artist"]])
        assert '(no artist: artist="")' in both.json()["detail"] and "<NA>" not in both.json()["detail"]
        alone = httpx.get(url + "/recommend", params={"title": title, "artist": ""}, timeout=30)
        assert alone.status_code == 200 and alone.json()["query"]["artist"] is None
        named = httpx.get(url + "/recommend", params={"title": title, "artist": df.loc[3, "artist"]}, timeout=30)
        assert named.status_code == 200 and named.json()["query"]["artist"] == df.loc[3, "artist"]
    finally:
        srv.should_exit = True
