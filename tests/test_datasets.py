"""The demo corpus and the dataset readers and writers."""

import numpy as np
import pandas as pd
import pytest

from musemood import schema
from musemood.datasets import (
    assign_splits,
    dataset_report,
    drop_duplicate_songs,
    load_dataset,
    load_demo,
    save_dataset,
    validate_dataset,
)
from musemood.text import clean_lyrics, count_words


@pytest.fixture(scope="module")
def demo():
    return load_demo(600, random_state=7)


def test_same_seed_same_corpus_other_seed_other_corpus(demo):
    pd.testing.assert_frame_equal(demo, load_demo(600, random_state=7))
    other = load_demo(600, random_state=8)
    assert not demo[schema.LYRICS].equals(other[schema.LYRICS])


def test_schema_columns_and_unique_ids(demo):
    validate_dataset(demo)
    assert list(demo.columns[: len(schema.COLUMNS)]) == list(schema.COLUMNS)
    assert demo[schema.SONG_ID].is_unique
    assert len(demo) == 600


def test_no_missing_values_outside_audio_and_labels(demo):
    allowed = set(schema.AUDIO_FEATURES) | {schema.LABEL, "label_reason"}
    assert not demo.drop(columns=list(allowed)).isna().any().any()


def test_audio_features_in_spotify_ranges_with_some_missing(demo):
    for feature, (lo, hi) in schema.AUDIO_FEATURE_RANGES.items():
        values = demo[feature].dropna()
        assert values.between(lo, hi).all(), feature
    for feature in schema.CATEGORICAL_AUDIO_FEATURES:
        assert (demo[feature].dropna() % 1 == 0).all()
    assert set(demo[schema.MODE].dropna()) == {0, 1}
    assert demo[schema.TEMPO].dropna().between(50, 220).all()
    all_missing = demo[list(schema.AUDIO_FEATURES)].isna().all(axis=1)
    assert 0.01 < all_missing.mean() < 0.12


def test_audio_depends_on_mood_but_overlaps(demo):
    happy = demo.loc[demo["latent_mood"] == "happy", schema.VALENCE].dropna()
    sad = demo.loc[demo["latent_mood"] == "sad", schema.VALENCE].dropna()
    assert happy.mean() > sad.mean() + 0.2
    assert (sad > happy.median()).mean() > 0.05  # overlapping, not separable


def test_lyrics_length_sections_and_cleaning(demo):
    words = demo[schema.LYRICS].map(lambda t: count_words(clean_lyrics(t)))
    assert words.between(80, 300).all()
    assert demo[schema.LYRICS].str.contains(r"\[Chorus\]").all()
    cleaned = demo[schema.LYRICS].map(clean_lyrics)
    assert not cleaned.str.contains(r"\[").any()
    # the chorus repeats
    first = demo[schema.LYRICS].iloc[0].split("[Chorus]\n")[1].split("\n")[0]
    assert demo[schema.LYRICS].iloc[0].count(first) >= 2


def test_themes_cut_across_moods(demo):
    table = pd.crosstab(demo["theme"], demo["latent_mood"])
    assert table.shape == (7, 4)
    assert (table > 0).all().all()


def test_tags_are_zipf_like_with_mood_synonyms_and_few_tag_songs(demo):
    n_tags = demo[schema.TAGS].map(len)
    assert (n_tags < 11).mean() > 0.05
    counts = demo[schema.TAGS].map(lambda tags: [c for _, c in tags])
    assert counts.map(lambda c: c == sorted(c, reverse=True)).all()
    assert counts.map(lambda c: c[0] > 3 * c[-1]).mean() > 0.8
    tags = {t for tags in demo[schema.TAGS] for t, _ in tags}
    assert {"cheerful", "melancholy", "mellow", "upbeat", "rock", "seen live"} <= tags


def test_label_rule_is_applied_and_rejects_for_every_reason(demo):
    assert set(demo[schema.LABEL].dropna()) == {"happy", "sad"}
    assert set(demo["label_reason"].dropna()) == {
        "too_few_tags", "no_mood_tag", "not_in_top_k", "not_dominant"
    }
    labelled = demo[demo[schema.LABEL].notna()]
    # tags mostly, but not always, agree with the lyrics' mood
    agreement = (labelled[schema.LABEL] == labelled["latent_mood"]).mean()
    assert 0.75 < agreement < 0.97


def test_lastfm_weights_variant():
    df = load_demo(200, random_state=1, tag_counts="lastfm")
    assert df[schema.TAGS].map(lambda t: t[0][1] == 100 and all(c <= 100 for _, c in t)).all()
    assert df.attrs["counts"] == "relative"
    assert df[schema.LABEL].notna().sum() > 30


def test_duplicates_across_albums_and_dedupe(demo):
    key = demo[schema.TITLE] + "|" + demo[schema.ARTIST]
    dup = key[key.duplicated(keep=False)]
    assert len(dup) >= 10
    assert demo.loc[dup.index, schema.ALBUM].nunique() > 1
    deduped = drop_duplicate_songs(demo)
    assert len(deduped) == key.nunique()
    # copies of a song share a split
    assert demo.loc[dup.index].groupby(key[dup.index])[schema.SPLIT].nunique().eq(1).all()


def test_dedupe_ignores_version_notes():
    df = pd.DataFrame(
        {
            schema.TITLE: ["Long Road", "Long Road (Live)", "Long Road - Remastered 2011", "Short Road"],
            schema.ARTIST: ["The Foxes", "Foxes", "the foxes", "The Foxes"],
        }
    )
    assert drop_duplicate_songs(df)[schema.TITLE].tolist() == ["Long Road", "Short Road"]


def test_splits_fractions():
    df = load_demo(1000, random_state=0, label=False)
    share = df[schema.SPLIT].value_counts(normalize=True)
    assert share["train"] == pytest.approx(0.7, abs=0.06)
    assert share["test"] == pytest.approx(0.15, abs=0.05)
    with pytest.raises(ValueError, match="summing to 1"):
        assign_splits(df, (0.5, 0.2, 0.2))


