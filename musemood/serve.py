"""musemood over HTTP: mood predictions, recommendations, song search and the song map.

``create_app(recommender, model)`` builds a FastAPI application around loaded parts;
``musemood serve`` loads them once (by default the demo ones under ``$MUSEMOOD_HOME``) and runs
it with uvicorn.  Every input is validated by pydantic with limits (text length, batch size,
``top_k``); a bad request gets a 4xx whose body says what to fix, never a 500.  An unknown title
is a 404 carrying the closest titles, an ambiguous one a 409 listing the artists.  Endpoints are
plain ``def`` functions run in the app's pool of threads (:func:`create_app`): the recommender and
the models are safe to share between threads (see docs/reliability.md).

Access logs are one JSON object per request (method, path, status, milliseconds), written to
the ``musemood.access`` logger; request bodies and query strings are never logged.

The map page itself (its HTML, script and data, and the self-contained file) is :mod:`musemood.web`;
running several worker processes is ``musemood._workers``.  Their public names are importable from
here too.

Needs the ``serve`` extra: ``pip install "musemood[serve]"``.
"""


import functools
import json
import logging
import math
import os
import time

import numpy as np

from . import schema
from ._version import __version__
from ._workers import run_workers, spreads_connections  # noqa: F401 (several workers: musemood._workers)
from .web import SCATTER_BUNDLE, _plain, _records, _scatter_js, map_page_html, map_page_json
from .web import MAP_COLUMNS, map_frame, map_page, write_map_html  # noqa: F401 (the map page: musemood.web)

logger = logging.getLogger(__name__)
access_log = logging.getLogger("musemood.access")

MAX_TEXT = 20_000
"""Longest text accepted, in characters (a long song's lyrics are about 5,000)."""
MAX_BATCH = 64
"""Most texts in one ``POST /predict``."""
MAX_TOP_K = 100
"""Most songs one ``/recommend`` or ``/songs`` answers."""
MAX_SONGS = 100
"""Most songs one ``POST /recommend`` continues (``songs``)."""
MAX_MAP_PAGE = 50_000
"""Most map points one ``GET /map`` page holds."""


def _require():
    try:
        import fastapi  # noqa: F401
        import pydantic  # noqa: F401
    except ImportError:
        raise ImportError("musemood serve needs FastAPI and uvicorn: pip install \"musemood[serve]\"") from None


#: What each error status of the API means, for its OpenAPI spec (the body is always ``ErrorBody``).
ERRORS = {
    404: "No catalogue song has that title (or not by that artist): `suggestions` holds the closest ones.",
    409: "Several artists sang that title: `artists` lists them; ask again with the artist.",
    422: "The request is not valid: `detail` says what to fix; for a malformed request, `errors` says where "
         "(a parameter or a field of the body).",
    503: "The part this endpoint needs is not loaded: start the server with --recommender or --model.",
}


