"""WASABI songs CSV ingestion (chunked), tag dumps and the MSD Last.fm files."""

import json
from collections import Counter

import pytest

from musemood.scrape import ingest_wasabi
from musemood.sources import ScrapeStore
from musemood.sources.wasabi import read_msd_lastfm, read_tag_dump, read_wasabi_songs, spotify_id_of

from fakes.services import catalogue, write_wasabi_csv

SONGS = catalogue()


def test_chunked_reading_keeps_english_linked_unique_songs(tmp_path):
    path = write_wasabi_csv(tmp_path / "songs.csv", SONGS)
    stats = Counter()
    chunks = list(read_wasabi_songs(path, chunksize=4, stats=stats))
    assert len(chunks) >= 4  # really read in chunks
    kept = [s for chunk in chunks for s in chunk]
    assert [s["song_id"] for s in kept] == [s["song_id"] for s in SONGS]
    assert kept[0]["spotify_id"] == SONGS[0]["spotify_id"] and kept[0]["mbid"] == SONGS[0]["mbid"]
    assert stats == {"rows": 17, "kept": 13, "duplicate (same song on another album)": 1, "not English": 1,
                     "no Spotify id": 1, "no Last.fm link": 1}
    assert sum(len(c) for c in read_wasabi_songs(path, chunksize=4, limit=5)) == 5


def test_other_column_names_and_clear_errors(tmp_path):
    path = tmp_path / "songs.csv"
    path.write_text("id,name,song,spotify\n1,Band,Song,spotify:track:4uLU6hMCjMI75M1A2tKUQC\n")
    with pytest.raises(ValueError, match="songs.csv is not a WASABI songs file: it has no column for \\['title'\\] "
                                         "\\(title: one of \\['title'\\]; its columns: .*columns="):
        list(read_wasabi_songs(path))
    songs = [s for c in read_wasabi_songs(path, columns={"title": "song", "spotify_id": "spotify"},
                                          english_only=False, require=("spotify_id",)) for s in c]
    assert songs[0]["title"] == "Song" and songs[0]["spotify_id"] == "4uLU6hMCjMI75M1A2tKUQC"
    broken = tmp_path / "broken.csv"
    broken.write_text('_id,title,artist\n1,"unterminated,x\n')
    with pytest.raises(ValueError, match="truncated"):
        list(read_wasabi_songs(broken, english_only=False, require=()))
    latin = tmp_path / "latin.csv"  # saved again by a spreadsheet on Windows: a row far into the file
    rows = "".join(f"{i},Song {i},Band\n" for i in range(5000)) + "5000,Caf\u00e9,Band\n"
    latin.write_bytes(("_id,title,artist\n" + rows).encode("cp1252"))
    with pytest.raises(ValueError, match="latin.csv, line 5002 \\(byte [0-9,]+\\): b'\\\\xe9' is not UTF-8; .* "
                                         "reads as 'é' \\(near '5000,Café,Band'\\). .*iconv -f cp1252"):
        list(read_wasabi_songs(latin, chunksize=1000, english_only=False, require=()))


def test_a_quote_mark_that_swallows_rows_is_refused_not_merged(tmp_path):
    """A tab-separated file with no quoting and a title opening with a quote mark ("Heroes, without its
    closing mark): pandas read the next rows into that title, and they were lost without a word."""
    path = tmp_path / "songs.tsv"
    path.write_text("_id\ttitle\tartist\tlanguage\n1\tFirst\tBand\ten\n2\t\"Heroes\tBowie\ten\n"
                    "3\tThird\tBand\ten\n4\tFourth\tBand\ten\n5\tFifth\" song\tBand\ten\n")
    with pytest.raises(ValueError, match=r"songs.tsv: row 2's title holds line breaks and the next rows' fields"):
        list(read_wasabi_songs(path, require=()))
    # quote marks inside fields, and a title quoted as CSV quotes it, are fine
    fine = tmp_path / "fine.tsv"
    fine.write_text('_id\ttitle\tartist\tlanguage\n1\tSay "hi"\tBand\ten\n2\t"""Heroes"""\tBowie\ten\n'
                    '3\t"Two\tparts"\tBand\ten\n4\t"Two\nlines"\tBand\ten\n')
    titles = [s["title"] for chunk in read_wasabi_songs(fine, require=()) for s in chunk]
    assert titles == ['Say "hi"', '"Heroes"', "Two\tparts", "Two\nlines"]  # quoted tabs and line breaks are kept