def test_stable_splits_do_not_move_when_songs_are_added():
    """A dataset built again after more songs were scraped used to draw every split anew (the draws went in
    table order), so songs moved between test and train from one build to the next."""
    df = pd.DataFrame({schema.TITLE: [f"Song {i}" for i in range(3000)],
                       schema.ARTIST: [f"Artist {i % 40}" for i in range(3000)]})
    before = assign_splits(df)
    more = pd.concat([df.iloc[:10], pd.DataFrame({schema.TITLE: ["A New Song", "Song 5 (Live)"],
                                                   schema.ARTIST: ["Someone", "Artist 5"]}), df.iloc[10:]],
                     ignore_index=True)
    after = assign_splits(more)
    assert after.drop([10, 11]).tolist() == before.tolist()
    assert after[11] == before[5]  # a live version goes with its song
    assert assign_splits(df.iloc[::-1]).tolist() == before.iloc[::-1].tolist()  # order does not matter either
    assert before.value_counts(normalize=True)["train"] == pytest.approx(0.7, abs=0.03)
    assert (assign_splits(df, random_state=1) != before).mean() > 0.3  # another seed, other splits
    unstable = assign_splits(more, stable=False)
    assert (unstable.drop([10, 11]).to_numpy() != assign_splits(df, stable=False).to_numpy()).mean() > 0.3
    with pytest.raises(ValueError, match="whole number"):
        assign_splits(df, random_state=None)


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_songs"):
        load_demo(0)
    with pytest.raises(ValueError, match="tag_counts"):
        load_demo(10, tag_counts="weights")


def test_parquet_round_trip(demo, tmp_path):
    path = save_dataset(demo, tmp_path / "sub" / "demo.parquet")
    back = load_dataset(path)
    assert back[schema.TAGS].iloc[0] == demo[schema.TAGS].iloc[0]
    assert isinstance(back[schema.TAGS].iloc[0][0], tuple)
    pd.testing.assert_frame_equal(
        back.drop(columns=[schema.TAGS]), demo.drop(columns=[schema.TAGS]), check_dtype=False
    )
    assert not list(tmp_path.glob("sub/*.tmp*"))


def test_category_columns_of_a_parquet_file_come_back_as_their_values(demo, tmp_path, capsys):
    """pandas writes a category column as Parquet's dictionary encoding and reads it back as a category,
    whose values cannot be joined or compared as text: `musemood check` stopped on one with "unsupported
    operand type(s) for +: 'Categorical' and 'str'"."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from musemood.cli import main

    songs = demo.head(40).drop(columns=[schema.TAGS]).reset_index(drop=True)
    songs.loc[3, schema.LABEL] = None
    coded = songs.astype({schema.TITLE: "category", schema.ARTIST: "category", schema.LABEL: "category"})
    coded["year"] = pd.Categorical([1990 + i % 3 for i in range(40)])
    coded["loud"] = pd.Categorical([None if i == 5 else i % 2 for i in range(40)])
    coded.to_parquet(tmp_path / "coded.parquet")
    assert pa.types.is_dictionary(pq.read_schema(tmp_path / "coded.parquet").field(schema.TITLE).type)
    back = load_dataset(tmp_path / "coded.parquet")
    assert not any(isinstance(dtype, pd.CategoricalDtype) for dtype in back.dtypes)
    for column in (schema.TITLE, schema.ARTIST, schema.LABEL):
        pd.testing.assert_series_equal(back[column], songs[column], check_dtype=False)
    assert back["year"].dtype == np.int64 and back["year"].tolist()[:3] == [1990, 1991, 1992]
    assert back["loud"].dtype == np.float64 and np.isnan(back["loud"][5]) and back["loud"][4] == 0
    assert main(["check", str(tmp_path / "coded.parquet")]) == 2  # the report's one error: a song with no label
    printed = capsys.readouterr()
    assert "1 of 40 songs has no label" in printed.out and "1 error" in printed.out and not printed.err


def test_csv_with_json_tags(tmp_path):
    path = tmp_path / "songs.csv"
    path.write_text('title,tags\nA,"[[""happy"", 10], [""rock"", 2]]"\nB,"{""sad"": 4}"\nC,\n')
    df = load_dataset(path)
    assert df[schema.TAGS].tolist() == [[("happy", 10), ("rock", 2)], [("sad", 4)], []]


def test_tags_written_by_pandas_to_csv_are_read(tmp_path):
    """A frame whose tags are pairs or a dict, saved with DataFrame.to_csv, holds Python's repr of them."""
    df = pd.DataFrame({"title": ["A", "B", "C", "D"], "artist": ["a", "b", "c", "d"],
                       "tags": [[("happy", 10), ("it's fun", 2)], {"sad": np.float64(4.5)}, None,
                                [("calm", np.int64(3))]]})
    df.to_csv(tmp_path / "songs.csv", index=False)
    assert load_dataset(tmp_path / "songs.csv")[schema.TAGS].tolist() == [
        [("happy", 10), ("it's fun", 2)], [("sad", 4.5)], [], [("calm", 3)]]
    (tmp_path / "code.csv").write_text('title,tags\nA,"[(\'sad\', __import__(\'os\').getpid())]"\n')
    with pytest.raises(ValueError, match="row 0: tags are neither JSON nor a Python list or dict"):
        load_dataset(tmp_path / "code.csv")  # literals only: nothing is run


