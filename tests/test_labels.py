"""The k/epsilon rule: every branch, both count conventions, hand-computed cases."""

import numpy as np
import pandas as pd
import pytest

from musemood import labels
from musemood.labels import assign_moods, label_songs

FILLER = [(f"genre{i}", 3) for i in range(12)]  # 12 tags of count 3, total 36


def song(*tags, filler=FILLER):
    return list(tags) + list(filler)


def one(tags, **kw):
    return assign_moods([tags], **kw).iloc[0]


def test_clear_happy_song_hand_computed():
    # happy top tag "cheerful" 40 (rank 1); sad top tag "sad" 10; total = 40+20+10+36 = 106
    r = one(song(("cheerful", 40), ("happy", 20), ("sad", 10)))
    assert r["label"] == "happy"
    assert r["mood_tag"] == "cheerful"
    assert r["margin"] == pytest.approx((40 - 10) / 106)
    assert pd.isna(r["reason"])
    assert r["n_tags"] == 15


def test_synonyms_are_swapped_not_summed():
    # Summed, happy would be 30+30=60 > sad 40; swapped, happy's top tag 30 < sad 40.
    r = one(song(("sad", 40), ("happy", 30), ("joyful", 30)))
    assert r["candidate"] == "sad"
    assert r["mood_tag"] == "sad"
    assert r["margin"] == pytest.approx((40 - 30) / (40 + 30 + 30 + 36))
    assert pd.isna(r["label"]) and r["reason"] == labels.NOT_DOMINANT


def test_not_dominant_when_margin_below_epsilon():
    # (30 - 25) / (30 + 25 + 36) = 0.055 < 0.1
    r = one(song(("happy", 30), ("melancholy", 25)))
    assert r["reason"] == labels.NOT_DOMINANT
    assert r["candidate"] == "happy" and pd.isna(r["label"])


def test_margin_exactly_epsilon_is_accepted():
    # (20 - 10) / 100 = 0.1 exactly; total = 20 + 10 + 70
    filler = [(f"g{i}", 7) for i in range(10)]
    r = one(song(("happy", 20), ("sad", 10), filler=filler))
    assert r["margin"] == pytest.approx(0.1)
    assert r["label"] == "happy"


def test_tie_between_moods_is_not_dominant_even_with_zero_epsilon():
    r = one(song(("happy", 30), ("sad", 30)), epsilon=0.0)
    assert r["reason"] == labels.NOT_DOMINANT


def test_not_in_top_k():
    # five non-mood tags above the mood tag: "happy" ranks 6th
    top = [(f"rock{i}", 50) for i in range(5)]
    r = one(song(*top, ("happy", 40)))
    assert r["reason"] == labels.NOT_IN_TOP_K
    assert one(song(*top, ("happy", 40)), k=6, epsilon=0.0)["label"] == "happy"


def test_tie_at_rank_k_counts_as_within_top_k():
    top = [(f"rock{i}", 50) for i in range(4)] + [("indie", 40)]
    r = one(song(*top, ("happy", 40)), epsilon=0.0)
    assert r["label"] == "happy"  # shares rank 5 with "indie"


def test_too_few_tags_after_rare_tag_filter():
    # 10 tags used >= 3 times plus 5 used twice: 10 < 11 after the filter
    tags = [("happy", 50)] + [(f"g{i}", 3) for i in range(9)] + [(f"rare{i}", 2) for i in range(5)]
    r = one(tags)
    assert r["reason"] == labels.TOO_FEW_TAGS and r["n_tags"] == 10
    assert one(tags, min_tags=10)["label"] == "happy"
    assert one(tags, min_tag_count=2)["n_tags"] == 15


def test_rare_tags_do_not_count_in_total():
    tags = song(("happy", 40), ("sad", 10)) + [(f"rare{i}", 2) for i in range(20)]
    assert one(tags)["margin"] == pytest.approx(30 / (40 + 10 + 36))


def test_no_mood_tag():
    r = one(song(("rock", 100)))
    assert r["reason"] == labels.NO_MOOD_TAG and pd.isna(r["candidate"]) and np.isnan(r["margin"])