def test_rows_of_more_fields_than_the_header_are_refused_not_shifted(tmp_path):
    """Unquoted titles holding commas: pandas took the extra leading fields for an index, so each song's
    id, title and artist were read from other fields."""
    path = tmp_path / "songs.csv"
    path.write_text("_id,title,artist,language\n1,Hello, Goodbye,The Beatles,en\n2,Help, I need,Band,en\n")
    with pytest.raises(ValueError, match="songs.csv: its rows hold more fields than its header names columns"):
        list(read_wasabi_songs(path, require=()))
    dump = tmp_path / "tags.csv"
    dump.write_text("song_id,tag,count\nw1,feel, good,12\n")
    with pytest.raises(ValueError, match="tags.csv: its rows hold more fields"):
        read_tag_dump(dump)
    import pandas as pd

    indexed = pd.DataFrame({"song_id": ["w1"], "tag": ["sad"], "count": [12]}, index=pd.Index([7], name="row"))
    indexed.to_parquet(tmp_path / "tags.parquet")  # a Parquet dump's own index is no shifted CSV
    assert read_tag_dump(tmp_path / "tags.parquet") == {"w1": [("sad", 12.0)]}


def test_spotify_ids_from_urls_uris_and_bare_ids():
    assert spotify_id_of("https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC?si=abc") == "4uLU6hMCjMI75M1A2tKUQC"
    assert spotify_id_of("spotify:track:4uLU6hMCjMI75M1A2tKUQC") == "4uLU6hMCjMI75M1A2tKUQC"
    assert spotify_id_of("4uLU6hMCjMI75M1A2tKUQC") == "4uLU6hMCjMI75M1A2tKUQC"
    assert spotify_id_of("") is None and spotify_id_of(float("nan")) is None


def test_tag_dumps_spare_the_lastfm_api(tmp_path):
    songs = write_wasabi_csv(tmp_path / "songs.csv", SONGS)
    dump = tmp_path / "emotion_tags.csv"
    dump.write_text("song_id,tag,count\nw000,sad,12\nw000,melancholy,30\nw001,happy,5\n")
    msd = tmp_path / "lastfm_train" / "A" / "B"
    msd.mkdir(parents=True)
    (msd / "TRAAAAW128F429D538.json").write_text(json.dumps(
        {"artist": SONGS[2]["artist"], "title": SONGS[2]["title"], "timestamp": "2011-08-02",
         "similars": [], "tags": [["sad", "100"], ["rock", "40"]], "track_id": "TRAAAAW128F429D538"}))
    assert read_tag_dump(dump)["w000"] == [("melancholy", 30.0), ("sad", 12.0)]
    assert list(read_msd_lastfm(tmp_path / "lastfm_train").values()) == [[("sad", 100.0), ("rock", 40.0)]]
    store = ScrapeStore(tmp_path / "s.sqlite")
    summary = ingest_wasabi(store, songs, tag_dump=dump, msd_lastfm=tmp_path / "lastfm_train", show_progress_bar=False)
    assert summary["kept"] == 13 and summary["tags_from_dumps"] == 3
    assert store.counts("lastfm") == {"pending": 10, "done": 3, "failed": 0}
    assert store.song("w000")["tags_source"] == "dump" and store.song("w002")["tags_source"] == "msd"  # read apart
    again = ingest_wasabi(store, songs, tag_dump=dump, show_progress_bar=False)  # idempotent
    assert again["new"] == 0 and len(store.songs()) == 13
    lines = tmp_path / "tags.jsonl"
    lines.write_text('{"id": "w003", "tags": [["happy", 3]]}\nnot json\n')
    with pytest.raises(ValueError, match="line 2"):
        read_tag_dump(lines)
    lines.write_text('{"id": "w003", "tags": [["happy", 3]]}\n', encoding="utf-16")  # PowerShell's `>`
    with pytest.raises(ValueError, match="tags.jsonl is UTF-16 text, not UTF-8: save it as UTF-8"):
        read_tag_dump(lines)
    dump.write_bytes("song_id,tag,count\nw000,tr\u00e8s triste,3\n".encode("cp1252"))
    with pytest.raises(ValueError, match="emotion_tags.csv, line 2 \\(byte 25\\): b'\\\\xe8' is not UTF-8"):
        read_tag_dump(dump)
