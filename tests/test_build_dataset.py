"""``build_dataset`` / ``musemood build-dataset`` when the store gives no song to write: an error that
says why and what to run, and the dataset already at ``--out`` left as it was."""

import pandas as pd
import pytest

from musemood.cli import main
from musemood.datasets import load_dataset, save_dataset
from musemood.scrape import build_dataset
from musemood.sources import ScrapeStore

STAGES = ["lastfm", "lyrics", "audio"]
TAGS = [[tag, 100 - 5 * i] for i, tag in enumerate(
    ["rock", "90s", "guitar", "live", "indie", "classic", "british", "pop", "band", "male", "cover", "usa"])]
SONGS = [{"song_id": f"s{i}", "title": f"Song {i}", "artist": "Someone"} for i in range(4)]


@pytest.fixture
def previous(tmp_path):
    """A dataset a earlier build wrote, which a build with nothing to write must not replace."""
    path = tmp_path / "dataset.parquet"
    save_dataset(pd.DataFrame({"song_id": ["old"], "title": ["Old"], "artist": ["A"], "lyrics": ["la la"],
                               "label": ["happy"]}), path)
    return path


def test_nothing_scraped_yet_names_the_scrapes_to_run(tmp_path, previous):
    store = ScrapeStore(tmp_path / "s.sqlite")
    store.add_songs(SONGS, stages=STAGES)
    with pytest.raises(ValueError) as error:
        build_dataset(store, previous)
    message = str(error.value)
    assert "no song to write" in message and str(previous) in message
    assert "4 songs in the store" in message and "tags not scraped yet: 4" in message
    assert "musemood scrape lastfm" in message
    assert load_dataset(previous)["song_id"].tolist() == ["old"]  # left as it was
    df, summary = build_dataset(store)  # nothing to write: the empty table, no error
    assert len(df) == 0 and summary["rows"] == 0


def test_songs_the_rule_leaves_unlabelled_suggest_keep_unlabelled(tmp_path, previous):
    store = ScrapeStore(tmp_path / "s.sqlite")
    store.add_songs(SONGS, stages=STAGES)
    for song in SONGS:  # tags with no mood word in them, and lyrics
        store.complete(song["song_id"], "lastfm", update={"tags": TAGS})
        store.complete(song["song_id"], "lyrics", update={"lyrics": "walking down the road again"})
    with pytest.raises(ValueError) as error:
        build_dataset(store, previous)
    message = str(error.value)
    assert "4 songs with tags and lyrics" in message and "none labelled" in message
    assert "no tag from any mood set: 4" in message and "--keep-unlabelled" in message
    assert load_dataset(previous)["song_id"].tolist() == ["old"]
    df, summary = build_dataset(store, previous, keep_unlabelled=True)  # written with the flag
    assert summary["rows"] == 4 and load_dataset(previous)["label"].isna().all()


def test_songs_without_lyrics_the_rule_does_not_label_are_not_said_to_need_them(tmp_path, previous):
    """With tags and no lyrics yet (as `scrape lyrics --labelled-only` leaves the songs the rule does not
    label), a song the rule labels waits for its lyrics; the others do not need them, unless they are to be
    written unlabelled."""
    store = ScrapeStore(tmp_path / "s.sqlite")
    store.add_songs(SONGS, stages=STAGES)
    for song in SONGS:
        store.complete(song["song_id"], "lastfm", update={"tags": TAGS})  # no mood word: the rule labels none
    with pytest.raises(ValueError) as error:
        build_dataset(store, previous)
    message = str(error.value)
    assert "none with tags and lyrics (the rule does not label them (their lyrics, not scraped yet, are not " \
           "needed): 4)" in message
    assert "--keep-unlabelled" in message and "musemood scrape lyrics" not in message
    _, summary = build_dataset(store, keep_unlabelled=True)
    assert summary["dropped"] == {"lyrics not scraped yet": 4}
    store.complete("s0", "lastfm", update={"tags": [["happy", 100], *TAGS[1:]]})  # now labelled: it waits
    _, summary = build_dataset(store)
    assert summary["dropped"] == {"lyrics not scraped yet": 1, "the rule does not label them (their lyrics, not "
                                  "scraped yet, are not needed)": 3}


def test_the_cli_exits_2_and_keeps_the_file(tmp_path, previous, capsys):
    store = ScrapeStore(tmp_path / "s.sqlite")
    store.add_songs(SONGS, stages=STAGES)
    for song in SONGS[:2]:
        store.complete(song["song_id"], "lastfm", status="failed", reason="not on Last.fm")
    assert main(["build-dataset", "--store", str(store.path), "--out", str(previous)]) == 2
    err = capsys.readouterr().err
    assert "build-dataset: error: no song to write" in err and "no tags: 2" in err and "Traceback" not in err
    assert load_dataset(previous)["song_id"].tolist() == ["old"]