def test_corrupt_and_missing_files_are_reported(tmp_path, caplog):
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(ValueError, match="broken.parquet.*corrupt"):
        load_dataset(bad)
    with pytest.raises(FileNotFoundError):
        load_dataset(tmp_path / "nope.parquet")
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(ValueError, match=r"x.xlsx: unknown file type '.xlsx'; use .parquet, .csv or .tsv "
                                         r"\(spreadsheets open and save .csv files: choose \"CSV UTF-8\"\)$"):
        load_dataset(tmp_path / "x.xlsx")
    (tmp_path / "x.csv.gz").write_text("")
    with pytest.raises(ValueError, match=r"x.csv.gz: unknown file type '.gz'; use .parquet, .csv or .tsv \(a "
                                         r"compressed file: decompress it, or use .parquet, which is compressed and "
                                         r"reads faster\)$"):
        load_dataset(tmp_path / "x.csv.gz")
    (tmp_path / "x.json").write_text("")
    with pytest.raises(ValueError, match=r"unknown file type '.json'; use .parquet, .csv or .tsv$"):
        load_dataset(tmp_path / "x.json")
    csv = tmp_path / "badtags.csv"
    csv.write_text("title,tags\nA,[[oops\n")
    with pytest.raises(ValueError, match="row 0: tags are neither JSON nor a Python list or dict"):
        load_dataset(csv)
    for tags, message in (('"{""happy"": ""lots""}"', "row 0: the tag entry \\('happy', 'lots'\\) is not a tag with"),
                          ('"[[""sad""]]"', "row 0: the tag entry \\['sad'\\] is not a tag"),
                          ('"{""happy"": -5}"', "row 0: tag 'happy' has the count -5; counts are numbers >= 0"),
                          ('7', "row 0: tags are 7; give a list of \\[tag, count\\] pairs")):
        csv.write_text(f"title,tags\nA,{tags}\n")
        with pytest.raises(ValueError, match=f"badtags.csv, {message}"):
            load_dataset(csv)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("title,lyrics\nA,la\nB,\"one\ncaf\u00e9 au lait\"\n".encode("cp1252"))
    with pytest.raises(ValueError) as error:
        load_dataset(latin)
    said = str(error.value)  # where, what it reads as, and how to mend it; not "corrupt": the file is whole
    assert said.startswith(f"{latin}, line 4 (byte 28): b'\\xe9' is not UTF-8") and "(near 'café au lait" in said
    assert "Windows-1252" in said and "CSV UTF-8" in said and "iconv -f cp1252 -t utf-8" in said
    assert "corrupt" not in said.replace(str(latin), "")
    latin.write_text("title,lyrics\nA,caf\u00e9\n", encoding="utf-16")  # a spreadsheet's "Unicode Text"
    with pytest.raises(ValueError, match="latin.csv is UTF-16 text, not UTF-8: .*iconv -f utf-16 -t utf-8"):
        load_dataset(latin)
    for encoding, named in (("utf-16-le", "utf-16le"), ("utf-16-be", "utf-16be")):  # no byte-order mark: it
        latin.write_bytes("title,lyrics\nA,caf\u00e9\n".encode(encoding))  # is UTF-8 too, with NULs in names
        with pytest.raises(ValueError, match=f"latin.csv is UTF-16 text \\(without a byte-order mark\\), not "
                                             f"UTF-8: .*iconv -f {named} -t utf-8"):
            load_dataset(latin)
    import zipfile

    with zipfile.ZipFile(latin, "w") as book:  # a spreadsheet's .xlsx (a zip) named .csv: not "reads as '€'"
        book.writestr("xl/workbook.xml", "<workbook>" + "<row/>" * 500 + "</workbook>")
    with pytest.raises(ValueError, match="latin.csv holds NUL bytes, which no text file holds: it is not a CSV"):
        load_dataset(latin)
    # a spreadsheet's "CSV" separated by semicolons (or tabs), or a ".tsv" with commas: read by its header, said
    rows = pd.DataFrame({"title": ["A", 'Say "Hi"'], "artist": ["B", "C; D"], "lyrics": ["la, la", "one;\ntwo"]})
    for name, sep, said in (("semicolons.csv", ";", "semicolons"), ("tabs.csv", "\t", "tabs"),
                            ("commas.tsv", ",", "commas")):
        rows.to_csv(tmp_path / name, sep=sep, index=False)
        with caplog.at_level("WARNING", logger="musemood.datasets"):
            pd.testing.assert_frame_equal(load_dataset(tmp_path / name), rows)
            pd.testing.assert_frame_equal(load_dataset(tmp_path / name, columns=["lyrics"]), rows[["lyrics"]])
        assert f"{name} is separated by {said} (its header: {sep.join(rows.columns)!r})" in caplog.text
    # and its numbers written with a decimal comma, as such a spreadsheet writes them
    (tmp_path / "decimal.csv").write_text("title;valence;tempo;lyrics;song_id\nA;0,52;120;la, 1,5;1,5\n"
                                          "B;-1,5e-3;98,25;;2,5\nC;;90;no;7\n")
    with caplog.at_level("WARNING", logger="musemood.datasets"):
        df = load_dataset(tmp_path / "decimal.csv")
    assert df["valence"].tolist()[:2] == [0.52, -0.0015] and np.isnan(df["valence"][2])
    assert df["tempo"].tolist() == [120.0, 98.25, 90.0]
    assert df["lyrics"].tolist()[0] == "la, 1,5" and df["song_id"].tolist() == ["1,5", "2,5", "7"]  # text stays
    assert "decimal.csv: decimal commas read as numbers in valence, tempo" in caplog.text
    # titles, artists and lyrics are read as written: pandas took "None", "NULL" and "NA" for missing values
    (tmp_path / "names.csv").write_text("song_id,title,artist,lyrics,valence,label\nNA,None,NULL,nan,NA,happy\n"
                                        "s2,,N/A,la,0.5,\n")
    df = load_dataset(tmp_path / "names.csv")
    assert df.iloc[0][["song_id", "title", "artist", "lyrics"]].tolist() == ["NA", "None", "NULL", "nan"]
    assert np.isnan(df["valence"][0]) and pd.isna(df["title"][1]) and pd.isna(df["label"][1])
    assert df["artist"][1] == "N/A" and df["valence"][1] == 0.5
    (tmp_path / "unnamed.csv").write_text(",title,extra\n0,NA,\nNULL,,NULL\n")  # a column without a name
    df = load_dataset(tmp_path / "unnamed.csv")
    assert df["Unnamed: 0"][0] == 0 and pd.isna(df["Unnamed: 0"][1])
    assert df["title"][0] == "NA" and pd.isna(df["title"][1]) and df["extra"].isna().all()
    # a column named twice: pandas read the second as "lyrics.1", and a model took the first without a word
    (tmp_path / "twice.csv").write_text("title,lyrics,label,lyrics\nA,la la,happy,other words\n")
    with pytest.raises(ValueError, match=r"twice.csv: its header names the column 'lyrics' twice \(columns 2 and 4\)"):
        load_dataset(tmp_path / "twice.csv")
    # rows of more fields than the header names: pandas made the first ones an index, every column shifted
    for text in ("title;artist;lyrics\nA;B;la;la;la\nC;D;la;la;la\n", "title,artist,lyrics\nA,B,la,la,la\n"):
        (tmp_path / "extra.csv").write_text(text)
        with pytest.raises(ValueError, match=r"extra.csv: its rows hold more fields than its header names columns, "
                                             r"so each field would be read into another column; quote the fields"):
            load_dataset(tmp_path / "extra.csv")
        with pytest.raises(ValueError, match=r"extra.csv: its rows hold more fields"):  # asked for every column
            load_dataset(tmp_path / "extra.csv", columns=["title", "artist", "lyrics"])
        with pytest.raises(ValueError, match=r"extra.csv: its rows hold more fields"):
            load_dataset(tmp_path / "extra.csv", columns=["lyrics"])
    (tmp_path / "ragged.csv").write_text("title;artist;lyrics\nA;B;la\nC;D;la;la;la\n")
    with pytest.raises(ValueError, match="ragged.csv could not be read as CSV.*Expected 3 fields in line 3, saw 5"):
        load_dataset(tmp_path / "ragged.csv")
    (tmp_path / "lyrics.csv").write_text("lyrics\nla; la\n")  # one column, and a ";" only in the songs: fine
    assert load_dataset(tmp_path / "lyrics.csv")["lyrics"].tolist() == ["la; la"]


