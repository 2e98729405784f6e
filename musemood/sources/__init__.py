"""Where songs come from: service clients and the resumable scrape store.

- :class:`~musemood.sources.store.ScrapeStore`: the SQLite file that holds raw responses and
  each song's status per stage, so a killed scrape resumes where it stopped.
"""

from .store import ScrapeStore

__all__ = ["ScrapeStore"]
