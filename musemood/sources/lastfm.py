"""Last.fm crowd tags through pylast: ``track.getTopTags`` by artist + title or MusicBrainz id.

Last.fm answers XML such as::

    <lfm status="ok">
      <toptags artist="..." track="...">
        <tag><name>sad</name><count>100</count><url>https://www.last.fm/tag/sad</url></tag>
        ...
    </lfm>

with counts relative to the track's top tag (= 100), and errors as
``<lfm status="failed"><error code="6">Track not found</error></lfm>``.  Error 6 means the
track is unknown; 29 is the rate limit; 8, 11 and 16 are transient; 10 and 26 mean the API key
is invalid or suspended (fatal: the job stops and the songs stay pending).

pylast always speaks https to ``ws.audioscrobbler.com`` through httpx2.  We hand it our own
transport (:class:`RetryTransport`) that retries 429 (honouring ``Retry-After``), 5xx and
timeouts with exponential backoff and enforces our timeout; tests give that transport an
inner transport that reaches a local fake server, so pylast itself runs unchanged.
"""

from __future__ import annotations

import json
import logging
import time

import httpx2

from .http import (USER_AGENT, CredentialError, MinInterval, RETRY_STATUSES, SourceError, backoff_delay,
                   cap_wait, credential, retry_after, retry_after_limit)

logger = logging.getLogger(__name__)

#: Last.fm's terms: at most 5 requests per second per key.
MIN_INTERVAL = 0.2
NOT_FOUND = {6}
TRANSIENT = {8, 11, 16, 29}
FATAL = {4, 9, 10, 26}


class RetryTransport(httpx2.BaseTransport):
    """An httpx2 transport that retries 429/5xx answers and timeouts with exponential backoff.

    ``Retry-After`` on 429/503 is honoured (at most ``max_retry_after`` seconds).  ``timeout``
    (seconds) replaces the caller's timeouts, so pylast's fixed 20-second read timeout does not
    hold a scrape up.
    """

    def __init__(self, inner=None, *, retries=5, backoff=0.5, max_backoff=60.0, timeout=10.0, sleep=time.sleep,
                 api_url=None, max_retry_after=None):
        self.max_retry_after = retry_after_limit(max_retry_after)
        self.inner = inner if inner is not None else httpx2.HTTPTransport()
        self.api_url = None if api_url is None else httpx2.URL(api_url)
        self.retries, self.backoff, self.max_backoff = retries, backoff, max_backoff
        self.timeout = timeout
        self._sleep = sleep

    def handle_request(self, request):
        request.extensions["timeout"] = dict.fromkeys(("connect", "read", "write", "pool"), self.timeout)
        request.headers["User-Agent"] = USER_AGENT
        if self.api_url is not None:
            request.url = request.url.copy_with(scheme=self.api_url.scheme, host=self.api_url.host,
                                                port=self.api_url.port)
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self.inner.handle_request(request)
            except (httpx2.TimeoutException, httpx2.NetworkError):
                if last:
                    raise
                self._sleep(backoff_delay(attempt, self.backoff, self.max_backoff))
                continue
            if response.status_code not in RETRY_STATUSES or last:
                return response
            wait = cap_wait(retry_after(response.headers.get("Retry-After"),
                                        default=backoff_delay(attempt, self.backoff, self.max_backoff)),
                            self.max_retry_after, "Last.fm")
            response.read()
            response.close()
            logger.info("Last.fm answered HTTP %s; retrying in %.1f s", response.status_code, wait)
            self._sleep(wait)
        raise AssertionError("unreachable")

    def close(self):
        """Kept open: pylast opens and closes an httpx2 client around every request, and those
        clients share this transport's connection pool across threads."""

    def shutdown(self):
        self.inner.close()


