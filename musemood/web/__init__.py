"""The song map page: its HTML, the WebGL scatter plot's script (both files in this package, so the page
needs no CDN) and the data it draws.

``musemood serve`` serves the page at ``/`` and its data at ``/map``; :func:`write_map_html` writes the
same page as one self-contained file (``musemood map --html FILE``), which needs neither FastAPI nor a
server.
"""

import functools
import json
import math
from typing import Any

import numpy as np

from .. import schema

MAP_COLUMNS = ("row", "x", "y", "cluster", "mood", "title", "artist")


def map_frame(rec, offset=0, limit=5_000):
    """Points ``offset`` to ``offset + limit`` of the map (its plotted sample) as a DataFrame with
    the columns of :data:`MAP_COLUMNS` (``row`` is the song's catalogue row)."""
    import pandas as pd

    song_map, songs = rec.map_, rec.catalogue_.songs_
    index = song_map.plot_index_
    stop = min(len(index), offset + limit)
    rows = np.asarray(index[offset:stop], dtype=np.int64)
    xy = np.asarray(song_map.map_2d_[offset:stop], dtype=np.float64)
    mood = songs["mood"].to_numpy(dtype=object)[rows] if "mood" in songs.columns else np.full(len(rows), None)
    return pd.DataFrame({"row": rows, "x": xy[:, 0], "y": xy[:, 1],
                         "cluster": np.asarray(song_map.labels_, dtype=np.int64)[rows],
                         "mood": pd.Series(mood, dtype=object).where(pd.notna(mood), None),
                         "title": _text(songs[schema.TITLE], rows), "artist": _text(songs[schema.ARTIST], rows)})


def _text(column, rows):
    """A title or artist column's ``rows`` as strings, a missing one empty (not "<NA>" or "nan")."""
    return column.iloc[rows].fillna("").astype(str).to_numpy(dtype=object)


def map_page_json(rec, offset=0, limit=5_000):
    """A page of the map as JSON text: ``total``, ``songs``, ``offset``, ``limit``, ``points`` (one
    array per column of :data:`MAP_COLUMNS`, the i-th song at index i of each) and ``clusters``
    (with ``x``, ``y`` and ``point``: where each is labelled, see :attr:`SongMap.label_points_
    <musemood.clustering.SongMap.label_points_>`, computed once per map rather than by the page on each
    redraw).

    Columns, not one object per point: half the bytes, and encoded by pandas in C (a 50,000-point
    page in objects took FastAPI's encoder 3.5 s)."""
    frame = map_frame(rec, offset, limit)
    columns = ", ".join(f'"{c}": ' + frame[c].to_json(orient="values", double_precision=6, force_ascii=False)
                        for c in MAP_COLUMNS)
    head = {"total": int(len(rec.map_.plot_index_)), "songs": int(len(rec.catalogue_)), "offset": int(offset),
            "limit": int(limit)}
    clusters = [] if rec.clusters_ is None else _records(rec.clusters_)
    at = rec.map_.label_points_
    for cluster in clusters:
        if cluster.get("cluster") in at:
            cluster["x"], cluster["y"], cluster["point"] = at[cluster["cluster"]]
    return json.dumps(head)[:-1] + ', "points": {' + columns + '}, "clusters": ' + json.dumps(clusters) + "}"


def map_page(rec, offset=0, limit=5_000):
    """:func:`map_page_json` as Python objects."""
    return json.loads(map_page_json(rec, offset, limit))


SCATTER_BUNDLE = "regl-scatterplot.min.js"
"""The WebGL scatter plot the map page draws with: regl-scatterplot with regl and pub-sub-es (MIT, 220
kB), bundled into one script in ``musemood/web`` with their licences; ``scripts/update-regl-scatterplot.sh``
rebuilds it from npm."""


@functools.lru_cache(maxsize=1)
def _scatter_js():
    """The scatter plot's script from the installed musemood package (no CDN: many servers are offline)."""
    from importlib.resources import files

    return files("musemood.web").joinpath(SCATTER_BUNDLE).read_text(encoding="utf-8")


def map_page_html(config, *, script_src=None):
    """The song map page: ``config`` tells it where its data comes from (the API, or inlined); the
    scatter plot's script is loaded from ``script_src``, or inlined when ``None`` (a self-contained file)."""
    from importlib.resources import files

    template = files("musemood.web").joinpath("map.html").read_text(encoding="utf-8")
    # inlined in a <script> element, the JSON must not hold markup: "</script" would close the element early,
    # and "<!--<script" would keep it from closing at all; "<", ">" and "&" occur only in its strings, where
    # JavaScript reads the \u escapes back as the same characters
    data = json.dumps(_plain(config)).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    if script_src is None:
        script = "<script>" + _scatter_js().replace("</script", "<\\/script") + "</script>"
        template = template.replace('<script src="{{SCATTER_SRC}}"></script>', script)
    else:
        template = template.replace("{{SCATTER_SRC}}", script_src)
    return template.replace("{{CONFIG}}", data)


def write_map_html(rec, path, *, top_k=5, show_progress_bar=True):
    """The song map as one self-contained HTML file (the scatter plot's script, the points and each plotted song's
    ``top_k`` recommendations inlined), to open or share without a server; missing parent folders are made."""
    from pathlib import Path

    from tqdm.auto import tqdm

    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"{path}: the map page is an .html file")
    if rec.map_ is None:
        raise ValueError("this recommender has no song map (it was fitted with song_map=None)")
    data = map_page(rec, 0, len(rec.map_.plot_index_))
    recommendations = {}
    songs = data["points"]
    for row, title, artist in tqdm(zip(songs["row"], songs["title"], songs["artist"]), total=len(songs["row"]),
                                   desc="recommendations", unit="song", disable=not show_progress_bar):
        if not title.strip():  # a song without a title is on the map, but cannot be asked for by name
            recommendations[row] = []
            continue
        result = rec.recommend(title, top_k, artist=artist or None, as_frame=False)["results"]  # "": none given
        # plain values already; map_page_html makes the whole page JSON-ready once
        recommendations[row] = [{k: r[k] for k in ("title", "artist", "mood", "cluster", "score", "why")}
                                for r in result]
    data["recommendations"] = recommendations
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(map_page_html({"api": False, "data": data}), encoding="utf-8")
    return path


def _records(frame):
    return [_plain(row) for row in frame.to_dict(orient="records")]


def _plain(value: Any):
    """JSON-ready: NumPy scalars and arrays to Python, NaN/NA to None."""
    import pandas as pd

    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is not None and not isinstance(value, (str, int, float, bool)) and pd.isna(value):
        return None
    return value