def test_a_tsv_without_quoting_is_read_a_line_a_row(tmp_path, caplog):
    """Poem Sentiment's TSVs use no quoting, and a verse may open with a quote mark: pandas' CSV quoting took
    that mark as opening a field that ran on over the next lines, so 892 verses were read as 749 rows, their
    texts holding other rows' ids and labels."""
    verses = ["with pale blue berries. in these peaceful shades--", '"and is it thus," she cried, "we part?',
              "it flows so long as falls the rain,", "live with heav'ns choicest blessings crown'd!",
              '"o, wail!" he said', "a wail of utter agony", 'the "quiet" of the hills']
    path = tmp_path / "verses.tsv"
    path.write_text("id\tlyrics\tlabel\n" + "\n".join(f"{i}\t{v}\t{i % 3 - 1}" for i, v in enumerate(verses)))
    with caplog.at_level("WARNING", logger="musemood.datasets"):
        df = load_dataset(path)
    assert df["lyrics"].tolist() == verses and df["label"].tolist() == [i % 3 - 1 for i in range(7)]
    assert "verses.tsv has no quoting: read a line a row (7 rows)" in caplog.text
    # a TSV that pandas (and musemood) wrote quotes its fields with tabs, line breaks or quote marks: kept as is
    songs = pd.DataFrame({"title": ['Say "hi"', "Tabs"], "lyrics": ['first line\n"second" line', "a\tb\nc"]})
    save_dataset(songs, tmp_path / "ours.tsv")
    caplog.clear()
    pd.testing.assert_frame_equal(load_dataset(tmp_path / "ours.tsv"), songs)
    assert not caplog.records
    # a quote mark never closed: the quoted reading fails at the end of the file
    path.write_text("id\tlyrics\tlabel\n0\t\"o, wail! he said\t1\n1\tquiet hills\t0\n")
    assert load_dataset(path)["lyrics"].tolist() == ['"o, wail! he said', "quiet hills"]
    # neither reading works: a quote ran over lines, and a line has a field too many
    bad = tmp_path / "bad.tsv"
    bad.write_text('id\tlyrics\tlabel\n0\t"open quote\t1\n1\tnext\t0\n2\tone\ttoo\tmany\n')
    with pytest.raises(ValueError, match=r"bad.tsv: a field opens with a quote mark that is not closed as CSV "
                                         r"quoting needs \(line \d+: .*\), and without quoting its lines do not"):
        load_dataset(bad)
    # a CSV needs its quoting (commas in lyrics): a stray quote mark is refused, naming the line, not merged
    stray = tmp_path / "stray.csv"
    stray.write_text('title,lyrics,label\nA,"la la, la,happy\nB,next song,sad\nC,"fine, quoted",sad\n')
    with pytest.raises(ValueError, match=r"stray.csv: a field opens with a quote mark that is not closed as CSV "
                                         r"quoting needs \(line \d+: .*\): read as it is, rows would be merged"):
        load_dataset(stray)
    songs.assign(lyrics=['He said "stop, now"\nand left', '"Quoted" start, and more']).pipe(
        save_dataset, tmp_path / "ours.csv")
    assert load_dataset(tmp_path / "ours.csv")["lyrics"].tolist() == ['He said "stop, now"\nand left',
                                                                       '"Quoted" start, and more']


def test_validate_dataset_names_missing_columns():
    with pytest.raises(ValueError, match=r"missing columns \['lyrics'"):
        validate_dataset(pd.DataFrame(columns=["song_id", "title", "artist"]))