class LastfmClient:
    """Top tags of tracks from Last.fm.

    Parameters
    ----------
    api_key : str, optional
        Your Last.fm API key; else ``LASTFM_API_KEY`` from the environment.
    timeout : float, default=10
        Seconds per request before it is retried.
    min_interval : float, default=0.2
        Seconds between requests; Last.fm's terms allow 5 per second.
    retries, backoff, max_backoff : int, float, float
        Retries of 429/5xx/timeouts and of Last.fm's transient error codes (8, 11, 16, 29).
    max_retry_after : float, optional
        The longest ``Retry-After`` waited for, in seconds (default ``MUSEMOOD_MAX_RETRY_AFTER``
        or 120); a longer one is logged and cut to this.
    api_url : str, optional
        Send pylast's requests to this host instead of ``https://ws.audioscrobbler.com``
        (a mirror, a recording proxy, a local fake).
    transport : httpx2.BaseTransport, optional
        Where requests go below pylast (tests pass one that reaches a local fake).

    Examples
    --------
    >>> client = LastfmClient()  # doctest: +SKIP
    >>> tags, body = client.top_tags("Paper Lanterns", "The Quiet Hours")  # doctest: +SKIP
    >>> tags[:2]  # doctest: +SKIP
    [('melancholy', 100), ('sad', 64)]
    """

    service = "lastfm"

    def __init__(self, api_key=None, *, timeout=10.0, min_interval=MIN_INTERVAL, retries=5, backoff=0.5,
                 max_backoff=60.0, api_url=None, transport=None, max_retry_after=None):
        import pylast

        key = credential(api_key, "LASTFM_API_KEY", "The Last.fm client")
        self.retries, self.backoff, self.max_backoff = retries, backoff, max_backoff
        self._interval = MinInterval(min_interval)
        self.transport = RetryTransport(transport, retries=retries, backoff=backoff, max_backoff=max_backoff,
                                        timeout=timeout, api_url=api_url, max_retry_after=max_retry_after)
        self.network = pylast.LastFMNetwork(api_key=key, proxy={"https://": self.transport})

    def top_tags(self, title, artist, *, mbid=None):
        """``(tags, body)``: ``[(tag, count), ...]`` most used first, or ``None`` when Last.fm
        does not know the track; ``body`` is the answer as JSON text, for the scrape store.

        The track is asked by artist + title; when Last.fm does not know that name and a
        MusicBrainz id is given, by the id.
        """
        tags = self._call(lambda: self.network.get_track(artist, title).get_top_tags())
        if tags is None and mbid:
            tags = self._call(lambda: self.network.get_track_by_mbid(mbid).get_top_tags())
        if tags is None:
            return None, json.dumps({"found": False})
        pairs = [(str(item.item.get_name()), _number(item.weight)) for item in tags]
        return pairs, json.dumps({"found": True, "tags": pairs})

    def _call(self, fetch):
        import pylast

        for attempt in range(self.retries + 1):
            self._interval.wait()
            try:
                return fetch()
            except pylast.WSError as exc:
                code = _code(exc)
                if code in NOT_FOUND:
                    return None
                if code in FATAL:
                    raise CredentialError(f"Last.fm refused the API key (error {code}: {exc.details}); "
                                           "check LASTFM_API_KEY at https://www.last.fm/api/accounts") from None
                if code not in TRANSIENT and code not in RETRY_STATUSES:
                    raise SourceError(f"Last.fm error {code}: {exc.details}") from None
                reason = f"Last.fm error {code}"
            except pylast.MalformedResponseError:
                reason = "a malformed answer from Last.fm"
            except pylast.NetworkError as exc:
                reason = f"no answer from Last.fm ({type(exc.underlying_error).__name__})"
            if attempt == self.retries:
                raise SourceError(f"{reason} after {self.retries} retries; try again later")
            wait = backoff_delay(attempt + (2 if reason.endswith("29") else 0), self.backoff, self.max_backoff)
            logger.info("%s; retrying in %.1f s", reason, wait)
            time.sleep(wait)
        raise AssertionError("unreachable")


def _code(exc):
    try:
        return int(exc.status)
    except (TypeError, ValueError):
        return None


def _number(weight):
    """Last.fm counts are strings; integers stay integers."""
    value = float(weight)
    return int(value) if value.is_integer() else value
