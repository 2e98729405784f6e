"""Where songs come from: service clients and the resumable scrape store.

- :class:`~musemood.sources.store.ScrapeStore`: the SQLite file that holds raw responses and
  each song's status per stage, so a killed scrape resumes where it stopped.
- :mod:`musemood.sources.http`: retries with backoff honouring Retry-After, a minimum interval
  between calls, credentials from arguments or the environment.
- :class:`~musemood.sources.lrclib.LrclibClient`: key-less lyrics from LRCLIB.

Two interfaces, each shared by the clients of one kind (duck-typed, see the protocols):

- :class:`LyricsSource` (Genius, LRCLIB): ``lyrics(title, artist) -> (text or None, info, responses)``;
- :class:`AudioFeatureSource` (Spotify, a features table, librosa): ``get(songs) -> [(features, key, raw)]``.
"""

from typing import Protocol, runtime_checkable

from .store import ScrapeStore

__all__ = ["AudioFeatureSource", "LyricsSource", "ScrapeStore"]


@runtime_checkable
class LyricsSource(Protocol):
    """Anything that finds a song's lyrics: ``service`` names it in the scrape store."""

    service: str

    def lyrics(self, title: str, artist: str) -> tuple:
        """``(lyrics or None, info, responses)``; ``info["reason"]`` says why there are none."""


@runtime_checkable
class AudioFeatureSource(Protocol):
    """Anything that answers audio features for a batch of songs: ``name`` names it."""

    name: str

    def get(self, songs: list) -> list:
        """One ``(features or None, key, raw response)`` per song, in order."""