def test_a_progress_bar_counts_the_songs(tmp_path, capsys):
    store = ScrapeStore(tmp_path / "s.sqlite")
    store.add_songs(SONGS, stages=STAGES)
    for song in SONGS:
        store.complete(song["song_id"], "lastfm", update={"tags": TAGS})
        store.complete(song["song_id"], "lyrics", update={"lyrics": "walking down the road again"})
    df, summary = build_dataset(store, keep_unlabelled=True, show_progress_bar=True)
    err = capsys.readouterr().err
    assert "dataset: 100%" in err and "4/4" in err
    assert summary["songs"] == 4 and len(df) == 4


def _store_with_tags(path, tags_by_song, sources=None):
    store = ScrapeStore(path)
    songs = [{"song_id": song_id, "title": f"Song {song_id}", "artist": "Someone"} for song_id in tags_by_song]
    store.add_songs(songs, stages=STAGES)
    for song_id, tags in tags_by_song.items():
        source = {} if sources is None else {"tags_source": sources[song_id]}
        store.complete(song_id, "lastfm", update={"tags": tags, **source})
        store.complete(song_id, "lyrics", update={"lyrics": f"walking down the road with {song_id}"})
    return store


# Last.fm weights: labelled happy when weights 1 and up count (relative), too few tags when counts under
# 3 are dropped as rare (raw)
WEIGHTS = [["happy", 100]] + [[f"tag {i}", 2] for i in range(10)]


@pytest.mark.parametrize("raw_song", [False, True])
def test_labels_read_in_chunks_equal_the_rule_on_the_whole_store(tmp_path, monkeypatch, raw_song):
    """The store is labelled a few thousand songs at a time; the count convention is still the whole
    store's (one song of raw counts makes every song's counts raw), so the labels are the rule's on the
    whole table."""
    from musemood import scrape
    from musemood.labels import assign_moods

    tags = {f"s{i}": WEIGHTS for i in range(5)}
    if raw_song:  # in the last chunk
        tags["s9"] = [["sad", 37]] + [[f"tag {i}", 30 - i] for i in range(11)]
    monkeypatch.setattr(scrape, "LABEL_CHUNK", 2)
    df, summary = build_dataset(_store_with_tags(tmp_path / "s.sqlite", tags), keep_unlabelled=True)
    whole = assign_moods(df)
    assert df["label"].tolist() == whole["label"].tolist()
    assert df["label_reason"].tolist() == whole["reason"].tolist()
    assert df.attrs["counts"] == summary["labels"]["counts"] == ("raw" if raw_song else "relative")
    expected = ["too_few_tags"] * 5 + [None] if raw_song else [None] * 5  # s9 is sad
    assert [None if pd.isna(r) else r for r in df["label_reason"]] == expected


def test_a_bad_tag_count_names_the_song(tmp_path):
    tags = {"s0": WEIGHTS, "s1": [["happy", -4], *WEIGHTS[1:]]}
    with pytest.raises(ValueError, match="'s1'.*negative or missing tag count"):
        build_dataset(_store_with_tags(tmp_path / "s.sqlite", tags))


def test_labelled_song_ids_need_tags_not_lyrics(tmp_path):
    from musemood.scrape import labelled_song_ids

    store = ScrapeStore(tmp_path / "s.sqlite")
    store.add_songs(SONGS, stages=STAGES)
    store.complete("s0", "lastfm", update={"tags": WEIGHTS})  # labelled happy, no lyrics yet
    store.complete("s1", "lastfm", update={"tags": TAGS})  # no mood tag
    store.complete("s2", "lastfm", status="failed", reason="not on Last.fm")
    ids, counts = labelled_song_ids(store)
    assert ids == {"s0"} and counts == {"with_tags": 2, "labelled": 1}
    assert labelled_song_ids(store, mood_sets={"sad": ["sad"], "calm": ["calm"]})[0] == set()
    assert labelled_song_ids(ScrapeStore(tmp_path / "empty.sqlite")) == (set(), {"with_tags": 0, "labelled": 0})


