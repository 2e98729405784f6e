"""Where songs come from: service clients and the resumable scrape store.

- :class:`~musemood.sources.store.ScrapeStore`: the SQLite file that holds raw responses and
  each song's status per stage, so a killed scrape resumes where it stopped.
- :mod:`musemood.sources.http`: retries with backoff honouring Retry-After, a minimum interval
  between calls, credentials from arguments or the environment.
- :class:`~musemood.sources.lrclib.LrclibClient`: key-less lyrics from LRCLIB.
"""

from .store import ScrapeStore

__all__ = ["ScrapeStore"]