def test_empty_and_missing_tags():
    res = assign_moods([[], None, float("nan")])
    assert list(res["reason"]) == [labels.TOO_FEW_TAGS] * 3


def test_denominator_mood():
    r = one(song(("happy", 40), ("sad", 10)), denominator="mood")
    assert r["margin"] == pytest.approx((40 - 10) / 40)


def test_denominator_total_vs_mood_can_disagree():
    # margin over total = 10/116 < 0.1, over c_M = 10/40 >= 0.1
    tags = song(("happy", 40), ("sad", 30), ("rock", 10))
    assert one(tags)["reason"] == labels.NOT_DOMINANT
    assert one(tags, denominator="mood")["label"] == "happy"


def test_relative_lastfm_weights_give_same_labels_as_raw_counts():
    raw = [
        song(("cheerful", 400), ("happy", 200), ("sad", 100), filler=[(f"g{i}", 30) for i in range(12)]),
        song(("sad", 300), ("happy", 280), filler=[(f"g{i}", 30) for i in range(12)]),
        song(("rock", 500), *[(f"x{i}", 450) for i in range(5)], ("sad", 400),
             filler=[(f"g{i}", 30) for i in range(12)]),
    ]
    relative = [[(t, round(100 * c / max(c for _, c in s))) for t, c in s] for s in raw]
    a, b = assign_moods(raw), assign_moods(relative)
    assert a.attrs["counts"] == "raw" and b.attrs["counts"] == "relative"
    pd.testing.assert_series_equal(a["label"], b["label"])
    pd.testing.assert_series_equal(a["reason"], b["reason"])
    # Last.fm rounds weights to integers, so margins agree to about a point.
    np.testing.assert_allclose(a["margin"], b["margin"], atol=0.01)


def test_relative_weights_use_weight_filter_not_count_filter():
    # weights of 1 and 2 are kept (they are not "applied fewer than 3 times")
    tags = [("happy", 100), ("sad", 5)] + [(f"g{i}", 2) for i in range(10)]
    r = one(tags)
    assert r["n_tags"] == 12 and r["label"] == "happy"
    # weight 0 tags are dropped
    assert one([("happy", 100)] + [(f"g{i}", 0) for i in range(12)])["reason"] == labels.TOO_FEW_TAGS


def test_forced_count_convention():
    tags = [("happy", 100)] + [(f"g{i}", 2) for i in range(12)]
    assert one(tags, counts="raw")["reason"] == labels.TOO_FEW_TAGS
    assert one(tags, counts="relative")["label"] == "happy"


def test_relative_counts_above_100_are_refused():
    # Last.fm weights run from 0 to 100: a count of 187 is a raw count, read with the wrong filter
    tags = pd.Series([song(("happy", 100)), song(("happy", 187))], index=["a", "b"])
    with pytest.raises(ValueError, match=r"counts='relative'.*song 'b' has the count 187 for 'happy'.*raw"):
        assign_moods(tags, counts="relative")
    assert assign_moods(tags, counts="raw").attrs["counts"] == "raw"


def test_counts_per_song_read_each_source_its_own_way():
    """A store whose tags come from a WASABI dump (raw counts) and from the Last.fm API (weights): read
    together with one convention, the weights of 1 and 2 were dropped as rare counts."""
    weights = [("happy", 100), ("sad", 5)] + [(f"g{i}", 2) for i in range(10)]  # labelled only as weights
    raw = song(("sad", 140), ("happy", 8))
    tags = pd.Series([weights, raw, weights], index=["api1", "dump", "api2"])
    together = assign_moods(tags)
    assert together.attrs["counts"] == "raw" and together.loc["api1", "reason"] == labels.TOO_FEW_TAGS
    per_song = assign_moods(tags, counts=pd.Series(["relative", "raw", "relative"], index=["api2", "dump", "api1"]))
    assert per_song.attrs["counts"] == "mixed"
    assert per_song["label"].tolist() == ["happy", "sad", "happy"]
    pd.testing.assert_frame_equal(per_song.loc[["dump"]], assign_moods(tags.loc[["dump"]], counts="raw"))
    pd.testing.assert_frame_equal(per_song.loc[["api1"]], assign_moods(tags.loc[["api1"]]), check_index_type=False)
    assert assign_moods(tags, counts=["raw"] * 3).attrs["counts"] == "raw"
    with pytest.raises(ValueError, match="2 conventions for 3 songs"):
        assign_moods(tags, counts=["raw", "raw"])
    with pytest.raises(ValueError, match="counts for song 'dump' is 'auto'"):
        assign_moods(tags, counts=["raw", "auto", "raw"])
    with pytest.raises(ValueError, match=r"song 'dump' has the count 140 .*raw"):
        assign_moods(tags, counts=["relative"] * 3)