def _schemas():
    """The request models and the error body (built on first use, so importing musemood never needs pydantic)."""
    from typing import Annotated

    from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator, model_validator

    class PredictRequest(BaseModel):
        """Texts to score, with their audio features when the model uses them (missing ones are imputed)."""

        model_config = ConfigDict(extra="forbid")
        texts: list[str] = Field(min_length=1, max_length=MAX_BATCH,
                                 description=f"1 to {MAX_BATCH} texts (lyrics), each at most {MAX_TEXT:,} characters",
                                 json_schema_extra={"items": {  # what _short checks, with its own messages
                                     "type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": r"\S"}})
        audio: list[dict[str, Annotated[float, Strict()] | None]] | None = Field(  # no true, no "0.5": numbers
            default=None, description="one mapping of audio features per text (e.g. {\"valence\": 0.8}), optional",
            json_schema_extra=_audio_items)

        @field_validator("texts")
        @classmethod
        def _short(cls, texts):
            for i, text in enumerate(texts):
                if len(text) > MAX_TEXT:
                    raise ValueError(f"texts[{i}] has {len(text):,} characters; the limit is {MAX_TEXT:,}")
                if not text.strip():  # a mood made up from no words
                    raise ValueError(f"texts[{i}] is empty: give the lyrics to predict")
            return texts

        @field_validator("audio")
        @classmethod
        def _features(cls, audio):
            for i, features in enumerate(audio or []):
                unknown = set(features) - set(schema.AUDIO_FEATURES)
                if unknown:
                    raise ValueError(f"audio[{i}] has unknown features {sorted(unknown)}; the features are "
                                     f"{list(schema.AUDIO_FEATURES)}")
                bad = [k for k, v in features.items() if v is not None and not math.isfinite(v)]
                if bad:
                    raise ValueError(f"audio[{i}] holds non-finite values for {bad}; leave a feature out when "
                                     "it is unknown")
            return audio

        @model_validator(mode="after")
        def _same_length(self):
            if self.audio is not None and len(self.audio) != len(self.texts):
                raise ValueError(f"give one audio mapping per text: {len(self.texts)} texts, {len(self.audio)} "
                                 "audio mappings")
            return self

    class Song(BaseModel):
        """A catalogue song: its title, and its artist when several songs share the title."""

        model_config = ConfigDict(extra="forbid")
        title: str = Field(min_length=1, max_length=500)
        artist: str | None = Field(default=None, max_length=500)

    class RecommendRequest(BaseModel):
        """Songs like a description (free text), or like several catalogue songs (a playlist to continue)."""

        model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": [  # what _one_query checks
            {"required": ["text"], "properties": {"text": {"type": "string"}}},
            {"required": ["songs"], "properties": {"songs": {"type": "array"}}}]})
        text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT,
                                 description="what the songs should be about")
        songs: list[Annotated[str, Field(min_length=1, max_length=500)] | Song] | None = Field(
            default=None, min_length=1, max_length=MAX_SONGS,
            description=f"instead of text: 1 to {MAX_SONGS} catalogue songs, each a title or {{\"title\": ..., "
                        "\"artist\": ...}; the answer leaves them out")
        top_k: Annotated[int, Strict()] = Field(default=10, ge=1, le=MAX_TOP_K)  # not true, not "5"
        mood: str | None = Field(default=None, max_length=100)
        method: str = Field(default="rerank", pattern="^(rerank|lexical|embedding)$")

        @model_validator(mode="after")
        def _one_query(self):
            if (self.text is None) == (self.songs is None):
                raise ValueError("give text (a description) or songs (titles, or {\"title\", \"artist\"} objects), "
                                 f"not {'both' if self.text is not None else 'neither'}")
            return self

        def song_pairs(self):
            """``songs`` as ``(title, artist)`` pairs (``None`` for a description)."""
            return None if self.songs is None else [
                (song, None) if isinstance(song, str) else (song.title, song.artist) for song in self.songs]

    class Problem(BaseModel):
        """One thing wrong with a malformed request."""

        where: str = Field(description="the parameter or field, e.g. query.top_k or body.texts")
        problem: str

    class ErrorBody(BaseModel):
        """Every error's body: what is wrong and what to do, in words."""

        detail: str = Field(description="what is wrong and what to do")
        errors: list[Problem] | None = Field(default=None, description="a malformed request: each problem")
        suggestions: list[str] | None = Field(default=None, description="404: the closest titles")
        artists: list[str] | None = Field(default=None, description="409: the artists who sang the title")

    return PredictRequest, RecommendRequest, ErrorBody


def _audio_items(field):
    """The spec of ``audio``'s mappings: the named features only, each a number or null (what
    ``PredictRequest._features`` checks, with its own messages)."""
    for branch in field.get("anyOf", [field]):
        if branch.get("type") == "array":
            branch["items"] = {"type": "object", "additionalProperties": False, "properties": {
                name: {"anyOf": [{"type": "number"}, {"type": "null"}]} for name in schema.AUDIO_FEATURES}}


