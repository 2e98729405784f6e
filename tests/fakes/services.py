"""Local fakes of Last.fm, Spotify, Genius and LRCLIB over one made-up catalogue.

The catalogue comes from musemood's own demo generator (no real lyrics).  Each fake answers in
the shapes the services document:

- Last.fm: ``POST /2.0/`` with ``method=track.getTopTags`` (artist + track) or
  ``method=track.getInfo`` (mbid), XML ``<lfm status="ok">``; unknown tracks get
  ``<lfm status="failed"><error code="6">Track not found</error></lfm>``.  Counts are
  relative to the top tag (= 100), as Last.fm's API gives them.
- Spotify: ``POST /api/token`` (client credentials) and ``GET /v1/audio-features?ids=``
  answering ``{"audio_features": [... or null]}``; ``forbid_audio_features`` answers 403 as
  Spotify does for apps registered after 2024-11-27.
- Genius: ``GET /search?q=`` answering ``{"meta": {"status": 200}, "response": {"hits": [...]}}``
  and each song's lyrics page as HTML with ``data-lyrics-container`` divs (or, for the
  ``html_changed`` fault, a page whose layout moved).
- LRCLIB: ``GET /api/get`` and ``/api/search``.

Special songs: one Genius does not have (LRCLIB does), one LRCLIB does not have, one whose
first Genius hit is a cover by another artist, one Last.fm knows only under another name
(found through its MusicBrainz id), one Spotify has no features for, and one song nobody has.
"""

import hashlib
import html
import json
import uuid
from xml.sax.saxutils import escape, quoteattr

from musemood.datasets._demo import generate

FEATURES = ("acousticness", "danceability", "energy", "instrumentalness", "key", "liveness", "loudness", "mode",
            "speechiness", "tempo", "time_signature", "valence")


def catalogue(n=12, seed=3):
    """Songs as dicts: the WASABI view (ids) plus what each service knows about them."""
    df = generate(4 * n, seed)
    df = df.dropna(subset=list(FEATURES)).drop_duplicates(["title"]).head(n)
    songs = []
    for i, row in enumerate(df.itertuples(index=False)):
        spotify_id = _base62(hashlib.sha1(f"spotify{i}".encode()).digest())[:22]
        songs.append({
            "song_id": f"w{i:03d}", "title": row.title, "artist": row.artist, "album": row.album,
            "lyrics": row.lyrics, "tags": [(t, int(c)) for t, c in row.tags],
            "audio": {f: (int(getattr(row, f)) if f in ("key", "mode", "time_signature") else float(getattr(row, f)))
                      for f in FEATURES},
            "spotify_id": spotify_id, "mbid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"mbid{i}")),
            "lastfm_title": row.title, "on_genius": True, "on_lrclib": True, "on_spotify": True,
            "genius_cover_first": False, "genius_id": 1000 + i,
        })
    songs[1]["on_genius"] = False
    songs[2]["on_lrclib"] = False
    songs[3]["genius_cover_first"] = True
    songs[4]["lastfm_title"] = songs[4]["title"] + " - Remastered 2011"
    songs[5]["on_spotify"] = False
    songs.append({
        "song_id": "w999", "title": "Nobody Heard This", "artist": "The Unknowns", "album": "Void", "lyrics": "",
        "tags": [], "audio": None, "spotify_id": "0" * 22, "mbid": None, "lastfm_title": None, "on_genius": False,
        "on_lrclib": False, "on_spotify": False, "genius_cover_first": False, "genius_id": 9999,
    })
    return songs


def _base62(data):
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 62)
        out += alphabet[r]
    return out