def test_a_tags_source_column_reads_each_source_its_own_way():
    """A table with ``tags_source`` (a dataset built from a scrape store) is read per source with "auto";
    within a source, as a whole table is: one raw song makes its source raw."""
    weights = [("happy", 100), ("sad", 5)] + [(f"g{i}", 2) for i in range(10)]
    raw = song(("sad", 140), ("happy", 8))
    df = pd.DataFrame({"tags": [weights, raw, weights, None],
                       "tags_source": ["lastfm", "dump", "lastfm", None]}, index=["api1", "dump", "api2", "none"])
    per_source = assign_moods(df)
    assert per_source.attrs["counts"] == "mixed"
    assert per_source["label"].tolist()[:3] == ["happy", "sad", "happy"]
    assert assign_moods(df.drop(columns="tags_source")).loc["api1", "reason"] == labels.TOO_FEW_TAGS
    assert assign_moods(df, counts="raw").loc["api1", "reason"] == labels.TOO_FEW_TAGS  # a given convention wins
    one_source = df.assign(tags_source="lastfm")
    assert assign_moods(one_source).attrs["counts"] == "raw"
    assert assign_moods(df.iloc[[0, 2]]).attrs["counts"] == "relative"


def test_four_moods_and_custom_sets():
    tags = song(("mellow", 40), ("happy", 15))
    assert one(tags)["label"] == "happy"  # binary: mellow is not a mood tag
    assert one(tags, mood_sets="four")["label"] == "calm"
    custom = {"bright": ["sunny"], "dark": ["gloomy", "dark"]}
    assert one(song(("dark", 30), ("sunny", 5)), mood_sets=custom)["label"] == "dark"


def test_tag_normalisation_and_duplicate_tags():
    tags = song(("Feel-Good", 40), ("feel good", 10), ("SAD", 5))
    r = one(tags)
    assert r["mood_tag"] == "feel good" and r["label"] == "happy"
    assert r["n_tags"] == 14  # the duplicate keeps its highest count


def test_accepts_dicts_records_dataframes_and_keeps_index():
    tags = song(("happy", 40))
    records = [{"tag": t, "count": c} for t, c in tags]
    df = pd.DataFrame({"tags": [tags, dict(tags), records]}, index=["a", "b", "c"])
    res = assign_moods(df)
    assert list(res.index) == ["a", "b", "c"]
    assert list(res["label"]) == ["happy"] * 3


def test_label_songs_adds_columns_without_touching_input():
    df = pd.DataFrame({"tags": [song(("happy", 40)), song(("rock", 40))]})
    out = label_songs(df)
    assert out["label"].tolist() == ["happy", pd.NA]
    assert out["label_reason"].tolist() == [pd.NA, labels.NO_MOOD_TAG]
    assert "label" not in df.columns


def test_summarize_counts_every_mood_and_reason():
    res = assign_moods([song(("happy", 40)), song(("sad", 40)), song(("sad", 41)), []])
    s = labels.summarize(res)
    assert s["labelled"] == {"happy": 1, "sad": 2}
    assert s["rejected"] == {labels.TOO_FEW_TAGS: 1, labels.NO_MOOD_TAG: 0,
                             labels.NOT_IN_TOP_K: 0, labels.NOT_DOMINANT: 0}


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"k": 0}, "k must be"),
        ({"epsilon": 1.5}, "epsilon"),
        ({"denominator": "c_M"}, "denominator"),
        ({"counts": "weights"}, "counts"),
        ({"mood_sets": "seven"}, "unknown mood sets"),
        ({"mood_sets": {"happy": ["happy"]}}, "at least two"),
        ({"mood_sets": {"a": ["x"], "b": ["x"]}}, "both mood sets"),
    ],
)
def test_bad_parameters_raise_clear_errors(kw, message):
    with pytest.raises(ValueError, match=message):
        assign_moods([song(("happy", 1))], **kw)