def _answers():
    """The models of the answers, for the OpenAPI spec only: the endpoints write their JSON themselves (a
    model's validation would cost more than the recommendation), and the tests check the answers
    against these models."""
    from pydantic import BaseModel, Field

    class Health(BaseModel):
        status: str = Field(description='"ok" while the server takes requests')
        songs: int | None = Field(description="songs in the recommender's catalogue (null: none loaded)")
        model: str | None = Field(description="the mood model's class (null: none loaded)")

    class Prediction(BaseModel):
        label: str | None = Field(default=None, description="the most probable mood (classification)")
        probabilities: dict[str, float] | None = Field(default=None, description="each mood's probability")
        value: float | None = Field(default=None, description="the predicted value (regression)")

    class Predictions(BaseModel):
        model: str
        objective: str = Field(description='"classification" or "regression"')
        classes: list[str] | None = Field(default=None, description="the moods (classification)")
        predictions: list[Prediction] = Field(description="one per text, in the order of the texts")

    class SongName(BaseModel):
        title: str | None
        artist: str | None

    class Query(BaseModel):
        title: str | None = Field(description="the catalogue song asked for (null for a description)")
        artist: str | None
        mood: str | None = Field(description="the query song's mood, or the songs' when they share one")
        cluster: int | None = Field(description="its cluster (-1: none)")
        text: str | None = Field(description="the description asked for")
        note: str | None = Field(description="what to know about the answer (fewer songs than asked, and why)")
        songs: list[SongName] | None = Field(default=None, description="the songs asked for (POST with songs)")
        keywords: list[str] = Field(description="the query's keywords, at most 20")

    class Recommendation(BaseModel):
        rank: int
        title: str | None
        artist: str | None
        mood: str | None
        cluster: int
        score: float = Field(description="what the songs are ranked by (the method's score)")
        similarity: float | None = Field(description="cosine similarity of the song vectors")
        lexical: float | None = Field(description="keyword (TF-IDF or BM25) similarity")
        shared_keywords: list[str]
        why: str = Field(description="the reasons, in words")

    class Recommendations(BaseModel):
        query: Query
        results: list[Recommendation] = Field(description="best first")

    class SongMatch(BaseModel):
        row: int = Field(description="the song's row in the catalogue")
        title: str | None
        artist: str | None
        score: float = Field(description="how well it matches q, 0-100")

    class SongMatches(BaseModel):
        results: list[SongMatch] = Field(description="best first")

    class MapPoints(BaseModel):
        row: list[int]
        x: list[float]
        y: list[float]
        cluster: list[int]
        mood: list[str | None]
        title: list[str | None]
        artist: list[str | None]

    class MapPage(BaseModel):
        total: int = Field(description="the map's points (its plotted sample of the songs)")
        songs: int = Field(description="the catalogue's songs")
        offset: int
        limit: int
        points: MapPoints = Field(description="the page's points, a list per column: point i at index i of each")
        clusters: list[dict] = Field(description="each cluster: its songs, share, top words, mood mix and where "
                                                 "to label it (x, y)")

    return {"health": Health, "versions": dict[str, str | None], "predict": Predictions,
            "recommend": Recommendations, "songs": SongMatches, "map": MapPage}


def _errors(ErrorBody, *statuses):
    """The ``responses`` of a route that may answer ``statuses``, for its OpenAPI spec."""
    return {status: {"model": ErrorBody, "description": ERRORS[status]} for status in statuses}


def _responses(answers, name, *statuses, ErrorBody):
    """The ``responses`` of a route: its answer's model (200) and its errors."""
    return {200: {"model": answers[name], "description": "Successful Response"}, **_errors(ErrorBody, *statuses)}


#: What a query parameter a route does not take was probably meant for.
_PARAMETER_HINTS = {("GET", "/recommend", "text"): 'a description goes in POST /recommend: {"text": ...}'}


