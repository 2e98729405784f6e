"""Accept a search hit only when its title and artist match the song we asked for.

Lyrics searches (Genius, LRCLIB) answer the nearest thing they have, which is often a cover, a
live version with other words, or another song altogether.  As in the study, a hit is kept only
when both the normalised title and the normalised artist are similar enough (rapidfuzz), and
the song is dropped otherwise.
"""

from __future__ import annotations

from ..text import normalize_title

DEFAULT_THRESHOLD = 90.0


def match_score(title, artist, hit_title, hit_artist):
    """Similarity (0-100) of a hit to the wanted song: the lower of the title and artist scores.

    Titles are compared with ``fuzz.ratio`` after :func:`musemood.text.normalize_title` (case,
    accents, punctuation, "(Live)" and "feat." notes, a leading "The"); artists with
    ``fuzz.token_set_ratio``, so "Artist & Friend" still matches "Artist".
    """
    from rapidfuzz import fuzz

    title_score = fuzz.ratio(normalize_title(title), normalize_title(hit_title))
    artist_score = fuzz.token_set_ratio(normalize_title(artist), normalize_title(hit_artist))
    return float(min(title_score, artist_score))


def check_threshold(threshold):
    """``threshold`` if it is a fuzzy score from 0 to 100, else a ValueError."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 100:
        raise ValueError(f"the match threshold is a fuzzy score from 0 to 100, got {threshold!r}")
    return threshold


def best_match(title, artist, hits, *, threshold=DEFAULT_THRESHOLD, key=lambda hit: (hit["title"], hit["artist"])):
    """The best hit scoring at least ``threshold`` and its score, or ``(None, best score)``.

    ``key`` maps a hit to its ``(title, artist)``; ties keep the service's order.
    """
    check_threshold(threshold)
    best, best_score = None, 0.0
    for hit in hits:
        score = match_score(title, artist, *key(hit))
        if score > best_score:
            best, best_score = hit, score
    return (best, best_score) if best is not None and best_score >= threshold else (None, best_score)