def test_bad_counts_name_the_song():
    with pytest.raises(ValueError, match="'b'"):
        assign_moods(pd.Series([song(("happy", 4)), [("happy", -1)]], index=["a", "b"]))
    with pytest.raises(ValueError, match="not a number"):
        assign_moods([[("happy", "lots")]])


def test_missing_tags_column():
    with pytest.raises(KeyError, match="no 'tags' column"):
        assign_moods(pd.DataFrame({"title": ["x"]}))


def test_vectorised_on_a_large_table_matches_row_by_row():
    from musemood.datasets import load_demo

    df = load_demo(300, random_state=3, label=False)
    # The count convention is detected per table, so fix it for single rows.
    whole = assign_moods(df, counts="raw")
    rows = pd.concat([assign_moods(df.iloc[[i]], counts="raw") for i in range(0, 300, 7)])
    pd.testing.assert_frame_equal(whole.loc[rows.index], rows, check_dtype=False)


def test_auto_detection_reads_a_raw_table_with_some_top_counts_of_100_as_raw():
    tags = [song(("happy", 100)), song(("sad", 250))]
    assert assign_moods(tags).attrs["counts"] == "raw"
    assert assign_moods([[(t, min(c, 100)) for t, c in s] for s in tags]).attrs["counts"] == "relative"


WORKED = [("indie", 120), ("happy", 95), ("summer", 60), ("cheerful", 58), ("seen live", 40),
          ("melancholy", 30), ("female vocalists", 25), ("pop", 22), ("catchy", 18), ("2010s", 12),
          ("favorites", 9), ("beautiful", 7), ("acoustic", 4), ("sad", 3), ("driving", 2)]


def test_worked_example_of_docs_labels_md():
    r = one(WORKED)
    assert (r["label"], r["mood_tag"], r["n_tags"]) == ("happy", "happy", 14)
    assert r["margin"] == pytest.approx(65 / 503)
    assert one(WORKED, denominator="mood")["margin"] == pytest.approx(65 / 95)
    more_sad = [(t, 50 if t == "melancholy" else c) for t, c in WORKED]
    assert one(more_sad)["reason"] == labels.NOT_DOMINANT
    assert one(more_sad)["margin"] == pytest.approx(45 / 523)
    weights = [(t, round(100 * c / 120)) for t, c in WORKED]
    r = one(weights)
    assert r["label"] == "happy" and r["margin"] == pytest.approx(54 / 420)


@pytest.mark.parametrize(
    "tags, message",
    [
        ("happy,sad", "has tags 'happy,sad': tags must be a list"),
        (7, "has tags 7: tags must be a list"),
        ([("happy", 10), "sad"], "tag entry 'sad' that is not a \\(tag, count\\) pair"),
        ([("happy", 10, 3)], "tag entry \\('happy', 10, 3\\)"),
        ([{"name": "happy"}], "tag entry \\{'name': 'happy'\\}"),
        ([("happy", "lots")], "tag count that is not a number: tag 'happy', count 'lots'"),
        ([("happy", 10), ("sad", None)], "tag count that is not a number: tag 'sad', count None"),
    ],
)
def test_malformed_tags_name_the_song(tags, message):
    df = pd.DataFrame({"tags": [[("happy", 5)] * 1, tags]}, index=["ok", "bad-song"])
    with pytest.raises(ValueError, match=f"song at index 'bad-song' .*{message}"):
        assign_moods(df)


def test_a_progress_bar_over_the_songs_on_request(capsys):
    """`musemood label` on a WASABI-sized table (1.7M songs) ran about 100 s without a word."""
    songs = [[("happy", 30), ("pop", 20), ("rock", 5)] + [(f"t{i}", 3) for i in range(10)]] * 50
    quiet = assign_moods(songs)
    assert capsys.readouterr().err == ""
    shown = assign_moods(songs, show_progress_bar=True)
    err = capsys.readouterr().err
    assert "Reading tags" in err and "50/50" in err
    pd.testing.assert_frame_equal(quiet, shown)