def _check_query_parameters(request):
    """Refuse a query parameter the route does not take (``topk=5`` for ``top_k``), as the request
    bodies refuse unknown fields: ignored, it would give another answer than the one asked for
    without a word (``POST /recommend?top_k=3`` with a JSON body).  Routes that take neither query
    parameters nor a body (the page, ``/health``) are not checked."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or not (dependant.query_params or dependant.body_params):
        return
    names = [p.alias for p in dependant.query_params]
    unknown = [name for name in request.query_params if name not in names]
    if unknown:
        from fastapi.exceptions import RequestValidationError

        where = f"{request.method} {route.path}"
        hints = [_PARAMETER_HINTS[request.method, route.path, n] for n in unknown
                 if (request.method, route.path, n) in _PARAMETER_HINTS]
        takes = f"takes {', '.join(names)}" if names else "takes its parameters in the JSON body"
        problem = (f"unknown query parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                   f"({where} {takes})" + "".join(f"; {hint}" for hint in hints))
        raise RequestValidationError([{"loc": ("query", unknown[0]), "msg": problem, "type": "extra_forbidden"}])


def default_threads(workers=1):
    """Threads per worker process when none are asked for: the cores this process may run on
    shared among the workers, at least one (see :func:`create_app`)."""
    if hasattr(os, "sched_getaffinity"):  # Linux: the cores this process is allowed, not the machine's
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, int(workers)))


def create_app(recommender=None, model=None, *, threads=None):
    """The FastAPI application serving ``recommender`` (a fitted :class:`Recommender`) and ``model``
    (a fitted musemood classifier).  Either may be ``None``: its endpoints then answer 503.

    ``threads``: how many requests run at once in this process (``None``: 40, FastAPI's default
    thread pool).  The endpoints run in the app's own pool of that many threads; requests beyond it
    wait in the pool's queue, first come first served, and a thread that finishes takes the next one
    at once, without waiting for the event loop to hand it over (at 1M songs, 15-19% more requests a
    second than FastAPI's pool with a cap on it; docs/benchmarks.md).
    The work is CPU-bound and much of it holds Python's GIL, so threads beyond the cores only
    interleave requests: on 2 cores, 32 clients of ``/recommend`` at 1M songs got a quarter more
    answers a second and a quarter (one worker) to a half (two) lower p99 with
    :func:`default_threads` than with 40.  ``/health`` runs on the event loop and never waits.
    """
    _require()
    from contextlib import asynccontextmanager

    from fastapi import Depends, FastAPI, Request

    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a whole number of at least 1, got {threads!r}")
    _check_parts(recommender, model)

    @asynccontextmanager
    async def lifespan(app):
        try:
            yield
        finally:  # the server has stopped taking requests: end the threads (a running request finishes)
            pool, app.state.pool = app.state.pool, None
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)

    PredictRequest, RecommendRequest, ErrorBody = _schemas()

    async def known_query_parameters(request: Request):  # on the event loop: no thread for it
        _check_query_parameters(request)

    app = FastAPI(title="musemood", version=__version__, lifespan=lifespan,
                  description="Song moods from lyrics and audio, and songs that feel alike.",
                  dependencies=[Depends(known_query_parameters)])
    app.state.recommender, app.state.model, app.state.threads, app.state.pool = recommender, model, threads, None
    app.add_middleware(AccessLog)
    _add_error_handlers(app)
    answers = _answers()
    responses = functools.partial(_responses, answers, ErrorBody=ErrorBody)
    _add_status_routes(app, responses)
    _add_predict_routes(app, PredictRequest, responses)
    _add_recommend_routes(app, RecommendRequest, responses)
    _add_map_routes(app, responses)
    return app


def _check_parts(recommender, model):
    """Refuse, before any request, parts the endpoints could not use: a path (the parts are loaded first,
    :func:`load_parts`), a recommender not fitted, a model without ``predict``."""
    import os

    from .recommender import Recommender

    for name, part in (("recommender", recommender), ("model", model)):
        if isinstance(part, (str, os.PathLike)):
            raise TypeError(f"create_app takes a loaded {name}, not the path {str(part)!r}: load it first, "
                            "rec, model = musemood.serve.load_parts(recommender_path, model_path)")
    if recommender is not None and not (isinstance(recommender, Recommender) and hasattr(recommender, "retriever_")):
        got = "an unfitted Recommender" if isinstance(recommender, Recommender) else type(recommender).__name__
        raise TypeError(f"recommender must be a fitted musemood Recommender (Recommender.load(path), or .fit), "
                        f"got {got}")
    if model is not None and not any(callable(getattr(model, name, None)) for name in ("predict", "predict_proba")):
        raise TypeError(f"model must be a fitted musemood model (musemood.classifiers.load_model(path)), got "
                        f"{type(model).__name__}")


def _loaded_recommender(app):
    if app.state.recommender is None:
        raise _Unavailable("no recommender is loaded: start the server with --recommender PATH")
    return app.state.recommender


def _add_status_routes(app, responses):
    """``GET /health`` and ``GET /version``."""
    in_threads = functools.partial(_in_threads, app)

    @app.get("/health", summary="Is the server up, and what does it serve?",
             responses=responses("health"))
    async def health():  # on the event loop: a health check never queues behind the work
        rec, model = app.state.recommender, app.state.model
        return {"status": "ok", "songs": None if rec is None else len(rec.catalogue_),
                "model": None if model is None else type(model).__name__}

    @app.get("/version", summary="Versions of musemood and the libraries behind the numbers",
             responses=responses("versions"))
    @in_threads
    def version():
        from .persistence import versions

        return versions()


def _add_predict_routes(app, PredictRequest, responses):
    """``POST /predict``."""
    from fastapi import Body

    in_threads = functools.partial(_in_threads, app)

    @app.post("/predict", summary="The mood of one or many texts", responses=responses("predict", 422, 503))
    @in_threads
    def predict(request: PredictRequest = Body(...)):  # noqa: B008 (FastAPI's way)
        import pandas as pd

        model = app.state.model
        if model is None:
            raise _Unavailable("no mood model is loaded: start the server with --model PATH (a folder saved by "
                               "`musemood train`)")
        frame = list(request.texts)  # texts alone: a model with audio takes its training medians
        if request.audio is not None:
            audio = pd.DataFrame(request.audio, columns=list(schema.AUDIO_FEATURES), dtype=float)
            frame = pd.concat([pd.DataFrame({model.text_column: request.texts}), audio], axis=1)
        if model.objective == "regression":
            values = model.predict(frame)
            return {"model": type(model).__name__, "objective": "regression",
                    "predictions": [{"value": float(v)} for v in values]}
        probabilities = model.predict_proba(frame)
        classes = [str(c) for c in model.classes_]
        return {"model": type(model).__name__, "objective": "classification", "classes": classes,
                "predictions": [{"label": classes[int(np.argmax(p))],
                                 "probabilities": {c: float(v) for c, v in zip(classes, p)}} for p in probabilities]}


def _add_recommend_routes(app, RecommendRequest, responses):
    """``GET /recommend`` (a catalogue song), ``POST /recommend`` (free text) and ``GET /songs``."""
    from fastapi import Body, Query

    from .catalogue import NOTE_SHOWN

    in_threads = functools.partial(_in_threads, app)

    @app.get("/recommend", summary="Songs that feel like a song of the catalogue",
             responses=responses("recommend", 404, 409, 422, 503))
    @in_threads
    def recommend(title: str = Query(..., min_length=1, max_length=500),
                  artist: str | None = Query(None, max_length=500),
                  top_k: int = Query(10, ge=1, le=MAX_TOP_K),
                  mood: str | None = Query(None, max_length=100),
                  method: str = Query("rerank", pattern="^(rerank|lexical|embedding)$")):
        NOTE_SHOWN.set(True)  # in this request's context: the answer's note says it, the log does not
        result = _loaded_recommender(app).recommend(title, top_k, artist=artist, mood=mood, method=method,
                                                    as_frame=False)
        return _recommendations(result)

    @app.post("/recommend", summary="Songs that fit a description (free text) or feel like several songs",
              responses=responses("recommend", 404, 409, 422, 503))
    @in_threads
    def recommend_text(request: RecommendRequest = Body(...)):  # noqa: B008
        NOTE_SHOWN.set(True)
        result = _loaded_recommender(app).recommend(text=request.text, songs=request.song_pairs(), top_k=request.top_k,
                                                    mood=request.mood, method=request.method, as_frame=False)
        return _recommendations(result)

    @app.get("/songs", summary="Catalogue songs whose title or artist is closest to q (autocomplete)",
             responses=responses("songs", 422, 503))
    @in_threads
    def songs(q: str = Query(..., max_length=200), top_k: int = Query(10, ge=1, le=MAX_TOP_K)):
        found = _loaded_recommender(app).catalogue_.search(q, top_k)
        return {"results": _records(found)}


def _add_map_routes(app, responses):
    """The map page at ``/``, its script, and ``GET /map`` (its data, a page at a time)."""
    from fastapi import Query

    in_threads = functools.partial(_in_threads, app)

    @app.get("/", include_in_schema=False)
    @in_threads
    def page():
        from fastapi.responses import HTMLResponse

        return HTMLResponse(map_page_html({"api": True}, script_src=f"static/{SCATTER_BUNDLE}"))

    @app.get(f"/static/{SCATTER_BUNDLE}", include_in_schema=False)
    @in_threads
    def scatter_js():
        from fastapi.responses import Response

        return Response(_scatter_js(), media_type="application/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/map", summary="The song map's points, a page at a time, and its clusters",
             responses=responses("map", 422, 503))
    @in_threads
    def song_map(offset: int = Query(0, ge=0), limit: int = Query(5_000, ge=1, le=MAX_MAP_PAGE)):
        rec = _loaded_recommender(app)
        if rec.map_ is None:
            raise _Unavailable("this recommender has no song map (it was fitted with song_map=None)")
        from fastapi.responses import Response

        return Response(map_page_json(rec, offset, limit), media_type="application/json")


def _in_threads(app, function):
    """The plain ``def`` endpoint ``function`` as an ``async`` one that runs it in ``app``'s pool of
    threads (made on first use; see :func:`create_app`), with the request's context variables."""
    import asyncio
    import contextvars

    @functools.wraps(function)  # FastAPI reads the parameters of the function wrapped
    async def endpoint(*args, **kwargs):
        if app.state.pool is None:
            from concurrent.futures import ThreadPoolExecutor

            app.state.pool = ThreadPoolExecutor(app.state.threads or 40, thread_name_prefix="musemood-serve")
        call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(app.state.pool, call)

    return endpoint


class _Unavailable(RuntimeError):
    """A part the endpoint needs is not loaded (503)."""


def _add_error_handlers(app):
    """4xx answers whose JSON body says what to fix (and 503 for a part that is not loaded)."""
    from fastapi.exception_handlers import http_exception_handler
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from .catalogue import AmbiguousTitleError, SongNotFoundError

    def error(status, message, **extra):
        return JSONResponse(status_code=status, content={"detail": message, **extra})

    @app.exception_handler(SongNotFoundError)
    async def _not_found(request, exc):
        return error(404, str(exc), suggestions=exc.suggestions)

    @app.exception_handler(AmbiguousTitleError)
    async def _ambiguous(request, exc):
        return error(409, str(exc), artists=exc.artists)

    @app.exception_handler(ValueError)
    async def _bad_value(request, exc):  # the library's own checks (unknown mood, no known word...)
        return error(422, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc):
        errors = [_problem(e, request) for e in exc.errors()]
        summary = "; ".join(f"{e['where']}: {e['problem']}" for e in errors)
        return error(422, f"invalid request: {summary}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request, exc):  # FastAPI's own: a body it could not decode; an unknown path or method
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            return error(422, "invalid request: the body is not JSON text in UTF-8: send it encoded as UTF-8 (with "
                              "Content-Type: application/json)", errors=[
                                  {"where": "body", "problem": "not UTF-8 text"}])
        return await http_exception_handler(request, exc)

    @app.exception_handler(_Unavailable)
    async def _unavailable(request, exc):
        return error(503, str(exc))


def _problem(error, request):
    """One of pydantic's errors as ``{"where", "problem"}``, in words where pydantic's are unclear: a body that
    is not JSON says what the parser found and where; one sent without the JSON content type says so."""
    where, problem = ".".join(str(p) for p in error.get("loc", ())), error.get("msg", "")
    if error.get("type") == "json_invalid":
        at = error["loc"][-1] if len(error.get("loc", ())) > 1 else None
        where = "body"
        problem = (f"the body is not JSON ({error.get('ctx', {}).get('error', 'JSON decode error')}"
                   f"{f' at character {at}' if isinstance(at, int) else ''})")
    elif error.get("loc") == ("body",) and error.get("type") in ("model_attributes_type", "dict_type") and \
            "json" not in request.headers.get("content-type", ""):
        problem = (f"the body must be a JSON object sent with Content-Type: application/json (it came as "
                   f"{request.headers.get('content-type') or 'no content type'})")
    return {"where": where, "problem": problem}


class AccessLog:
    """ASGI middleware: one JSON line per request (method, path, status, ms); never the query or body.

    Plain ASGI rather than Starlette's ``BaseHTTPMiddleware``, which adds a task per request.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), [500]

        async def send_status(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            access_log.info(json.dumps({"method": scope["method"], "path": scope["path"], "status": status[0],
                                        "ms": round(1000 * (time.perf_counter() - started), 2)}))


def _recommendations(result):
    """The JSON response of ``recommend(..., as_frame=False)``: plain values through ``json.dumps``
    (FastAPI's generic encoder walks every value in Python and took longer than the recommendation
    itself; building a DataFrame and ``to_json`` cost 0.9 ms a request at ten songs)."""
    from fastapi.responses import Response

    try:  # the recommender's values are plain already: walking them again cost 0.1 ms a request
        body = json.dumps(result, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):  # a NumPy value or a NaN (null in JSON) somewhere
        body = json.dumps(_plain(result), ensure_ascii=False)
    return Response(body, media_type="application/json")


# ------------------------------------------------------------------ running
def serve_in_thread(app, host="127.0.0.1", port=0, *, timeout=20.0):
    """Run ``app`` with uvicorn in a daemon thread of this process (a notebook, a script, a test).

    ``port=0`` takes a free port.  Returns ``(server, url)``; ``server.should_exit = True`` stops it.
    """
    import socket
    import threading

    import uvicorn

    if not port:
        with socket.socket() as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, access_log=False, log_level="warning"))

    def run():
        try:
            server.run()
        except SystemExit:  # uvicorn exits when it cannot bind; the caller hears of it below
            pass

    thread = threading.Thread(target=run, daemon=True, name=f"musemood-serve-{port}")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the server on {host}:{port} did not start (is the port taken?)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the server on {host}:{port} did not start within {timeout:g} s")
        time.sleep(0.05)
    return server, f"http://{host}:{port}"


def check_address(host, port):
    """Refuse ``(host, port)`` when this process cannot listen there (a port in use, a host name that is
    not this machine's), with a ValueError saying what to change, before minutes of loading."""
    import errno
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise ValueError(f"--host {host!r} is not an address of this machine ({exc.strerror}): use 127.0.0.1, "
                         "0.0.0.0 (every interface) or one of its own names") from None
    with socket.socket(family, kind, proto) as probe:  # without SO_REUSEPORT: a server of ours there counts too
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a port in TIME_WAIT is free
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ValueError(f"port {port} on {host} is in use (another server?): stop it, or choose another "
                                 "--port") from None
            if exc.errno == errno.EADDRNOTAVAIL:
                raise ValueError(f"--host {host!r} is not an address of this machine: use 127.0.0.1, 0.0.0.0 "
                                 "(every interface) or one of its own addresses") from None
            if exc.errno == errno.EACCES:
                raise ValueError(f"port {port} needs root rights (ports below 1024 do): choose a --port above "
                                 "1023, such as 8000, behind a proxy for port 80") from None
            raise ValueError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def load_parts(recommender_path=None, model_path=None, *, mmap=True, reload=False):
    """The recommender (``recommender_path``, else the demo one, built if absent) and the mood model
    (``model_path``, else the recommender's own model when it is a classifier).

    ``mmap`` (the default) maps the recommender's large arrays from its files (``Recommender.load``):
    the workers of one server then share a single copy of them in memory.  ``reload`` reads the
    recommender again even when this process has loaded it before."""
    from .recommender import get_recommender

    rec = get_recommender(recommender_path, mmap=mmap, reload=reload)
    rec.retriever_.warm_up()
    if model_path is not None:
        from .classifiers import load_model

        model = load_model(model_path)
    else:
        candidate = rec.model_  # the demo recommender embeds with tBERT: a mood model too
        model = candidate if hasattr(candidate, "predict_proba") else None
    return rec, model


APP_FACTORY = f"{__name__}:app_from_env"
"""The import string of :func:`app_from_env`, for uvicorn (``--factory``) and for our workers."""


def describe_parts(recommender_path=None, model_path=None, *, mmap=True, quiet=False):
    """:func:`load_parts`, then :func:`describe` of them; ``musemood serve --workers N`` runs it in a
    process of its own."""
    if quiet:
        _quiet_worker()
    return describe(*load_parts(recommender_path, model_path, mmap=mmap))


def describe(rec, model):
    """What a server's banner says of its parts: ``(number of songs, the mood model's class name or
    None)``."""
    return len(rec.catalogue_), type(model).__name__ if model is not None else None


def _quiet_worker():
    """No progress bars in a server's worker processes (their stderr is the server's log), and no
    process-shared lock for them: tqdm's default one is a named semaphore, which the resource
    tracker reported as leaked each time the workers stopped."""
    import threading

    from tqdm import tqdm
    from transformers.utils import logging as hf_logging

    tqdm.set_lock(threading.RLock())
    hf_logging.disable_progress_bar()


def app_from_env():
    """An app built from ``MUSEMOOD_SERVE_RECOMMENDER`` / ``MUSEMOOD_SERVE_MODEL`` and, when set,
    ``MUSEMOOD_SERVE_THREADS`` and ``MUSEMOOD_SERVE_MMAP`` (``0`` reads the arrays into each worker's
    memory instead of mapping them; for uvicorn workers).  What it loads is then kept out of garbage
    collection (:func:`freeze_loaded`)."""
    _quiet_worker()
    mmap = os.environ.get("MUSEMOOD_SERVE_MMAP", "1").strip()
    if mmap not in ("0", "1"):
        raise ValueError(f"MUSEMOOD_SERVE_MMAP must be 0 or 1, got {mmap!r}")
    rec, model = load_parts(os.environ.get("MUSEMOOD_SERVE_RECOMMENDER") or None,
                            os.environ.get("MUSEMOOD_SERVE_MODEL") or None, mmap=mmap == "1")
    threads = os.environ.get("MUSEMOOD_SERVE_THREADS") or None
    if threads is not None:
        try:
            threads = int(threads)
        except ValueError:
            raise ValueError(f"MUSEMOOD_SERVE_THREADS must be a whole number, got {threads!r}") from None
    app = create_app(rec, model, threads=threads)
    freeze_loaded()
    return app


def reload_on_hangup(app, recommender_path=None, model_path=None, *, mmap=True):
    """On SIGHUP, load the parts again in a thread and put them in ``app`` once loaded: a catalogue
    rebuilt and saved over the served folder is taken up without a restart (``musemood serve``; with
    ``--workers N`` the workers are replaced instead, :func:`~musemood._workers.run_workers`).

    Requests keep the parts they started with; new ones get the new parts once they are whole.  Parts
    that fail to load are reported and the old ones kept.  Both are in memory while the new ones load.
    Call it from the main thread; a system without SIGHUP (Windows) has no reload."""
    import gc
    import signal
    import sys
    import threading

    if not hasattr(signal, "SIGHUP"):
        return

    wanted, busy = threading.Event(), threading.Lock()

    def reload():
        while wanted.is_set() and busy.acquire(blocking=False):  # one reload at a time
            try:
                wanted.clear()  # a SIGHUP from now on (the folder saved again meanwhile) loads once more
                started = time.perf_counter()
                try:
                    rec, model = load_parts(recommender_path, model_path, mmap=mmap, reload=True)
                except Exception as exc:  # noqa: BLE001 (any failure: say it, serve on the parts loaded before)
                    print(f"musemood serve: reload failed, still serving the parts loaded before: "
                          f"{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                    continue
                app.state.recommender, app.state.model = rec, model
                gc.unfreeze()  # the old parts were frozen with the rest (freeze_loaded): let them go, freeze the new
                freeze_loaded()
                seconds = time.perf_counter() - started
                print(f"musemood serve: reloaded the parts in {seconds:.0f} s ({len(rec.catalogue_):,} songs)",
                      file=sys.stderr, flush=True)
            finally:
                busy.release()

    def hangup(*_):
        wanted.set()
        threading.Thread(target=reload, name="musemood-reload", daemon=True).start()

    signal.signal(signal.SIGHUP, hangup)


def freeze_loaded():
    """Keep what a server has loaded out of Python's garbage collection (``gc.freeze``).

    Loaded parts live as long as the server, and the collector's full passes walked all of them: at
    1M songs, the catalogue's lists of a million strings made each full pass take 110-120 ms, once
    every 15-20 s of load, stalling every request queued behind it (docs/benchmarks.md).  Frozen
    objects are never collected, which is right for parts kept until exit: call this in a server's
    process once its parts are loaded (:func:`app_from_env` and ``musemood serve`` do), not in a
    process that goes on making and dropping objects."""
    import gc

    gc.collect()
    gc.freeze()
