"""LRCLIB (https://lrclib.net): a key-less lyrics database, the fallback when Genius blocks scripts.

``GET /api/get?track_name=&artist_name=[&album_name=&duration=]`` answers one record (404 with
``{"code": 404, "name": "TrackNotFound"}`` when there is none); ``GET /api/search`` answers a list
of records.  A record carries ``id``, ``trackName``, ``artistName``, ``albumName``, ``duration``,
``instrumental``, ``plainLyrics`` and ``syncedLyrics``.
"""

from __future__ import annotations

import json
import re
import time

from .http import MinInterval, SourceError, backoff_delay, session
from .matching import DEFAULT_THRESHOLD, best_match, check_threshold

BASE_URL = "https://lrclib.net"


class LrclibClient:
    """Lyrics from LRCLIB.

    Parameters
    ----------
    base_url : str, default="https://lrclib.net"
        Point it at a local fake in tests.
    timeout : float, default=10
        Seconds to wait for an answer (a timed-out request is retried).
    min_interval : float, default=0.2
        Seconds between requests (LRCLIB asks for politeness, not a number).
    retries, backoff : int, float
        Retries of 429/5xx/timeouts with exponential backoff (Retry-After honoured).
    max_retry_after : float, optional
        The longest ``Retry-After`` waited for, in seconds (default ``MUSEMOOD_MAX_RETRY_AFTER``
        or 120); a longer one is logged and cut to this.
    threshold : float, default=90
        Fuzzy title/artist score (0-100) a search hit needs (:func:`~musemood.sources.matching.best_match`).
    """

    service = "lrclib"

    def __init__(self, base_url=BASE_URL, *, timeout=10.0, min_interval=0.2, retries=5, backoff=0.5,
                 threshold=DEFAULT_THRESHOLD, max_retry_after=None):
        self.threshold = check_threshold(threshold)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries, self.backoff = retries, backoff
        self._session = session("LRCLIB", retries=retries, backoff=backoff, retry_after_cap=max_retry_after)
        self._interval = MinInterval(min_interval)

    def lyrics(self, title, artist):
        """``(lyrics or None, info, responses)``: the exact record, else the best fuzzy search hit.

        The lyrics-source interface shared with :class:`~musemood.sources.genius.GeniusClient`:
        ``info`` is ``{"reason": ...}`` when there are none; ``responses`` are ``(service, key,
        status, body)`` tuples for the scrape store.
        """
        record, body = self.get(title, artist)
        responses = [(self.service, f"get:{artist}|{title}", 200 if record else 404, body)]
        if record is None:
            records, body = self.search(title, artist)
            responses.append((self.service, f"search:{artist}|{title}", 200, body))
            record, _ = best_match(title, artist, records, threshold=self.threshold,
                                   key=lambda r: (r.get("trackName", ""), r.get("artistName", "")))
        text = lyrics_of(record)
        return text, ({"reason": "not on LRCLIB"} if text is None else {}), responses

    def get(self, title, artist, *, album=None, duration=None):
        """The record for one track as ``(record or None, raw body)``; ``None`` when LRCLIB has none."""
        params = {"track_name": title, "artist_name": artist}
        if album:
            params["album_name"] = album
        if duration:
            params["duration"] = int(round(float(duration)))
        return self._request("/api/get", params, not_found_ok=True)

    def search(self, title, artist=None):
        """Candidate records as ``(list, raw body)``."""
        params = {"track_name": title}
        if artist:
            params["artist_name"] = artist
        records, body = self._request("/api/search", params)
        if not isinstance(records, list):
            raise SourceError(f"LRCLIB search answered {type(records).__name__}, not a list; has the API changed?")
        return records, body

    def _request(self, path, params, not_found_ok=False):
        import requests

        url = self.base_url + path
        for attempt in range(self.retries + 1):
            self._interval.wait()
            try:
                response = self._session.get(url, params=params, timeout=self.timeout)
            except requests.RequestException as exc:
                raise SourceError(f"LRCLIB did not answer {path} after retries ({type(exc).__name__}); "
                                  "try again later") from None
            if response.status_code == 404 and not_found_ok:
                return None, response.text
            if response.status_code != 200:
                raise SourceError(f"LRCLIB answered HTTP {response.status_code} to {path} after retries")
            try:
                return response.json(), response.text
            except (ValueError, json.JSONDecodeError):
                if attempt == self.retries:
                    raise SourceError(f"LRCLIB answered malformed JSON to {path}: {response.text[:80]!r}") from None
            time.sleep(backoff_delay(attempt, self.backoff, 60.0))
        raise AssertionError("unreachable")


def lyrics_of(record):
    """The plain lyrics of an LRCLIB record ('' for an instrumental, None when it has none).

    A record with synced lyrics alone gives them without their time tags."""
    if record is None:
        return None
    if record.get("instrumental"):
        return ""
    return record.get("plainLyrics") or _unsynced(record.get("syncedLyrics")) or None


_TIME_TAG = re.compile(r"\[\d+:\d+(?:[.:]\d+)?\]")
_ID_TAG = re.compile(r"^\s*\[[a-z#]+:[^\]]*\]\s*$", re.IGNORECASE)  # [ar:...], [length:...], [offset:...]


def _unsynced(lrc):
    """The text of LRC lyrics: "[00:17.12] I feel your breath" lines without their time tags, and the
    ID tags ([ar:], [ti:], [length:] ...) dropped."""
    if not isinstance(lrc, str):
        return None
    lines = [_TIME_TAG.sub("", line).strip() for line in lrc.splitlines() if not _ID_TAG.match(line)]
    return "\n".join(lines).strip()
