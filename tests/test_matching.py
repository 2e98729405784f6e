"""Fuzzy acceptance of lyrics search hits."""

import pytest

from musemood.sources.matching import best_match, match_score


@pytest.mark.parametrize("hit_title,hit_artist,ok", [
    ("Paper Lanterns", "The Quiet Hours", True),
    ("Paper Lanterns (Live at the Roundhouse)", "Quiet Hours", True),
    ("Paper Lanterns - Remastered 2011", "The Quiet Hours feat. Vela", True),
    ("paper lanterns!", "THE QUIET HOURS", True),
    ("Paper Lantern", "The Quiet Hours", True),  # one letter off
    ("Paper Lanterns", "Completely Different Band", False),  # a cover by someone else
    ("Lanterns of Paper and Glass", "The Quiet Hours", False),  # another song by the artist
])
def test_a_hit_is_accepted_only_when_title_and_artist_match(hit_title, hit_artist, ok):
    score = match_score("Paper Lanterns", "The Quiet Hours", hit_title, hit_artist)
    assert (score >= 90) == ok, score


def test_best_match_keeps_the_best_hit_above_the_threshold():
    hits = [{"title": "Paper Lanterns", "artist": "Someone Else"},
            {"title": "Paper Lanterns (Live)", "artist": "The Quiet Hours"},
            {"title": "Paper Lanterns", "artist": "The Quiet Hours"}]
    hit, score = best_match("Paper Lanterns", "Quiet Hours", hits)
    assert hit is hits[1] and score == 100  # ties keep the service's order
    hit, score = best_match("Paper Lanterns", "Quiet Hours", hits[:1])
    assert hit is None and score < 90
    hit, _ = best_match("Paper Lanterns", "Quiet Hours", hits[:1], threshold=0)
    assert hit is hits[0]
    records = [{"trackName": "Paper Lanterns", "artistName": "The Quiet Hours"}]
    hit, _ = best_match("paper lanterns", "the quiet hours", records,
                        key=lambda r: (r["trackName"], r["artistName"]))
    assert hit is records[0]
