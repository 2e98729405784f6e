"""Genius lyrics through lyricsgenius: API search, fuzzy acceptance of a hit, lyrics page scraping.

The API's ``GET /search?q=`` answers ``{"meta": {"status": 200}, "response": {"hits": [...]}}``;
each hit's ``result`` has ``id``, ``title``, ``primary_artist.name`` and ``url`` (the lyrics
page on genius.com).  lyricsgenius reads the lyrics from the page's ``data-lyrics-container``
divs (or the state embedded in the page).  We accept a hit only when its normalised title and
artist pass :func:`musemood.sources.matching.best_match` (threshold 90 by default), as the study
dropped songs it could not match.

Genius often answers 403 to scripts: :class:`GeniusBlocked` is raised, and the lyrics job goes
on with the next source (LRCLIB by default) for the rest of the run.
"""

from __future__ import annotations

import json
import logging
import time

from .http import (CredentialError, FatalSourceError, MinInterval, SourceError, backoff_delay, credential,
                   redact_logs, session)
from .matching import DEFAULT_THRESHOLD, best_match, check_threshold

logger = logging.getLogger(__name__)

API_URL = "https://api.genius.com/"
WEB_URL = "https://genius.com/"


class GeniusBlocked(FatalSourceError):
    """Genius refused the request (403): it blocks many scripts; use another lyrics source."""


class GeniusClient:
    """Lyrics from Genius.

    Parameters
    ----------
    access_token : str, optional
        A Genius API client access token; else ``GENIUS_ACCESS_TOKEN``.
    threshold : float, default=90
        The fuzzy match (0-100) a search hit's title and artist must reach.
    api_url, web_url : str
        Genius's API and web roots (point them at a local fake in tests).
    timeout : float, default=10
        Seconds per request; timed-out requests are retried.
    min_interval : float, default=0.5
        Seconds between requests.
    retries, backoff : int, float
        Retries of 429 (Retry-After honoured), 5xx, timeouts and malformed JSON.
    max_retry_after : float, optional
        The longest ``Retry-After`` waited for, in seconds (default ``MUSEMOOD_MAX_RETRY_AFTER``
        or 120); a longer one is logged and cut to this.
    """

    service = "genius"

    def __init__(self, access_token=None, *, threshold=DEFAULT_THRESHOLD, api_url=API_URL, web_url=WEB_URL,
                 timeout=10.0, min_interval=0.5, retries=5, backoff=0.5, max_retry_after=None):
        import lyricsgenius

        token = credential(access_token, "GENIUS_ACCESS_TOKEN", "The Genius lyrics source")
        redact_logs(["lyricsgenius", "lyricsgenius.genius", "urllib3.connectionpool"], [token])
        self.threshold, self.retries, self.backoff = check_threshold(threshold), retries, backoff
        self._interval = MinInterval(min_interval)
        self.genius = lyricsgenius.Genius(token, timeout=timeout, sleep_time=0, retries=0,
                                          remove_section_headers=False, skip_non_songs=True)
        self.genius.API_ROOT = api_url.rstrip("/") + "/"
        self.genius.WEB_ROOT = web_url.rstrip("/") + "/"
        # our retries and User-Agent
        self.genius._session = session("Genius", retries=retries, backoff=backoff, retry_after_cap=max_retry_after)
        self.genius._session.hooks["response"].append(_check_status)

    def search(self, title, artist):
        """``(hits, body)``: hits as dicts with ``id``, ``title``, ``artist`` and ``url``."""
        response = self._call(lambda: self.genius.search_songs(f"{title} {artist}", per_page=5), "search")
        hits = []
        for hit in (response or {}).get("hits", []):
            result = hit.get("result") or {}
            if hit.get("type", "song") != "song" or not result.get("url"):
                continue
            hits.append({"id": result.get("id"), "title": result.get("title", ""),
                         "artist": (result.get("primary_artist") or {}).get("name", ""), "url": result["url"]})
        return hits, json.dumps({"hits": hits})

    def lyrics(self, title, artist):
        """``(lyrics or None, info, responses)`` for the best matching hit.

        ``info`` says what happened: ``{"hit": ...}`` or ``{"reason": ...}``; ``responses`` are
        ``(service, key, status, body)`` tuples for the scrape store.
        """
        hits, body = self.search(title, artist)
        responses = [(self.service, f"search:{artist}|{title}", 200, body)]
        hit, score = best_match(title, artist, hits, threshold=self.threshold)
        if hit is None:
            return None, {"reason": f"no Genius hit matches the title and artist (best {score:.0f} < "
                                    f"{self.threshold:g})"}, responses
        text = self._call(lambda: self.genius.lyrics(song_url=hit["url"]), "lyrics page")
        responses.append((self.service, hit["url"], 200, json.dumps({"lyrics": text})))
        if text is None:
            return None, {"hit": hit, "reason": "Genius lyrics page layout not recognised (update lyricsgenius)"}, \
                responses
        return text, {"hit": hit}, responses

    def _call(self, fetch, what):
        """Run a lyricsgenius call; HTTP retries happen in the session, malformed JSON is retried here."""
        import requests

        for attempt in range(self.retries + 1):
            self._interval.wait()
            try:
                return fetch()
            except SourceError:
                raise
            except ValueError:  # requests' JSONDecodeError: a malformed body
                if attempt == self.retries:
                    raise SourceError(f"Genius {what}: malformed JSON after {self.retries} retries") from None
            except requests.RequestException as exc:
                raise SourceError(f"Genius {what}: no answer after retries ({type(exc).__name__}); "
                                  "try again later") from None
            wait = backoff_delay(attempt, self.backoff, 60.0)
            logger.info("Genius %s: malformed JSON; retrying in %.1f s", what, wait)
            time.sleep(wait)
        raise AssertionError("unreachable")


def _check_status(response, *args, **kwargs):
    """A requests response hook: lyricsgenius does not check statuses itself."""
    status = response.status_code
    if status == 401:
        raise CredentialError("Genius answered 401: GENIUS_ACCESS_TOKEN is not a valid client access token "
                               "(make one at https://genius.com/api-clients)")
    if status == 403:
        raise GeniusBlocked("Genius answered 403 Forbidden (it blocks many scripts and cloud addresses); "
                            "lyrics will come from the next source (LRCLIB by default)")
    if status >= 400 and status != 404:
        raise SourceError(f"HTTP {status} from {response.url.split('?')[0]}")
    return response
