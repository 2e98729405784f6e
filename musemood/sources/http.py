"""HTTP plumbing shared by the service clients: retries, politeness, credentials.

Retries use urllib3's ``Retry`` (the library requests, spotipy and lyricsgenius sit on):
exponential backoff on connection errors, read timeouts and 429/500/502/503/504 answers,
honouring ``Retry-After``.  :class:`MinInterval` spaces calls to a service and sleeps
only what remains of the interval.  :func:`credential` takes a secret from an argument,
then the environment, else fails naming the variable; secrets are never logged.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time

from .._version import __version__

logger = logging.getLogger(__name__)

USER_AGENT = f"musemood/{__version__} (+https://github.com/musemood/musemood; python-requests)"
RETRY_STATUSES = (429, 500, 502, 503, 504)


class SourceError(RuntimeError):
    """A service answered something we cannot use (after retries): the message says what to do."""


def session(*, retries=5, backoff=0.5, max_backoff=60.0, user_agent=USER_AGENT, methods=("GET",)):
    """A ``requests.Session`` that retries ``methods`` with exponential backoff and honours Retry-After."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(total=retries, connect=retries, read=retries, status=retries, backoff_factor=backoff,
                  backoff_max=max_backoff, status_forcelist=RETRY_STATUSES, allowed_methods=frozenset(methods),
                  respect_retry_after_header=True, raise_on_status=False)
    out = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    out.mount("http://", adapter)
    out.mount("https://", adapter)
    out.headers["User-Agent"] = user_agent
    return out


class MinInterval:
    """At least ``seconds`` between calls (thread-safe); ``wait()`` sleeps only what remains."""

    def __init__(self, seconds, *, clock=time.monotonic, sleep=time.sleep):
        self.seconds = float(seconds)
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self):
        with self._lock:
            now = self._clock()
            if now < self._next:
                self._sleep(self._next - now)
                now = self._next
            self._next = now + self.seconds


def retry_after(value, *, default, now=None):
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); ``default`` if absent."""
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def backoff_delay(attempt, backoff, max_backoff):
    """Exponential backoff: ``backoff * 2**attempt`` seconds, at most ``max_backoff``."""
    return min(max_backoff, backoff * (2 ** attempt))


class FatalSourceError(SourceError):
    """The service refuses us for good (bad key, no access): stop the job, the songs stay pending."""


_AUTH_HEADER = re.compile(r"(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]+")


class _Redact(logging.Filter):
    def __init__(self, secrets):
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record):
        message = record.getMessage()
        clean = _AUTH_HEADER.sub(r"\1 ***", message)
        for secret in self.secrets:
            clean = clean.replace(secret, "***")
        if clean != message:
            record.msg, record.args = clean, ()
        return True


def redact_logs(loggers, secrets=()):
    """Blank ``secrets`` and Authorization header values in the records of ``loggers``.

    spotipy logs request headers (the Basic header carries the client secret) at DEBUG.
    """
    for name in loggers:
        log = logging.getLogger(name)
        existing = next((f for f in log.filters if isinstance(f, _Redact)), None)
        if existing is None:
            log.addFilter(_Redact(secrets))
        else:
            existing.secrets.extend(s for s in secrets if s and s not in existing.secrets)


def credential(value, variable, what):
    """``value`` if given, else the environment variable ``variable``, else a clear error."""
    if value:
        return value
    value = os.environ.get(variable)
    if value:
        return value
    raise ValueError(f"{what} needs {variable}: set that environment variable, or pass the value as an argument")