def test_tfidf_baseline_is_calibrated_between_70_and_87_percent():
    """The corpus is learnable from lyrics but not trivially (docs/demo-corpus.md)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline

    df = load_demo(2500, random_state=11)
    songs = drop_duplicate_songs(df[df[schema.LABEL].notna()])
    model = make_pipeline(TfidfVectorizer(sublinear_tf=True, min_df=2), LogisticRegression(max_iter=1000))
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    acc = cross_val_score(model, songs[schema.LYRICS].map(clean_lyrics), songs[schema.LABEL].astype(str), cv=folds)
    assert 0.70 <= acc.mean() <= 0.87, acc


def test_progress_bar_on_request(capsys):
    load_demo(30, show_progress_bar=True, label=False)
    assert "Generating songs" in capsys.readouterr().err
    load_demo(30, label=False)
    assert "Generating songs" not in capsys.readouterr().err


def test_a_large_demo_corpus_is_generated_without_running_out_of_artist_names():
    """The artist names' 1,220 combinations ran out: `musemood demo --n-songs 11000` (1,333 artists) looped
    forever, and 10,000 songs crawled. Past the combinations, a name takes a numeral (Ada and the Echoes II)."""
    df = load_demo(12_000, random_state=0)
    assert len(df) == 12_000
    artists = df["artist"].drop_duplicates()
    assert len(artists) > 1220 and artists.str.endswith((" II", " III", " IV")).any()


def test_dataset_report_lists_every_problem_at_once(tmp_path, capsys):
    """One run names what training, labelling and the recommender would each stop at, one error a run."""
    from musemood.cli import main
    from musemood.datasets import dataset_report

    demo = load_demo(120, random_state=0)
    clean = demo[demo["label"].notna()].reset_index(drop=True)
    assert {level for level, _, _ in dataset_report(clean)} == {"ok"}
    valence = [(level, m) for level, topic, m in dataset_report(clean, label_column="valence") if topic == "labels"]
    assert valence[-1][0] == "ok"  # numbers, as fit reads them: a regression target, not classes of one song
    assert "different numbers in 'valence': a regression target (--objective regression)" in valence[-1][1]
    odd = clean.assign(key=-1.0)  # Spotify's "no key detected"
    odd.loc[:1, ["title", "artist"]] = [None, "Someone"]  # two songs without a title are not copies
    assert {level for level, topic, _ in dataset_report(odd) if topic != "titles"} == {"ok"}
    assert [level for level, topic, m in dataset_report(odd) if "no title" in m] == ["warning"]
    copies = [m for _, topic, m in dataset_report(clean) if "copy" in m]
    assert [m for _, topic, m in dataset_report(odd) if "copy" in m] == copies
    messy = clean.copy()
    messy.loc[1, "lyrics"] = " "
    messy.loc[2, "label"] = None
    messy.loc[3, "label"] = "Happy "
    messy.loc[4, "label"] = "calm"
    messy.loc[5, "song_id"] = messy.loc[6, "song_id"]
    messy["tempo"] = messy["tempo"].astype(object)
    messy.loc[7, "tempo"] = "fast"
    messy.loc[8, "valence"] = 7.0
    messy = messy.drop(columns=["mode"])
    findings = dataset_report(messy)
    errors = [message for level, _, message in findings if level == "error"]
    warnings = [message for level, _, message in findings if level == "warning"]
    assert len(errors) == 6, errors
    assert errors[0].startswith(f"1 of {len(messy)} songs has no text in 'lyrics', the first at row 1 (song_id ")
    assert errors[1].startswith(f"1 of {len(messy)} songs has no label in 'label' (an empty field, or NA, N/A, "
                             "None, NULL or NaN in a CSV), the first at row 2 (song_id ")
    assert "the labels 'Happy ' (1 song) and 'happy' (" in errors[2]
    assert errors[3].startswith("classes with a single song") and "'calm'" in errors[3] and "'Happy '" in errors[3]
    assert errors[4].startswith(f"1 id is given to more than one row ({messy.loc[6, 'song_id']!r})")
    assert errors[5].startswith("'tempo' holds 1 value that is not a number, the first 'fast' at row 7 (song_id ")
    assert any("['mode'] are absent" in w for w in warnings)
    assert any(w.startswith("'valence' has 1 value outside 0 to 1, the first 7 at row 8 (song_id ") for w in warnings)
    # the command: every finding printed, exit code 2; --json
    path = save_dataset(messy, tmp_path / "messy.csv")
    assert main(["check", str(path)]) == 2
    out = capsys.readouterr().out
    assert out.count("  error   ") == 6 and out.rstrip().endswith("6 errors: fix them before training (or see "
                                                                      "the options named)")
    assert main(["check", str(path), "--json"]) == 2
    import json

    report = json.loads(capsys.readouterr().out)
    assert report["errors"] == 6 and report["songs"] == len(messy) and len(report["findings"]) == len(findings)
    assert main(["check", str(save_dataset(clean, tmp_path / "clean.csv"))]) == 0
    assert capsys.readouterr().out.rstrip().endswith("0 errors: nothing stops training, labelling or the recommender")


def test_tags_that_cannot_be_read_are_all_named(tmp_path, capsys):
    """load_dataset names every row whose tags it cannot read, not only the first; `musemood check` lists them
    beside the file's other problems instead of stopping at the first bad tag (and still counts the labels the
    rule gives the others)."""
    from musemood.cli import main
    from musemood.datasets import dataset_report

    path = tmp_path / "tags.csv"
    path.write_text('song_id,title,artist,lyrics,tags,label\n'
                    'a,T1,A,some words,"[[""happy"", 10]]",happy\n'
                    'b,T2,B,more words,"[[""sad"", -3]]",sad\n'
                    'c,T3,C,other words,not json,sad\n'
                    'd,T4,D,,"[[""sad"", 4]]",sad\n'
                    'e,T5,E,words,"[[""happy"", ""lots""]]",happy\n')
    with pytest.raises(ValueError, match=r"tags.csv, row 1: tag 'sad' has the count -3; counts are numbers >= 0 .*\. "
                                         r"3 rows have tags that cannot be read: rows 1, 2 and 4$"):
        load_dataset(path)
    assert main(["check", str(path)]) == 2
    out = capsys.readouterr().out
    assert "no text in 'lyrics', the first at row 3 (song_id 'd')" in out  # found beside the tags
    assert ("3 of 5 songs have tags that cannot be read, the first at row 1 (song_id 'b'): tag 'sad' has the "
            "count -3") in out
    # in memory too: dataset_report on a table whose tag lists hold a count that is not a number
    df = pd.DataFrame({"song_id": ["a", "b", "c"], "lyrics": ["x y", "y z", "z x"], "label": ["happy", "sad", "sad"],
                       "tags": [[("happy", 10)], [("sad", "many")], [("sad", 5)]]})
    tags = [(level, message) for level, topic, message in dataset_report(df) if topic == "tags"]
    assert tags[0] == ("error", "1 of 3 songs has tags that cannot be read, the first at row 1 (song_id 'b'): the "
                                "tag entry ('sad', 'many') is not a tag with a number of listeners (a [tag, count] "
                                "pair, or {\"tag\": ..., \"count\": ...})")
    assert tags[1][0] == "ok" and tags[1][1].startswith("2 songs have tags")


def test_a_label_written_as_a_word_for_missing_is_said_to_be_read_as_none(tmp_path, capsys):
    """A class called "None" reads as no label (so would R's NA): the message says which words count as
    missing, so that the user renames the class instead of dropping its songs with --drop-missing."""
    from musemood.cli import main

    path = tmp_path / "none.csv"
    rows = [f"s{i},some words {i},{['joy', 'sadness', 'None'][i % 3]}" for i in range(12)]
    path.write_text("song_id,lyrics,label\n" + "\n".join(rows) + "\n")
    assert main(["check", str(path)]) == 2
    assert ("4 of 12 songs have no label in 'label' (an empty field, or NA, N/A, None, NULL or NaN in a CSV), the "
            "first at row 2 (song_id 's2')") in capsys.readouterr().out


def test_a_file_musemood_label_wrote_is_checked_and_trained_on_as_it_is(tmp_path, capsys, caplog):
    """label --out keeps the songs the rule rejected, with a reason: check and train leave them out."""
    from musemood.cli import main
    from musemood.datasets import load_demo, save_dataset

    save_dataset(load_demo(120, random_state=0).drop(columns=["label", "label_reason"]), tmp_path / "songs.parquet")
    assert main(["label", str(tmp_path / "songs.parquet"), "--out", str(tmp_path / "labelled.csv")]) == 0
    labelled = pd.read_csv(tmp_path / "labelled.csv")
    rejected = int(labelled["label"].isna().sum())
    assert 0 < rejected < len(labelled) and labelled["label_reason"].notna().sum() == rejected
    capsys.readouterr()
    assert main(["check", str(tmp_path / "labelled.csv")]) == 0
    assert (f"ok      labels    {rejected} of 120 songs were not labelled by the k/epsilon rule ('label_reason' says "
            "why): training and evaluation leave them out") in capsys.readouterr().out
    assert main(["train", "--data", str(tmp_path / "labelled.csv"), "--model", "dnn", "--epochs", "1",
                 "--out", str(tmp_path / "model")]) == 0
    # of the 'train' songs: train holds out the 'valid' and 'test' ones, labelled or not
    train = labelled[labelled["split"] == "train"]
    assert (f"left out {train['label'].isna().sum()} of {len(train)} songs that the k/epsilon rule did not label"
            in caplog.text)
    assert (f"Held out the {labelled['label'].notna().sum() - train['label'].notna().sum()} labelled songs"
            in capsys.readouterr().out)
    assert (tmp_path / "model").is_dir()


def test_the_report_names_a_column_that_likely_holds_the_song_ids():
    from musemood.datasets import dataset_report

    df = pd.DataFrame({"ID": ["a", "b"], "lyrics": ["x", "y"], "label": ["happy", "sad"]})
    [ids] = [message for _, topic, message in dataset_report(df) if topic == "song ids"]
    assert ids == "no 'song_id' column: the recommender and the map name songs by it; rename 'ID' to 'song_id' if " \
                  "it holds them"
    [ids] = [message for _, topic, message in dataset_report(df.rename(columns={"ID": "n"})) if topic == "song ids"]
    assert ids.endswith("name songs by it")


def test_the_report_says_what_the_recommender_needs_of_titles_and_artists():
    from musemood.datasets import dataset_report

    df = pd.DataFrame({"song_id": list("abcd"), "lyrics": ["w x", "x y", "y z", "z w"],
                       "label": ["happy", "sad", "happy", "sad"]})
    [titles] = [(level, m) for level, topic, m in dataset_report(df) if topic == "titles"]
    assert titles == ("warning", "no 'title' or 'artist' column: the recommender and the map (`musemood map`) find "
                                 "songs by title and artist; training does not need them")
    named = df.assign(title=["One", None, "Two", "two"], artist=["A", "B", pd.NA, pd.NA])
    findings = [(level, m) for level, topic, m in dataset_report(named) if topic == "titles"]
    assert findings == [
        ("warning", "1 song has no title (the first at row 1 (song_id 'b')): the recommender recommends them but "
                    "cannot find them by name"),
        ("ok", "2 songs have no artist: named by the title alone"),
        ("ok", "1 song is another's copy by title and artist (a re-release, a live version): a song's "
               "recommendations leave its copies out"),
    ]


def test_the_report_names_lyrics_that_are_empty_once_cleaned():
    """'[Instrumental]' is a text, so training takes the song, but the models read it as no words at all."""
    from musemood.datasets import dataset_report

    df = pd.DataFrame({"song_id": list("abc"), "lyrics": ["sun and rain", "[Instrumental]", "[Chorus]\n"],
                       "label": ["happy", "sad", "sad"]})
    texts = [(level, m) for level, topic, m in dataset_report(df) if topic == "text"]
    assert texts == [
        ("ok", "every song has a text in 'lyrics'"),
        ("warning", "2 of 3 songs have no words once their lyrics are cleaned (the first at row 1 (song_id 'b'): "
                    "'[Instrumental]'): the models read them as empty texts and the recommender refuses them "
                    "(musemood map --drop-missing leaves them out); leave them out, or give their lyrics"),
    ]


def test_the_report_warns_about_imbalanced_classes():
    from musemood.datasets import dataset_report

    labels = ["joy"] * 30 + ["sadness"] * 12 + ["fear"] * 5
    df = pd.DataFrame({"lyrics": [f"text {i}" for i in range(len(labels))], "label": labels})
    warnings = [m for level, topic, m in dataset_report(df) if topic == "labels" and level == "warning"]
    assert warnings == ["imbalanced classes: joy has 30 songs and fear 5 (6.0 to 1): accuracy rewards predicting "
                        "the largest class; read macro-F1, and train with --class-weight balanced "
                        "(class_weight='balanced')"]
    balanced = df.assign(label=["joy", "sadness"] * 23 + ["joy"])
    assert not [m for level, topic, m in dataset_report(balanced) if topic == "labels" and level == "warning"]


def test_the_report_names_split_values_the_recommender_does_not_know():
    from musemood.datasets import dataset_report

    df = pd.DataFrame({"lyrics": [f"text {i}" for i in range(6)], "label": ["happy", "sad"] * 3,
                       "split": ["train", "train", "val", "val", "Test", None]})
    [split] = [(level, m) for level, topic, m in dataset_report(df) if topic == "split"]
    assert split == ("warning", "'split' holds values other than train, valid and test: 'val' (2 songs), 'Test' (1 "
                                "song); train and tune hold out only the 'valid' and 'test' songs, and the recommender "
                                "tunes on the 'valid' ones and evaluates on the 'test' ones (else on random halves): "
                                "rename them")
    known = df.assign(split=["train", "train", "valid", "test", "train", None])
    [split] = [(level, m) for level, topic, m in dataset_report(known) if topic == "split"]
    assert split == ("ok", "3 train, 1 valid, 1 test: train and tune learn from the 'train' songs (--all-splits: from "
                           "all), evaluate scores the others, and the recommender tunes on the 'valid' songs and "
                           "evaluates on the 'test' ones")


def test_dataset_report_shows_its_long_steps_when_asked(capsys):
    """`musemood check` on a terminal shows bars for the two steps that take minutes on millions of songs:
    cleaning every lyric, and reading the tags (then the label rule's own bar); none otherwise."""
    df = load_demo(n_songs=60)
    quiet = dataset_report(df)
    assert capsys.readouterr().err == ""
    shown = dataset_report(df, show_progress_bar=True)
    err = capsys.readouterr().err
    assert "Reading lyrics" in err and "Parsing tags" in err and "Reading tags" in err
    assert shown == quiet


def test_a_folder_of_parquet_parts_reads_as_one_dataset(tmp_path, capsys):
    """What `musemood embed` reads (a data lake's parts) the other commands read too: the parts in file-name
    order, each checked as a file; parts with other columns, or a folder with none, are refused by name."""
    from musemood.cli import main

    df = load_demo(90, random_state=3)
    parts = tmp_path / "songs"
    save_dataset(df.iloc[60:], parts / "part-2.parquet")
    save_dataset(df.iloc[:30], parts / "part-0.parquet")
    save_dataset(df.iloc[30:60], parts / "part-1.parquet")
    (parts / "_SUCCESS").write_text("")  # what Spark leaves beside its parts
    (parts / "notes.txt").write_text("not a part")
    save_dataset(df.iloc[:0], parts / "part-1b.parquet")  # an empty part is no song, not an error
    read = load_dataset(parts)
    pd.testing.assert_frame_equal(read, load_dataset(save_dataset(df, tmp_path / "all.parquet")))
    assert main(["check", str(parts)]) in (0, 2) and f"{parts}: {len(df):,} songs" in capsys.readouterr().out
    save_dataset(df.iloc[:5].drop(columns=["valence"]).assign(mood="x"), parts / "part-3.parquet")
    with pytest.raises(ValueError, match=r"part-3.parquet has other columns than part-0.parquet, the folder's "
                                         r"first part \(missing \['valence'\]; extra \['mood'\]\)"):
        load_dataset(parts)
    (parts / "part-3.parquet").write_bytes(b"PAR1 cut short")  # a damaged part is named as a file is
    with pytest.raises(ValueError, match=r"part-3.parquet could not be read as PARQUET"):
        load_dataset(parts)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="is a folder without Parquet files"):
        load_dataset(empty)
    save_dataset(df.iloc[:0], empty / "part-0.parquet")
    with pytest.raises(ValueError, match="holds no songs: its Parquet part is empty"):
        load_dataset(empty)


def test_a_partitioned_folder_gives_its_partition_columns_back(tmp_path):
    """Spark, pyarrow and pandas write a table partitioned by a column as key=value folders without that column
    in the files: the column comes back from the folder names, as pandas reads it."""
    df = load_demo(60, random_state=3).drop(columns=["label_reason"])
    df["year"] = [2019, 2020, 2021] * 20
    import pyarrow.parquet as pq

    pq.write_to_dataset(pq.read_table(save_dataset(df, tmp_path / "all.parquet")), tmp_path / "lake",
                        partition_cols=["split", "year"])
    read = load_dataset(tmp_path / "lake")
    assert read.columns.tolist()[-2:] == ["split", "year"] and read["year"].dtype.kind == "i"
    merged = read.sort_values("song_id").reset_index(drop=True)
    expected = df.sort_values("song_id").reset_index(drop=True)
    assert merged["split"].tolist() == expected["split"].tolist()
    assert merged["year"].tolist() == expected["year"].tolist()
    # a missing value is written as Hive's default partition; a folder name and a column of the file that disagree
    # are refused
    odd = tmp_path / "odd"
    save_dataset(df.iloc[:3].drop(columns=["split"]), odd / "split=__HIVE_DEFAULT_PARTITION__" / "part-0.parquet")
    save_dataset(df.iloc[3:6].drop(columns=["split"]), odd / "split=my%20test" / "part-0.parquet")
    assert load_dataset(odd)["split"].tolist()[3:] == ["my test"] * 3
    assert load_dataset(odd)["split"].isna().tolist()[:3] == [True] * 3
    save_dataset(df.iloc[6:9], odd / "split=train" / "part-1.parquet")
    with pytest.raises(ValueError, match=r"split=train/part-1.parquet holds a column 'split' and lies in a folder "
                                         r"split=\.\.\."):
        load_dataset(odd)


def test_the_report_counts_one_song_in_the_singular(tmp_path, capsys):
    """A file of one song is "1 song", and one song of several "has" (not "1 songs", "1 of 2 songs have")."""
    from musemood.cli import main

    one = pd.DataFrame({"song_id": ["a"], "lyrics": ["sun and rain"], "tags": [[("happy", 10)]]})
    save_dataset(one, tmp_path / "one.csv")
    assert main(["check", str(tmp_path / "one.csv")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{tmp_path / 'one.csv'}: 1 song, 3 columns\n")
    assert "ok      song ids  1 song, each id once\n" in out and "ok      tags      1 song has tags " in out
    two = pd.DataFrame({"song_id": list("ab"), "lyrics": ["sun and rain", "[Instrumental]"]})
    words = [m for _, topic, m in dataset_report(two) if topic == "text"]
    assert words[1].startswith("1 of 2 songs has no words once their lyrics are cleaned")


def test_a_song_is_named_by_its_row_in_the_file_after_training_holds_out_the_test_songs(demo, tmp_path, capsys):
    """`musemood train` leaves out the 'valid' and 'test' songs first: a training song without lyrics was named
    by its position among the rest ("row 2" for the file's row 7)."""
    from musemood.cli import main

    df = demo[demo[schema.LABEL].notna()].head(30).drop(columns=[schema.TAGS]).reset_index(drop=True)
    df[schema.SPLIT] = ["test"] * 5 + ["train"] * 25
    df.loc[7, schema.LYRICS] = None
    save_dataset(df, tmp_path / "d.parquet")
    assert main(["train", "--data", str(tmp_path / "d.parquet"), "--model", "simple",
                 "--out", str(tmp_path / "m")]) == 2
    assert f"the first at row 7 (song_id {df.at[7, schema.SONG_ID]!r})" in capsys.readouterr().err
    loaded = load_dataset(tmp_path / "d.parquet")
    assert (loaded[loaded[schema.SPLIT] == "train"].index[:3] == [5, 6, 7]).all()
    from musemood.evaluation import check_dataset

    by_id = loaded.set_index(schema.SONG_ID, drop=False)  # indexed otherwise since: positions, not a crash
    with pytest.raises(ValueError, match=rf"the first at row 7 \(song_id {df.at[7, schema.SONG_ID]!r}\)"):
        check_dataset(by_id, schema.LYRICS, schema.LABEL)


def test_a_parquet_file_saved_with_an_index_gives_it_back_as_a_column_or_drops_an_unnamed_one(demo, tmp_path):
    songs = demo.head(6).drop(columns=[schema.TAGS])
    songs.set_index(schema.SONG_ID).to_parquet(tmp_path / "named.parquet")  # pandas keeps the index
    back = load_dataset(tmp_path / "named.parquet")
    assert back[schema.SONG_ID].tolist() == songs[schema.SONG_ID].tolist() and back.index.tolist() == list(range(6))
    songs.iloc[[5, 1, 3]].to_parquet(tmp_path / "unnamed.parquet")
    back = load_dataset(tmp_path / "unnamed.parquet")
    assert back.index.tolist() == [0, 1, 2] and "index" not in back.columns and "__index_level_0__" not in back.columns


def test_not_utf8_finds_the_byte_across_blocks():
    """A file read in blocks: a character split between two blocks is whole, and a bad byte in a later block
    is placed by its line and byte in the file, not in the block."""
    from musemood._validation import not_utf8

    text = "title\n" + "caf\u00e9\n" * 3 + "fa\u00e7ade\n"
    data = text.encode("utf-8")
    blocks = [data[i:i + 4] for i in range(0, len(data), 4)]  # "é" split between blocks
    assert not_utf8(blocks, "x.csv") is None
    bad = data + "na\u00efve\n".encode("cp1252")
    said = not_utf8([bad[i:i + 5] for i in range(0, len(bad), 5)], "x.csv")
    assert said.startswith(f"x.csv, line 6 (byte {len(data) + 2}): b'\\xef' is not UTF-8") and "reads as 'ï'" in said
    assert not_utf8([data, b"\xc3"], "x.csv") == ("x.csv ends in the middle of a UTF-8 character: was it written "
                                                   "completely? Recreate it")


def test_tags_printed_by_numpy_read_back(tmp_path):
    """A table read from Parquet holds each song's tags as a NumPy array, which DataFrame.to_csv writes as
    NumPy prints it: no commas between the tags, lines wrapped.  Such a CSV reads back with the same tags
    as the Parquet file; a print NumPy cut short ("...") is refused, as its tags are lost."""
    songs = load_demo(40, random_state=3, label=False)
    songs.loc[0, "tags"] = [("a} {b", 3), ("it's", 2.5)]  # brackets and quote marks inside a tag
    parquet = save_dataset(songs, tmp_path / "songs.parquet")
    read = pd.read_parquet(parquet)
    assert isinstance(read["tags"].iloc[1], np.ndarray)  # what pandas gives, so what to_csv prints
    read.to_csv(tmp_path / "songs.csv", index=False)
    assert "} {" in (tmp_path / "songs.csv").read_text()
    assert load_dataset(tmp_path / "songs.csv")["tags"].tolist() == load_dataset(parquet)["tags"].tolist()
    pairs = np.array([("happy", 10), ("sad", 2)], dtype=object)  # a 2-D array, of pairs
    pd.DataFrame({"title": ["A"], "tags": [str(pairs)]}).to_csv(tmp_path / "pairs.csv", index=False)
    assert load_dataset(tmp_path / "pairs.csv")["tags"].tolist() == [[("happy", 10), ("sad", 2)]]
    many = np.array([{"tag": f"t{i}", "count": 1.0} for i in range(1200)], dtype=object)
    pd.DataFrame({"title": ["A"], "tags": [many]}).to_csv(tmp_path / "many.csv", index=False)
    with pytest.raises(ValueError, match=r"many.csv, row 0: tags are a NumPy array printed cut short .* lost\. "
                                         "Write the file again with musemood.datasets.save_dataset"):
        load_dataset(tmp_path / "many.csv")


def test_a_table_read_without_its_tags_is_the_table_but_its_tags(tmp_path):
    """tags=False (the recommender and the models do not use tags): the tags column is not read, from a
    Parquet file (one saved with its index too), a folder of parts partitioned by a column, a CSV or a TSV;
    everything else is as load_dataset reads it, a file with shifted rows still refused."""
    songs = load_demo(60, random_state=4, label=False)
    songs.loc[2, "tags"] = [("it's", 3), ("a} {b", 1)]
    files = [save_dataset(songs, tmp_path / "songs.parquet"), save_dataset(songs, tmp_path / "songs.csv"),
             save_dataset(songs, tmp_path / "songs.tsv")]
    pd.read_parquet(files[0]).set_index("song_id").to_parquet(tmp_path / "indexed.parquet")  # ids as the index
    files.append(tmp_path / "indexed.parquet")
    parts = tmp_path / "parts"
    for split, group in songs.groupby("split"):
        (parts / f"split={split}").mkdir(parents=True)
        save_dataset(group.drop(columns="split"), parts / f"split={split}" / "part-0.parquet")
    files.append(parts)
    pd.read_parquet(files[0]).to_parquet(tmp_path / "lake.parquet", partition_cols=["split"])  # a folder
    files.append(tmp_path / "lake.parquet")
    for path in files:
        whole, without = load_dataset(path), load_dataset(path, tags=False)
        assert "tags" in whole.columns and "tags" not in without.columns, path
        pd.testing.assert_frame_equal(without, whole.drop(columns="tags"), obj=str(path))
    shifted = tmp_path / "shifted.csv"
    shifted.write_text("title,lyrics,tags\nA, B,la la,[]\n")  # an unquoted comma in a title: rows shifted
    with pytest.raises(ValueError, match="its rows hold more fields than its header names"):
        load_dataset(shifted, tags=False)


def test_a_stray_nul_in_a_csv_is_no_reason_to_refuse_it(tmp_path):
    path = tmp_path / "songs.csv"
    path.write_bytes(b"title,lyrics\nA,la\x00 la\n" + b"B,more words here\n" * 100)
    assert load_dataset(path)["title"].tolist()[:2] == ["A", "B"]
