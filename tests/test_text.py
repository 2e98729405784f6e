"""The lyrics cleaner and title normaliser."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musemood.text import clean_lyrics, count_words, is_instrumental, normalize_title, valid_unicode


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("[Verse 1]\nHello there\n\n[Chorus]\nSing it", "Hello there\nSing it"),
        ("[Chorus: Some Artist & Other]\nline", "line"),
        ("Verse 2:\nline\nChorus\nline two\n(Bridge)\nend", "line\nline two\nend"),
        ("{Hook x2}\nline", "line"),
        ("[Chorus] Hold me now", "Hold me now"),
        ("Hold on (x2)\nLet go x3\nMax3 stays", "Hold on\nLet go\nMax3 stays"),
        ("  spaced    out  \n\n\n\nnext", "spaced out\nnext"),
        ("[?]\n[Produced by Someone]\nreal line", "real line"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("ﬁne ｆｕｌｌ", "fine full"),
    ],
)
def test_headers_marks_and_whitespace(raw, clean):
    assert clean_lyrics(raw) == clean


def test_genius_page_boilerplate():
    raw = (
        "42 ContributorsTranslationsEspañolMy Song Lyrics[Intro]\nFirst line\n"
        "You might also like\nSecond line\nSee The Band LiveGet tickets as low as $35\n"
        "Third line\n12Embed"
    )
    assert clean_lyrics(raw) == "First line\nSecond line\nThird line"


def test_genius_you_might_also_like_glued_to_the_next_line():
    """lyricsgenius returns the recommendations box's title glued to the line after it: the header stayed,
    and the next sung line kept the words in front of it."""
    raw = ("[Verse 1]\nFirst line\nYou might also like[Chorus]\nHold on\nYou might also likeI ran home\n"
           "You might also like\u201cLove\u201d\nYou might also like the way I dance")
    assert clean_lyrics(raw) == "First line\nHold on\nI ran home\n\u201cLove\u201d\nYou might also like the way I dance"


def test_musixmatch_notice():
    raw = "line one\n\n******* This Lyrics is NOT for Commercial use *******\n(1409623421)"
    assert clean_lyrics(raw) == "line one"


@pytest.mark.parametrize("raw", ["Instrumental", "[Instrumental]", "(instrumental)", "", None, float("nan")])
def test_instrumental_and_missing(raw):
    assert clean_lyrics(raw) == ""
    assert is_instrumental(raw)


@pytest.mark.parametrize("text, valid", [
    ("plain", "plain"), ("café 😀", "café 😀"),
    ("cut \ud83d", "cut \ufffd"), ("\ude00 alone", "\ufffd alone"),  # half of an emoji: JSON's "\ud83d"
    ("pair \ud83d\ude00", "pair 😀"),  # the two halves as two code points: the character they make
    ("\ude00\ud83d", "\ufffd\ufffd"),  # in the wrong order: two halves of nothing
])
def test_valid_unicode_replaces_lone_surrogates_and_joins_pairs(text, valid):
    assert valid_unicode(text) == valid
    valid.encode("utf-8")  # what UTF-8, Arrow, SQLite and a tokenizer can hold


def test_a_missing_value_of_a_string_column_is_no_lyrics():
    """pandas' NA (a "string" column's missing value) was cleaned to "<NA>", so the catalogue's own advice,
    df[~df["lyrics"].map(is_instrumental)], kept a song without lyrics."""
    lyrics = pd.Series(["la la", None, "[Instrumental]"], dtype="string")
    assert lyrics.map(is_instrumental).tolist() == [False, True, True]
    assert clean_lyrics(pd.NA) == "" and normalize_title(pd.NA) == ""


def test_clean_lyrics_gives_text_utf8_can_hold():
    """JSON from a lyrics site may hold half of an emoji ("\\ud83d"); the tokenizer and Parquet refuse it."""
    assert clean_lyrics("la \ud83d la\nsing \ud83d\ude00") == "la \ufffd la\nsing 😀"


def test_words_that_look_like_headers_inside_a_line_are_kept():
    assert clean_lyrics("The chorus of birds\nBreak my heart") == "The chorus of birds\nBreak my heart"


def test_lowercase_and_count_words():
    assert clean_lyrics("Hello World", lowercase=True) == "hello world"
    assert count_words("a b\nc") == 3
    assert count_words(None) == 0


@pytest.mark.parametrize(
    "title, norm",
    [
        ("The Long Road (Live at Wembley) - Remastered 2011", "long road"),
        ("Café Song feat. Somebody", "cafe song"),
        ("Rock & Roll [Mono Version]", "rock and roll"),
        ("Don't Stop!", "don t stop"),
        (None, ""),
        (float("nan"), ""),
        (pd.NA, ""),  # a missing value of a string column: not "na", the name of a band
        ("NA", "na"),
    ],
)
def test_normalize_title(title, norm):
    assert normalize_title(title) == norm


def _fold_every_title(title):
    """normalize_title as written before its ASCII fast path: every title through NFKD."""
    import re
    import unicodedata

    from musemood.text import _VERSION_NOTE

    text = unicodedata.normalize("NFKD", _VERSION_NOTE.sub("", str(title)))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower().replace("&", " and ")
    text = " ".join(re.sub(r"[^\w\s]", " ", text).split())
    return text[4:] if text.startswith("the ") else text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("abcXYZ &'()-[]!.é ñÅ\u0301ﬁ²ß İ") + ["feat. ", "live", "The "]),
                max_size=20).map("".join) | st.text(max_size=30))
def test_normalize_title_fast_path_folds_as_before(title):
    assert normalize_title(title) == _fold_every_title(title)