# ------------------------------------------------------------------ Last.fm
def lastfm_routes(songs):
    by_name = {(s["artist"].lower(), s["lastfm_title"].lower()): s for s in songs if s["lastfm_title"]}
    by_mbid = {s["mbid"]: s for s in songs if s["mbid"] and s["lastfm_title"]}

    def xml(inner, status="ok"):
        return 200, {"Content-Type": "text/xml; charset=utf-8"}, (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<lfm status="{status}">\n{inner}\n</lfm>')

    def not_found():
        return xml('<error code="6">Track not found</error>', status="failed")

    def api(query):
        method = query.get("method")
        if method == "track.getInfo":
            song = by_mbid.get(query.get("mbid"))
            if song is None:
                return not_found()
            return xml(f"<track><name>{escape(song['lastfm_title'])}</name><mbid>{song['mbid']}</mbid>"
                       f"<url>https://www.last.fm/music/x/_/y</url><artist><name>{escape(song['artist'])}</name>"
                       "<mbid></mbid><url>https://www.last.fm/music/x</url></artist></track>")
        if method == "track.getTopTags":
            song = by_name.get((query.get("artist", "").lower(), query.get("track", "").lower()))
            if song is None:
                return not_found()
            top = max([c for _, c in song["tags"]] or [1])
            tags = "".join(f"<tag><name>{escape(t)}</name><count>{round(100 * c / top)}</count>"
                           f"<url>https://www.last.fm/tag/{escape(t)}</url></tag>" for t, c in song["tags"])
            return xml(f"<toptags artist={quoteattr(song['artist'])} track={quoteattr(song['lastfm_title'])}>"
                       f"{tags}</toptags>")
        return xml('<error code="3">Invalid Method - No method with that name in this package</error>', "failed")

    return {"/2.0/": api}


def lastfm_tags(song):
    """The (tag, relative count) pairs the Last.fm fake answers for a song."""
    top = max([c for _, c in song["tags"]] or [1])
    return [(t, round(100 * c / top)) for t, c in song["tags"]]


# ------------------------------------------------------------------ Spotify
class SpotifyState:
    forbid_audio_features = False
    features_status = None  # e.g. 503: every audio-features call answers it (an outage)
    token_status = None  # e.g. 500 (the token endpoint is down) or 400 (bad credentials)
    error_body = None  # the body of those answers; Spotify's own shape by default


def spotify_routes(songs, state=None):
    state = state or SpotifyState()
    by_id = {s["spotify_id"]: s for s in songs if s["on_spotify"]}

    def token(query):
        if state.token_status:
            body = {"error": "invalid_client", "error_description": "Invalid client"} \
                if state.token_status == 400 else {"error": "server_error"}
            return state.token_status, {}, state.error_body or json.dumps(body)
        return 200, {}, json.dumps({"access_token": "fake-access-token", "token_type": "Bearer",
                                    "expires_in": 3600})

    def features(query):
        if state.forbid_audio_features:
            return 403, {}, json.dumps({"error": {"status": 403, "message": "Forbidden"}})
        if state.features_status:
            return state.features_status, {}, state.error_body or json.dumps(
                {"error": {"status": state.features_status, "message": "Service unavailable"}})
        out = []
        for track_id in query.get("ids", "").split(","):
            song = by_id.get(track_id)
            out.append(None if song is None else {
                **song["audio"], "type": "audio_features", "id": track_id, "uri": f"spotify:track:{track_id}",
                "track_href": f"https://api.spotify.com/v1/tracks/{track_id}",
                "analysis_url": f"https://api.spotify.com/v1/audio-analysis/{track_id}", "duration_ms": 201000})
        return 200, {}, json.dumps({"audio_features": out})

    return {"/api/token": token, "/v1/audio-features": features, "/v1/audio-features/": features}


# ------------------------------------------------------------------- Genius
def genius_page_path(song):
    slug = "-".join((song["artist"] + " " + song["title"]).replace("'", "").split())
    return f"/{slug}-lyrics"


def _hit(song, artist=None):
    artist = artist or song["artist"]
    path = genius_page_path({**song, "artist": artist})
    return {"highlights": [], "index": "song", "type": "song", "result": {
        "annotation_count": 1, "api_path": f"/songs/{song['genius_id']}", "artist_names": artist,
        "full_title": f"{song['title']} by {artist}",
        "id": song["genius_id"] + (500000 if artist != song["artist"] else 0),
        "lyrics_owner_id": 1, "lyrics_state": "complete", "path": path,
        "primary_artist": {"api_path": "/artists/1", "id": 1, "name": artist, "url": "https://genius.com/artists/x"},
        "title": song["title"], "title_with_featured": song["title"], "url": f"https://genius.com{path}"}}


def lyrics_page(song, layout="normal"):
    lines = song["lyrics"].split("\n")
    body = "<br/>".join(html.escape(line) for line in lines)
    head = (f"<!DOCTYPE html><html><head><title>{html.escape(song['artist'])} – {html.escape(song['title'])} "
            "Lyrics | Genius Lyrics</title></head><body><div class=\"SongHeader\"><h1>"
            f"{html.escape(song['title'])}</h1></div>")
    if layout == "changed":
        paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
        return head + f'<main class="lyrics-v3"><section class="verse">{paragraphs}</section></main></body></html>'
    return head + ('<div id="lyrics-root"><div data-lyrics-container="true" class="Lyrics__Container-sc-1ynbvzw-1">'
                   '<div class="LyricsHeader__Container-sc-5e4b7146-1">3 Contributors</div>'
                   f"{body}</div></div></body></html>")


def genius_routes(songs):
    present = [s for s in songs if s["on_genius"]]

    def search(query):
        q = query.get("q", "").lower()
        hits = []
        for song in present:
            if song["title"].lower() in q:
                if song["genius_cover_first"]:
                    hits.append(_hit(song, artist="Tribute Ensemble"))
                hits.append(_hit(song))
        return 200, {}, json.dumps({"meta": {"status": 200}, "response": {"hits": hits}})

    routes = {"/search": search}
    for song in present:
        for artist in (song["artist"], "Tribute Ensemble"):
            def page(query, song=song):
                layout = query.get("_layout", "normal")
                return 200, {"Content-Type": "text/html; charset=utf-8"}, lyrics_page(song, layout)
            routes[genius_page_path({**song, "artist": artist})] = page
    return routes


# ------------------------------------------------------------------- LRCLIB
def lrclib_routes(songs):
    present = {(s["artist"].lower(), s["title"].lower()): s for s in songs if s["on_lrclib"]}

    def record(song):
        plain = "\n".join(line for line in song["lyrics"].split("\n") if not line.startswith("["))
        return {"id": song["genius_id"], "trackName": song["title"], "artistName": song["artist"],
                "albumName": song["album"], "duration": 201.0, "instrumental": False, "plainLyrics": plain,
                "syncedLyrics": None}

    def get(query):
        song = present.get((query.get("artist_name", "").lower(), query.get("track_name", "").lower()))
        if song is None:
            return 404, {}, json.dumps({"code": 404, "name": "TrackNotFound",
                                        "message": "Failed to find specified track"})
        return 200, {}, json.dumps(record(song))

    def search(query):
        q = query.get("track_name", "").lower()
        return 200, {}, json.dumps([record(s) for s in present.values() if q in s["title"].lower()])

    return {"/api/get": get, "/api/search": search}


# ------------------------------------------------------------------- WASABI
WASABI_COLUMNS = ["_id", "title", "artist", "albumTitle", "language_detect", "urlSpotify", "urlLastFm",
                  "id_song_musicbrainz", "publicationDate"]


def write_wasabi_csv(path, songs):
    """A WASABI-style songs CSV (tab separated) of the catalogue plus rows the ingestion must drop."""
    import csv

    def row(song, **over):
        out = {"_id": song["song_id"], "title": song["title"], "artist": song["artist"], "albumTitle": song["album"],
               "language_detect": "english", "urlSpotify": f"https://open.spotify.com/track/{song['spotify_id']}",
               "urlLastFm": f"http://www.last.fm/music/{song['artist'].replace(' ', '+')}/_/"
                            f"{song['title'].replace(' ', '+')}",
               "id_song_musicbrainz": song["mbid"] or "", "publicationDate": "2001"}
        out.update(over)
        return out

    rows = [row(s) for s in songs]
    rows.append(row(songs[0], _id="x-dup", albumTitle="Greatest Hits"))  # same song on another album
    rows.append(row(songs[1], _id="x-fr", title="Chanson Perdue", language_detect="french"))
    rows.append(row(songs[2], _id="x-nospotify", title="Unlinked Song", urlSpotify=""))
    rows.append(row(songs[3], _id="x-nolastfm", title="Unlisted Song", urlLastFm=""))
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=WASABI_COLUMNS, delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    return path
