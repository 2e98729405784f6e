"""Property-based tests (hypothesis): the label rule, the audio encoder, the text cleaner and the
input checks of the estimators and the recommender, on inputs nobody would think to write by hand."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from musemood import schema
from musemood.classifiers import FineTunedBertClassifier, SimpleBertClassifier, TBertClassifier
from musemood.features import AudioFeatureEncoder
from musemood.labels import assign_moods
from musemood.text import clean_lyrics, is_instrumental

MOOD_TAGS = [t for tags in schema.resolve_mood_sets("binary").values() for t in tags]
TAG = st.one_of(st.sampled_from(MOOD_TAGS), st.text(min_size=1, max_size=12))
GOOD_COUNT = st.one_of(st.integers(0, 10_000), st.floats(0, 1e6, allow_nan=False, allow_infinity=False))
ANY_COUNT = st.one_of(GOOD_COUNT, st.floats(), st.integers(-10, -1), st.text(max_size=3), st.none())
GOOD_TAGS = st.lists(st.tuples(TAG, GOOD_COUNT), max_size=30)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ label rule
@FAST
@given(st.lists(st.one_of(GOOD_TAGS, st.none()), min_size=1, max_size=8), st.integers(1, 10),
       st.floats(0, 1), st.sampled_from(["auto", "raw", "relative"]))
def test_the_label_rule_labels_or_rejects_every_well_formed_song(songs, k, epsilon, counts):
    if counts == "relative":  # Last.fm weights run from 0 to 100 (above is refused: the next test)
        songs = [None if song is None else [(t, min(c, 100)) for t, c in song] for song in songs]
    result = assign_moods(pd.Series(songs, dtype=object), k=k, epsilon=epsilon, counts=counts)
    assert len(result) == len(songs)
    labelled = result["label"].notna()
    assert set(result.loc[labelled, "label"]) <= {"happy", "sad"}
    assert (result.loc[labelled, "margin"] >= epsilon - 1e-12).all()
    assert result.loc[~labelled, "reason"].notna().all()  # every rejection says why


@FAST
@given(st.lists(GOOD_TAGS, min_size=1, max_size=8))
def test_relative_counts_are_refused_above_100_and_only_there(songs):
    if any(c > 100 for song in songs for _, c in song):
        with pytest.raises(ValueError, match="counts='relative' reads Last.fm weights"):
            assign_moods(pd.Series(songs, dtype=object), counts="relative")
    else:
        assert assign_moods(pd.Series(songs, dtype=object), counts="relative").attrs["counts"] == "relative"


@FAST
@given(st.lists(GOOD_TAGS, min_size=1, max_size=6), st.integers(2, 50))
def test_raw_counts_scaled_by_a_constant_keep_their_labels(songs, factor):
    base = assign_moods(pd.Series(songs, dtype=object), counts="raw", min_tag_count=0)
    scaled = [[(t, c * factor) for t, c in song] for song in songs]
    again = assign_moods(pd.Series(scaled, dtype=object), counts="raw", min_tag_count=0)
    pd.testing.assert_series_equal(base["label"], again["label"])


@FAST
@given(st.lists(st.tuples(TAG, ANY_COUNT), min_size=1, max_size=10), st.text(min_size=1, max_size=8))
def test_a_malformed_tag_count_is_an_error_naming_the_song(tags, song_id):
    def bad_count(c):  # a count is a number >= 0, or text that reads as one (a CSV cell)
        try:
            value = float(c)
        except (TypeError, ValueError):
            return True
        return not math.isfinite(value) or value < 0

    bad = any(bad_count(c) for _, c in tags)
    series = pd.Series([tags], index=[song_id], dtype=object)
    if not bad:
        assign_moods(series)
        return
    with pytest.raises(ValueError) as caught:
        assign_moods(series)
    assert repr(song_id) in str(caught.value) or song_id in str(caught.value)


@FAST
@given(st.one_of(st.text(), st.integers(), st.floats(), st.booleans(),
                 st.lists(st.text(max_size=5), min_size=1, max_size=3),
                 st.lists(st.tuples(st.text(max_size=4)), min_size=1, max_size=3)))
def test_tags_of_the_wrong_shape_are_an_error_naming_the_song(tags):
    assume(not (isinstance(tags, float) and math.isnan(tags)))  # NaN means "no tags"
    with pytest.raises(ValueError, match=r"song at index 'x7'"):
        assign_moods(pd.Series([tags], index=["x7"], dtype=object))


# --------------------------------------------------------------- audio encoder
AUDIO_VALUE = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(float("nan")))


@FAST
@given(st.lists(st.lists(AUDIO_VALUE, min_size=12, max_size=12), min_size=1, max_size=20))
def test_the_audio_encoder_gives_finite_features_for_any_finite_or_missing_values(rows):
    frame = pd.DataFrame(rows, columns=list(schema.AUDIO_FEATURES))
    out = AudioFeatureEncoder().fit(frame).transform(frame)
    assert out.shape[0] == len(rows) and np.isfinite(out).all()


@FAST
@given(st.lists(st.lists(AUDIO_VALUE, min_size=12, max_size=12), min_size=1, max_size=10),
       st.data(), st.sampled_from([float("inf"), -float("inf")]))
def test_an_infinite_audio_value_is_an_error_naming_column_and_row(rows, data, value):
    frame = pd.DataFrame(rows, columns=list(schema.AUDIO_FEATURES))
    row = data.draw(st.integers(0, len(rows) - 1))
    column = data.draw(st.sampled_from(list(schema.AUDIO_FEATURES)))
    frame.loc[row, column] = value
    with pytest.raises(ValueError, match=rf"'{column}' holds -?inf at row {row}"):
        AudioFeatureEncoder().fit(frame)


# ---------------------------------------------------------------- text cleaner
@FAST
@given(st.one_of(st.text(), st.lists(st.one_of(st.characters(), st.characters(categories=["Cs"]))).map("".join),
                 st.none(), st.floats(), st.integers()))
def test_clean_lyrics_always_gives_clean_text_and_is_idempotent(text):
    out = clean_lyrics(text)
    assert isinstance(out, str)
    assert clean_lyrics(out) == out
    assert out == out.strip() and "\n\n\n" not in out and "\r" not in out
    out.encode("utf-8")  # no lone surrogate (half of a UTF-16 pair, category Cs: st.text never draws one)


LYRIC_LINES = st.sampled_from(["[Chorus]", "Instrumental", "(Instrumental)", "no lyrics", "(x2)", "la la la x3",
                               "You might also like", "You might also like[Verse]", "12Embed", "", "   ", "[?]",
                               "Verse 2:", "hold on", "3 Contributors Song Lyrics", "Translations", "[Intro] oh",
                               "ﬁne", "\u2028", "cut \ud83d"])


@FAST
@given(st.lists(LYRIC_LINES, max_size=8), st.sampled_from(["\n", "\r\n", "\r"]))
def test_is_instrumental_says_whether_clean_lyrics_leaves_nothing(lines, newline):
    """It reads only the lines it needs (``map --drop-missing`` and the data report, on a million songs)."""
    text = newline.join(lines)
    assert is_instrumental(text) == (clean_lyrics(text) == "")


@FAST
@given(st.lists(st.sampled_from(["Embed", "embed", "EMBED", "EmbeD", "12", "3", " ", "\n", "\t", "la", "x", "ﬁ"]),
                max_size=10).map("".join))
def test_the_embed_mark_is_removed_as_the_pattern_alone_removes_it(text):
    from musemood.text import _GENIUS_EMBED, _without_embed

    assert _without_embed(text) == _GENIUS_EMBED.sub("", text.rstrip())


# ----------------------------------------------------------- catalogue lookups
@FAST
@given(st.lists(st.integers(0, 6), max_size=60), st.integers(-1, 7))
def test_the_songs_of_a_title_are_found_in_the_title_order_whatever_the_titles(codes, code):
    from musemood.catalogue import _titled

    codes = np.asarray(codes, dtype=np.int32)
    order = np.argsort(codes, kind="stable")
    assert order[_titled(order, codes, code)].tolist() == np.flatnonzero(codes == code).tolist()


# ------------------------------------------------------ estimators' parameters
PARAM_VALUES = st.one_of(st.integers(-5, 10**7), st.floats(), st.text(max_size=6), st.none(), st.booleans(),
                         st.lists(st.integers(), max_size=2))
NAMES = ["dropout", "max_length", "batch_size", "epochs", "learning_rate", "validation_fraction", "pooling",
         "optimizer", "objective", "max_grad_norm", "weight_decay", "hidden_size", "random_state"]


@FAST
@given(st.sampled_from([SimpleBertClassifier, FineTunedBertClassifier, TBertClassifier]),
       st.sampled_from(NAMES), PARAM_VALUES)
def test_any_parameter_value_is_accepted_or_refused_by_name(cls, name, value):
    assume(name in {f.name for f in dataclasses.fields(cls)})
    model = cls("unused-encoder", **{name: value})
    try:
        model._check_params()
    except ValueError as exc:
        assert f"{name} must be" in str(exc) and cls.__name__ in str(exc)
        return
    # accepted: the value is of a sensible kind
    assert value is None or isinstance(value, (int, float, str))
    if isinstance(value, float):
        assert not math.isnan(value)


@pytest.fixture(scope="module")
def tiny_recommender():
    from musemood.datasets import drop_duplicate_songs, load_demo
    from musemood.recommender import Recommender

    df = drop_duplicate_songs(load_demo(80, random_state=0)).reset_index(drop=True)
    vectors = np.random.default_rng(0).normal(size=(len(df), 8)).astype(np.float32)
    return df, Recommender(song_map=None, n_candidates=20, weights={"lexical": 0.5}).fit(df, vectors=vectors)


@FAST
@given(top_k=st.one_of(st.integers(-3, 500), st.floats(), st.text(max_size=3), st.none(), st.booleans()),
       row=st.integers(0, 60))
def test_recommend_answers_at_most_top_k_songs_or_says_what_top_k_must_be(tiny_recommender, top_k, row):
    df, rec = tiny_recommender
    try:
        out = rec.recommend(df.loc[row, schema.TITLE], top_k, artist=df.loc[row, schema.ARTIST])
    except ValueError as exc:
        assert "top_k must be a positive whole number" in str(exc)
        return
    assert isinstance(top_k, int) and not isinstance(top_k, bool) and top_k >= 1
    assert len(out) <= top_k and np.isfinite(out["score"].to_numpy(dtype=float)).all()