def test_each_tag_source_is_read_with_its_own_convention(tmp_path, monkeypatch):
    """WASABI's dump gives raw counts and the Last.fm API weights (top tag 100): a store holding both read
    the API's weights as raw counts, and dropped weights 1 and 2 as rare tags."""
    from musemood import scrape

    raw = [["sad", 140], ["happy", 8]] + [[f"genre {i}", 3] for i in range(12)]
    tags = {"a0": WEIGHTS, "d0": raw, "a1": WEIGHTS, "d1": raw}
    sources = {"a0": "lastfm", "a1": "lastfm", "d0": "dump", "d1": "dump"}
    monkeypatch.setattr(scrape, "LABEL_CHUNK", 3)
    df, summary = build_dataset(_store_with_tags(tmp_path / "s.sqlite", tags, sources))
    assert df.set_index("song_id")["label"].to_dict() == {"a0": "happy", "a1": "happy", "d0": "sad", "d1": "sad"}
    assert summary["labels"]["counts"] == df.attrs["counts"] == "mixed"
    # one source: read as a whole, as assign_moods reads a table
    df, summary = build_dataset(_store_with_tags(tmp_path / "api.sqlite", {"a0": WEIGHTS, "d0": raw},
                                                 {"a0": "lastfm", "d0": "lastfm"}), keep_unlabelled=True)
    assert summary["labels"]["counts"] == "raw" and df["label_reason"].tolist()[0] == "too_few_tags"


def test_a_built_dataset_keeps_each_songs_tag_source_and_labels_again_as_it_was_built(tmp_path):
    """``musemood label`` on a built dataset (another k or epsilon, say) read its tags table-wide: the
    Last.fm API's weights beside a dump's raw counts were read as raw counts and weights 1-2 dropped."""
    from musemood.datasets import load_dataset
    from musemood.labels import assign_moods

    raw = [["sad", 140], ["happy", 8]] + [[f"genre {i}", 3] for i in range(12)]
    tags = {"a0": WEIGHTS, "d0": raw, "a1": WEIGHTS}
    sources = {"a0": "lastfm", "a1": "lastfm", "d0": "dump"}
    built, _ = build_dataset(_store_with_tags(tmp_path / "s.sqlite", tags, sources), tmp_path / "d.parquet")
    again = load_dataset(tmp_path / "d.parquet")
    assert again.set_index("song_id")["tags_source"].to_dict() == sources
    relabelled = assign_moods(again)
    assert relabelled.attrs["counts"] == "mixed"
    assert relabelled["label"].tolist() == again["label"].tolist() == built["label"].tolist()
    assert assign_moods(again.drop(columns="tags_source"))["label"].isna().sum() == 2  # the old reading


def test_a_dataset_built_again_with_more_songs_keeps_each_songs_split(tmp_path):
    happy = [["happy", 90]] + [[f"genre {i}", 20] for i in range(12)]
    store = _store_with_tags(tmp_path / "s.sqlite", {f"s{i:03d}": happy for i in range(1, 200, 2)})
    first, _ = build_dataset(store)
    more = [{"song_id": f"s{i:03d}", "title": f"Song s{i:03d}", "artist": "Someone"} for i in range(0, 200, 2)]
    store.add_songs(more, stages=STAGES)
    for song in more:
        store.complete(song["song_id"], "lastfm", update={"tags": happy})
        store.complete(song["song_id"], "lyrics", update={"lyrics": "walking down the road"})
    second, _ = build_dataset(store)
    assert len(second) == 2 * len(first) == 200
    splits = second.set_index("song_id")["split"]
    assert splits.loc[first["song_id"]].tolist() == first["split"].tolist()


def test_text_with_half_a_character_from_a_source_is_stored_and_written_as_utf8_holds_it(tmp_path):
    """JSON from WASABI, Last.fm or a lyrics site may spell half an emoji ("\\ud83d"), which Python's json
    decodes to a lone surrogate: SQLite refused the song (UnicodeEncodeError, the scrape stopped there) and
    Parquet the dataset.  The half is stored as U+FFFD, as a UTF-8 decoder replaces a broken byte; a whole
    pair given as two halves is stored as its character."""
    store = ScrapeStore(tmp_path / "s.sqlite")
    store.add_songs([{"song_id": "s\ud83d", "title": "Cut \ud83d", "artist": "Pair \ud83d\ude00",
                      "album": "Half \ude00"}], stages=STAGES)
    song_id = "s\ufffd"
    store.complete(song_id, "lastfm", update={"tags": WEIGHTS + [["tag \ud800", 2]]})
    store.complete(song_id, "lyrics", update={"lyrics": "walking \ud83d down the road"})
    song = store.song(song_id)
    assert (song["title"], song["artist"], song["album"]) == ("Cut \ufffd", "Pair 😀", "Half \ufffd")
    assert song["tags"][-1] == ["tag \ufffd", 2] and song["lyrics"] == "walking \ufffd down the road"
    built, _ = build_dataset(store, tmp_path / "d.parquet")
    again = load_dataset(tmp_path / "d.parquet")
    assert again["title"].tolist() == ["Cut \ufffd"] and again["lyrics"].tolist() == ["walking \ufffd down the road"]
    assert again["label"].tolist() == built["label"].tolist() == ["happy"]
