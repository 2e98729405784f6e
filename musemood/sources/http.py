"""HTTP plumbing shared by the service clients: retries, politeness, credentials.

Retries use urllib3's ``Retry`` (the library requests, spotipy and lyricsgenius sit on):
exponential backoff on connection errors, read timeouts and 429/500/502/503/504 answers,
honouring ``Retry-After`` up to ``max_retry_after`` seconds (a server asking for longer is
reported and waited for only that long).  :class:`MinInterval` spaces calls to a service and sleeps
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
MAX_RETRY_AFTER = 120.0
"""The longest ``Retry-After`` honoured, in seconds (``MUSEMOOD_MAX_RETRY_AFTER`` overrides)."""


class SourceError(RuntimeError):
    """A service answered something we cannot use (after retries): the message says what to do."""


def retry_after_limit(value=None):
    """``value``, else ``MUSEMOOD_MAX_RETRY_AFTER`` from the environment, else :data:`MAX_RETRY_AFTER`."""
    if value is None:
        value = os.environ.get("MUSEMOOD_MAX_RETRY_AFTER") or MAX_RETRY_AFTER
    try:
        value = float(value)
    except ValueError:
        raise ValueError(f"MUSEMOOD_MAX_RETRY_AFTER must be a number of seconds, got {value!r}") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"the longest Retry-After to honour must be a finite number of seconds >= 0, got {value!r}")
    return value


def cap_wait(seconds, cap, service):
    """``seconds`` from a ``Retry-After``, at most ``cap``; a longer request is logged as a warning."""
    if seconds > cap:
        logger.warning("%s asked to wait %.0f s before retrying (Retry-After); waiting %.0f s instead "
                       "(max_retry_after; songs it cannot answer stay pending for a later run)", service, seconds, cap)
        return cap
    return seconds


def _capped_retry_class():
    from urllib3.util.retry import Retry

    class CappedRetry(Retry):
        """urllib3's ``Retry`` whose wait for a ``Retry-After`` is at most ``max_retry_after`` seconds."""

        max_retry_after = MAX_RETRY_AFTER
        service = "the server"

        def new(self, **kw):
            out = super().new(**kw)
            out.max_retry_after, out.service = self.max_retry_after, self.service
            return out

        def get_retry_after(self, response):
            seconds = retry_after(response.headers.get("Retry-After"), default=None)
            return None if seconds is None else cap_wait(seconds, self.max_retry_after, self.service)

    return CappedRetry


def session(service, *, retries=5, backoff=0.5, max_backoff=60.0, user_agent=USER_AGENT, methods=("GET",),
            retry_after_cap=None):
    """A ``requests.Session`` that retries ``methods`` with exponential backoff and honours Retry-After.

    ``retry_after_cap`` is the longest Retry-After waited for (see :func:`retry_after_limit`);
    ``service`` names the service in the warning about a longer one.
    """
    import requests
    from requests.adapters import HTTPAdapter

    retry = _capped_retry_class()(
        total=retries, connect=retries, read=retries, status=retries, backoff_factor=backoff,
        backoff_max=max_backoff, status_forcelist=RETRY_STATUSES, allowed_methods=frozenset(methods),
        respect_retry_after_header=True, raise_on_status=False)
    retry.max_retry_after, retry.service = retry_after_limit(retry_after_cap), service
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
    """The service refuses us for good (bad key, no access): stop using it, the songs stay pending."""


class CredentialError(FatalSourceError):
    """The service refused our credentials (a missing, mistyped or revoked key): the user's to fix."""


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
    """``value`` if given, else the environment variable ``variable``, else the keys file's ``variable``
    (:func:`musemood.config.read_keys`), else a clear error."""
    from ..config import keys_path, read_keys

    if value:
        return value
    value = os.environ.get(variable) or read_keys().get(variable)
    if value:
        return value
    raise ValueError(f"{what} needs {variable}: set that environment variable, write {variable} = \"...\" in the "
                     f"keys file {keys_path()}, or pass the value as an argument")
