"""The recommender: fit, recommend, lookup errors, tuning, evaluation, persistence, CLI."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musemood import schema
from musemood.cli import main
from musemood.clustering import SongMap
from musemood.datasets import drop_duplicate_songs, load_demo, save_dataset
from musemood.encoders import BertEncoder
from musemood.text import clean_lyrics
from musemood.recommender import (
    AmbiguousTitleError,
    Recommender,
    SongNotFoundError,
    golden_section_max,
    recommend,
)


@pytest.fixture(scope="module")
def catalogue():
    return drop_duplicate_songs(load_demo(300, random_state=0)).reset_index(drop=True)


@pytest.fixture(scope="module")
def fitted(catalogue, _tiny_bert_dir):
    encoder = BertEncoder(str(_tiny_bert_dir), max_length=64, stride=16)
    return Recommender().fit(catalogue, encoder)


def test_a_re_released_song_is_recommended_once(catalogue):
    # three more copies of song 5 (other albums and ids: as WASABI lists re-releases), all four with
    # vectors next to song 6's
    copies = catalogue.iloc[[5, 5, 5]].assign(song_id=["re-1", "re-2", "re-3"], album=["Best Of", "Live", "Deluxe"])
    songs = pd.concat([catalogue, copies], ignore_index=True)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(songs), 16)).astype(np.float32)
    vectors[[5, -3, -2, -1]] = vectors[6] + 0.01 * rng.normal(size=(4, 16))
    rec = Recommender(song_map=None).fit(songs, vectors=vectors)
    title = songs.loc[5, "title"]
    for method in ("rerank", "embedding"):
        out = rec.recommend(songs.loc[6, "title"], 10, artist=songs.loc[6, "artist"], method=method)
        assert len(out) == 10 and not out.duplicated(["title", "artist"]).any()
        assert (out["title"] == title).sum() == 1 and out["rank"].tolist() == list(range(1, 11))
    assert out.iloc[0]["title"] == title  # by embedding, the copies' best stands for all four


def test_recommend_a_song(fitted, catalogue):
    song = catalogue.iloc[3]
    out = fitted.recommend(song["title"], top_k=7, artist=song["artist"])
    assert list(out.columns) == ["rank", "title", "artist", "mood", "cluster", "score", "similarity", "lexical",
                                 "shared_keywords", "why"]
    assert len(out) == 7 and out["rank"].tolist() == list(range(1, 8))
    assert (np.diff(out["score"]) <= 1e-12).all()
    assert not ((out["title"] == song["title"]) & (out["artist"] == song["artist"])).any()
    assert out["why"].str.len().min() > 0
    query = out.attrs["query"]
    assert query["title"] == song["title"] and query["keywords"]
    shared = out.loc[out["lexical"] > 0, "shared_keywords"]
    assert shared.map(len).min() >= 1 and set(shared.iloc[0]) <= set(query["keywords"])


@pytest.mark.parametrize("query", [{"title": 3}, {"text": "summer nights by the sea"}, {"title": 8, "mood": "sad"}])
def test_records_hold_what_the_frame_holds(fitted, catalogue, query):
    import json

    if "title" in query:
        query = {**query, "title": catalogue.iloc[query["title"]]["title"],
                 "artist": catalogue.iloc[query["title"]]["artist"]}
    frame = fitted.recommend(top_k=6, **query)
    records = fitted.recommend(top_k=6, as_frame=False, **query)
    assert set(records) == {"query", "results"} and records["query"] == frame.attrs["query"]
    assert [list(r) for r in records["results"]] == [list(frame.columns)] * len(frame)
    expected = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    assert records["results"] == expected
    assert json.loads(json.dumps(records, allow_nan=False)) == records  # plain Python values only
    many = fitted.recommend_many([query], top_k=6, as_frame=False, mood="happy")  # a query's own mood wins
    assert many == [records if "mood" in query else fitted.recommend(top_k=6, as_frame=False, mood="happy", **query)]


def test_recommend_songs_like_several_songs(fitted, catalogue):
    """songs= continues a playlist: candidates by the union of the songs' keywords and by the mean of their
    vectors, the songs themselves left out; one song is its title's query; a song given twice counts once."""
    rows = [3, 8, 12]
    seeds = [(catalogue.loc[r, "title"], catalogue.loc[r, "artist"]) for r in rows]
    out = fitted.recommend(songs=seeds, top_k=10)
    assert len(out) == 10 and not out.duplicated(["title", "artist"]).any()
    assert not set(zip(out["title"], out["artist"])) & set(seeds)
    query = out.attrs["query"]
    assert query["songs"] == [{"title": t, "artist": a} for t, a in seeds] and query["title"] is None
    assert query["keywords"] and query["note"] is None
    by_vector = fitted.recommend(songs=seeds, top_k=10, method="embedding")
    mean = fitted.vectors_[rows].astype(np.float64).mean(axis=0)
    cosines = fitted.vectors_ @ (mean / np.linalg.norm(mean))
    cosines[rows] = -np.inf
    expected = [catalogue.loc[r, "title"] for r in np.argsort(-cosines, kind="stable")[:10]]
    assert by_vector["title"].tolist() == expected
    found = [fitted.find(t, a)[0] for t, a in zip(by_vector["title"], by_vector["artist"])]
    np.testing.assert_allclose(by_vector["similarity"], cosines[found], atol=1e-5)
    one = fitted.recommend(songs=[seeds[0]], top_k=10, as_frame=False)
    assert one == fitted.recommend(seeds[0][0], 10, artist=seeds[0][1], as_frame=False)
    twice = fitted.recommend(songs=[seeds[0], seeds[1], seeds[0]], top_k=10, as_frame=False)
    assert twice["results"] == fitted.recommend(songs=seeds[:2], top_k=10, as_frame=False)["results"]
    sad = fitted.recommend(songs=seeds, top_k=5, mood="sad")
    assert set(sad["mood"]) == {"sad"}
    assert fitted.recommend_many([{"songs": seeds}], top_k=10)[0].equals(out)


def test_a_misspelt_or_unknown_song_among_several(fitted, catalogue):
    title = catalogue.loc[0, "title"]
    typo = title[:-1] + ("x" if title[-1] != "x" else "y")
    out = fitted.recommend(songs=[typo, (catalogue.loc[1, "title"], catalogue.loc[1, "artist"])], top_k=3)
    assert "closest title" in out.attrs["query"]["note"] and out.attrs["query"]["songs"][0]["title"] == title
    with pytest.raises(SongNotFoundError, match="no song titled 'Qwertyuiop Zxcvbnm'"):
        fitted.recommend(songs=[title, "Qwertyuiop Zxcvbnm"], top_k=3)


def test_each_method_ranks_by_its_own_score(fitted, catalogue):
    title = catalogue.iloc[5]["title"]
    lexical = fitted.recommend(title, 10, artist=catalogue.iloc[5]["artist"], method="lexical")
    embedding = fitted.recommend(title, 10, artist=catalogue.iloc[5]["artist"], method="embedding")
    assert (np.diff(lexical["lexical"]) <= 1e-9).all()
    assert (np.diff(embedding["similarity"]) <= 1e-6).all()


def test_typo_unknown_and_ambiguous_titles(fitted, catalogue):
    title = catalogue.iloc[0]["title"]
    typo = title[:-1] + ("x" if title[-1] != "x" else "y")
    out = fitted.recommend(typo, 3)
    assert "closest title" in out.attrs["query"]["note"]
    with pytest.raises(SongNotFoundError, match="did you mean") as err:
        fitted.recommend("Qwertyuiop Zxcvbnm Completely Unknown", 3)
    assert err.value.suggestions
    with pytest.raises(SongNotFoundError, match="not by"):
        fitted.recommend(title, 3, artist="Nobody At All Zzz")


def test_fewer_songs_than_asked_come_with_a_note_saying_why(catalogue, _tiny_bert_dir):
    """top_k above what a query ranks gave a shorter list and no word of it (the API's too)."""
    df = catalogue.head(60).copy()
    rec = Recommender(song_map=None, n_candidates=20).fit(df, BertEncoder(str(_tiny_bert_dir), max_length=32, stride=8))
    title, artist = df.loc[0, "title"], df.loc[0, "artist"]
    assert rec.recommend(title, 5, artist=artist).attrs["query"]["note"] is None  # enough songs: no note
    out = rec.recommend(title, 50, artist=artist)
    note = out.attrs["query"]["note"]
    assert len(out) < 50 and note.startswith(f"{len(out)} songs, fewer than the 50 asked")
    assert "20 best keyword matches and 20 nearest songs" in note and "n_candidates" in note
    lexical = rec.recommend(title, 50, artist=artist, method="lexical", as_frame=False)
    assert "its 20 best keyword matches," in lexical["query"]["note"]
    mood = df.loc[0, "label"] if isinstance(df.loc[0, "label"], str) else "happy"
    by_mood = rec.recommend(title, 50, artist=artist, mood=mood)
    assert f"with the mood {mood!r}" in by_mood.attrs["query"]["note"]
    typo = rec.recommend(title[:-1] + ("x" if title[-1] != "x" else "y"), 50, artist=artist)
    assert "closest title" in typo.attrs["query"]["note"] and "fewer than the 50 asked" in typo.attrs["query"]["note"]


def test_an_ambiguous_title_asks_for_the_artist(catalogue, _tiny_bert_dir):
    df = catalogue.head(60).copy()
    df.loc[1, "title"] = df.loc[0, "title"]
    df.loc[1, "artist"] = "Someone Else Entirely"
    rec = Recommender(song_map=None, n_candidates=20).fit(df, BertEncoder(str(_tiny_bert_dir), max_length=32, stride=8))
    with pytest.raises(AmbiguousTitleError, match="pass artist=") as err:
        rec.recommend(df.loc[0, "title"])
    assert "Someone Else Entirely" in err.value.artists
    assert len(rec.recommend(df.loc[0, "title"], 5, artist="someone else entirely")) == 5


def test_free_text_and_mood_filter(fitted):
    out = fitted.recommend(text="summer nights and dancing", top_k=5, mood="happy")
    assert len(out) == 5 and (out["mood"] == "happy").all()
    assert "summer" in out.attrs["query"]["keywords"] or "dancing" in out.attrs["query"]["keywords"]
    with pytest.raises(ValueError, match="unknown mood"):
        fitted.recommend(text="rain", mood="furious")
    with pytest.raises(ValueError, match="give one of a song title, text= or songs=, not none"):
        fitted.recommend()


def test_mood_masks_are_made_once_and_cannot_be_changed(fitted):
    cat = fitted.catalogue_
    assert cat.mood_names_ == sorted(set(cat.moods_) - {""}) and cat.mood_mask(None) is None
    mask = cat.mood_mask("happy")
    np.testing.assert_array_equal(mask, cat.moods_ == "happy")
    assert cat.mood_mask("happy") is mask and not mask.flags.writeable
    with pytest.raises(ValueError, match=r"unknown mood 'furious'; the catalogue's moods are \['happy', 'sad'\]"):
        cat.mood_mask("furious")


def test_tuned_weights_and_evaluation(fitted):
    assert fitted.tuning_["tuned"] and 0 <= fitted.weights_["lexical"] <= 1
    assert fitted.tuning_["precision"] >= max(fitted.tuning_["lexical_only"], fitted.tuning_["embedding_only"]) - 1e-9
    table = fitted.evaluate(top_k=5)
    assert table["method"].tolist() == ["lexical only", "embeddings only", "tuned rerank", "random (Σ p²)"]
    shares = fitted.catalogue_.songs_["mood"].dropna().value_counts(normalize=True)
    assert table.attrs["random_baseline"] == pytest.approx(float((shares**2).sum()))
    assert table["precision@5"].between(0, 1).all()
    assert 0 <= table.attrs["wilcoxon_rerank_vs_lexical"] <= 1


def test_the_rerank_beats_keywords_when_vectors_know_the_mood(catalogue):
    """With song vectors that carry the mood, the tuned rerank must beat lexical retrieval."""
    rng = np.random.default_rng(0)
    moods = catalogue["label"].fillna("none").to_numpy()
    centres = {m: rng.standard_normal(16) for m in np.unique(moods)}
    vectors = np.stack([centres[m] for m in moods]) + 1.5 * rng.standard_normal((len(moods), 16))
    rec = Recommender(song_map=None).fit(catalogue, None, vectors=vectors)
    table = rec.evaluate(top_k=10).set_index("method")["precision@10"]
    assert table["tuned rerank"] > table["lexical only"] + 0.05
    assert table["tuned rerank"] > table["random (Σ p²)"] + 0.05
    # without a model, free text falls back to keywords and says so
    out = rec.recommend(text="summer dancing", top_k=3)
    assert "keywords only" in out.attrs["query"]["note"]


def test_golden_section_finds_the_maximum():
    x, value, trace = golden_section_max(lambda w: -(w - 0.37) ** 2, 0.0, 1.0)
    assert x == pytest.approx(0.37, abs=0.01) and value <= 0 and len(trace) > 11


def test_save_and_load_give_the_same_answers(fitted, catalogue, tmp_path):
    path = fitted.save(tmp_path / "rec")
    again = Recommender.load(path)
    song = catalogue.iloc[10]
    a = fitted.recommend(song["title"], 8, artist=song["artist"])
    b = again.recommend(song["title"], 8, artist=song["artist"])
    pd.testing.assert_frame_equal(a, b)
    a = fitted.recommend(text="cold rain on the window", top_k=4)
    b = again.recommend(text="cold rain on the window", top_k=4)  # loads the saved encoder lazily
    np.testing.assert_allclose(a["score"], b["score"], rtol=1e-4)
    assert again.weights_ == fitted.weights_
    assert (again.clusters_["songs"].to_numpy() == fitted.clusters_["songs"].to_numpy()).all()
    paths = again.plot_map(tmp_path / "plots")
    assert [p.name for p in paths] == ["k_sweep.png", "map_mood.png", "map_cluster.png"]
    with pytest.raises(FileNotFoundError, match="no saved recommender"):
        Recommender.load(tmp_path)


def test_a_mapped_recommender_answers_as_a_read_one_even_when_saved_over(fitted, catalogue, tmp_path):
    import scipy.sparse as sp

    path = fitted.save(tmp_path / "rec")
    mapped = Recommender.load(path, mmap=True)
    retriever = mapped.retriever_
    for array in (retriever.vectors, retriever.keywords, retriever.lexical.postings_.data):
        while not isinstance(array, np.memmap):  # each is read from a mapping of its file
            array = array.base
    queries = [(catalogue.iloc[i]["title"], catalogue.iloc[i]["artist"]) for i in (1, 10, 40)]
    expected = [fitted.recommend(title, 8, artist=artist) for title, artist in queries]
    for (title, artist), frame in zip(queries, expected):
        pd.testing.assert_frame_equal(mapped.recommend(title, 8, artist=artist), frame)
    # the same folder saved again with other vectors, keywords and postings of the same sizes
    other = Recommender.load(path)
    rng = np.random.default_rng(0)
    other.retriever_.index.vectors_ = np.ascontiguousarray(rng.permutation(other.retriever_.vectors))
    other.retriever_.keywords = rng.permutation(other.retriever_.keywords)
    postings = other.retriever_.lexical.postings_
    other.retriever_.lexical.postings_ = sp.csr_matrix((postings.data[::-1].copy(), postings.indices,
                                                        postings.indptr), shape=postings.shape)
    other.save(path)
    assert not Recommender.load(path).recommend(*queries[0][:1], 8, artist=queries[0][1]).equals(expected[0])
    for (title, artist), frame in zip(queries, expected):
        pd.testing.assert_frame_equal(mapped.recommend(title, 8, artist=artist), frame)


def test_recommend_function_and_cli(fitted, catalogue, tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.setenv("MUSEMOOD_HOME", str(tmp_path))
    fitted.save(tmp_path / "recommender")
    song = catalogue.iloc[2]
    out = recommend(song["title"], top_k=4, artist=song["artist"])
    assert len(out) == 4
    assert main(["recommend", song["title"], "--artist", song["artist"], "--top-k", "3"]) == 0
    printed = capsys.readouterr().out
    assert f"Songs like {song['title']}" in printed and " 3. " in printed
    assert main(["recommend", song["title"], "--artist", song["artist"], "--top-k", "5000"]) == 0
    assert " of the 5000 songs asked for: no more candidates)" in capsys.readouterr().out  # a short list, said
    assert main(["recommend", "Qwertyuiop Zxcvbnm Unknown"]) == 2
    assert "did you mean" in capsys.readouterr().err
    typo = song["title"][:-1]  # a misspelt title: the note says which title was used, once (not also logged)
    with caplog.at_level("WARNING", logger="musemood.catalogue"):
        assert main(["recommend", typo, "--artist", song["artist"], "--top-k", "3"]) == 0
    assert f"(no song titled {typo!r}; using the closest title" in capsys.readouterr().out
    assert "no song titled" not in caplog.text
    with caplog.at_level("WARNING", logger="musemood.catalogue"):  # in Python the log says it, as before
        fitted.recommend(typo, 3, artist=song["artist"])
    assert f"no song titled {typo!r}" in caplog.text
    other = catalogue.iloc[7]  # several titles: songs like all of them, --artist once per title
    assert main(["recommend", song["title"], other["title"], "--artist", song["artist"], "--artist",
                 other["artist"], "--top-k", "4", "--json"]) == 0
    import json

    printed = json.loads(capsys.readouterr().out, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))
    seeds = [(song["title"], song["artist"]), (other["title"], other["artist"])]
    assert printed == fitted.recommend(songs=seeds, top_k=4, as_frame=False)
    assert main(["recommend", song["title"], other["title"], "--artist", song["artist"], "--artist",
                 other["artist"]]) == 0
    assert f"Songs like {song['title']} - {song['artist']}, {other['title']} - {other['artist']} [" in \
        capsys.readouterr().out
    # --text - : songs like the lyrics piped in, as --text with the same lyrics
    import io

    lyrics = str(catalogue.iloc[5]["lyrics"]).strip()
    assert main(["recommend", "--text", lyrics, "--top-k", "4", "--json"]) == 0
    given = capsys.readouterr().out
    assert json.loads(given, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))["results"] == \
        fitted.recommend(text=lyrics, top_k=4, as_frame=False)["results"]  # an unlabelled song's mood is null
    monkeypatch.setattr("sys.stdin", io.StringIO(lyrics + "\n"))
    assert main(["recommend", "--text", "-", "--top-k", "4", "--json"]) == 0
    assert capsys.readouterr().out == given
    monkeypatch.setattr("sys.stdin", io.StringIO(" \n"))
    assert main(["recommend", "--text", "-"]) == 2
    assert "--text - read no text from standard input" in capsys.readouterr().err
    assert main(["evaluate-recommender", "--top-k", "5", "--out", str(tmp_path / "new" / "eval.json")]) == 0
    printed = capsys.readouterr().out
    assert "tuned rerank" in printed and "random" in printed and (tmp_path / "new" / "eval.json").exists()
    assert main(["evaluate-recommender", "--out", str(tmp_path)]) == 2  # a folder: refused before the evaluation
    out, err = capsys.readouterr()
    assert "is a folder; name the JSON file to write" in err and not out
    assert main(["map", "--out", str(tmp_path / "plots")]) == 0
    assert "cluster" in capsys.readouterr().out and (tmp_path / "plots" / "map_mood.png").exists()


def test_map_command_fits_a_catalogue(catalogue, _tiny_bert_dir, tmp_path, capsys):
    data = save_dataset(catalogue.head(120), tmp_path / "songs.parquet")
    code = main(["map", "--data", str(data), "--model", str(_tiny_bert_dir), "--max-length", "32",
                 "--n-clusters", "4", "--recommender", str(tmp_path / "rec")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "cluster  3" in printed and (tmp_path / "rec" / "plots" / "map_cluster.png").exists()
    assert Recommender.load(tmp_path / "rec").map_.n_clusters_ == 4
    code = main(["map", "--data", str(data), "--model", str(_tiny_bert_dir), "--max-length", "32", "--k-rule",
                 "elbow", "--map-on", "lyrics", "--map-encoder", str(_tiny_bert_dir),
                 "--recommender", str(tmp_path / "rec2")])
    printed = capsys.readouterr().out
    assert code == 0 and ("chosen by elbow" in printed or "chosen by silhouette" in printed)
    assert f"Clusters on {_tiny_bert_dir.name} vectors of the lyrics and the audio features" in printed
    again = Recommender.load(tmp_path / "rec2")
    assert again.map_.k_rule == "elbow" and again.map_on_ == "lyrics"
    broken = tmp_path / "broken-tags.csv"  # tags the map does not use are not read (a million songs' take GBs)
    save_dataset(catalogue.head(40), broken)
    pd.read_csv(broken).assign(tags="happy, sad").to_csv(broken, index=False)
    assert main(["map", "--data", str(broken), "--model", str(_tiny_bert_dir), "--max-length", "32",
                 "--n-clusters", "3", "--recommender", str(tmp_path / "rec3")]) == 0
    capsys.readouterr()
    few = save_dataset(catalogue.head(4), tmp_path / "four.parquet")  # too few songs for the k sweep: said in
    code = main(["map", "--data", str(few), "--model", str(_tiny_bert_dir), "--recommender", str(tmp_path / "r4")])
    said = capsys.readouterr().err  # the command's terms, not SongMap's k_range or song_map=None
    assert code == 2 and "4 songs are too few for the map's choice of k" in said and "--n-clusters (2 to 3)" in said
    assert "k_range" not in said and "song_map" not in said
    assert main(["map", "--data", str(few), "--model", str(_tiny_bert_dir), "--n-clusters", "2",
                 "--recommender", str(tmp_path / "r4")]) == 0


def test_map_without_data_refuses_the_options_of_a_fit(fitted, tmp_path, capsys):
    """Before, `musemood map --n-clusters 14` (no --data) showed the saved map as it was, k unchanged."""
    fitted.save(tmp_path / "rec")
    for given in (["--n-clusters", "14"], ["--scoring", "bm25", "--k-rule", "elbow"], ["--drop-missing"]):
        assert main(["map", "--recommender", str(tmp_path / "rec"), *given]) == 2
        err = capsys.readouterr().err
        named = " and ".join(option for option in given if option.startswith("--"))
        assert (f"{named} {'applies' if ' and ' not in named else 'apply'} when the map is fitted, from a catalogue: "
                f"musemood map --data CATALOGUE {' '.join(given)} fits the recommender again") in err, err
    assert main(["map", "--recommender", str(tmp_path / "rec")]) == 0


def test_catalogue_errors(_tiny_bert_dir):
    with pytest.raises(KeyError, match=r"lacks columns \['artist', 'lyrics'\] .*; set text_column= if the lyrics are "
                                       r"in another column"):
        Recommender().fit(pd.DataFrame({"title": ["a"] * 5}))
    with pytest.raises(KeyError, match=r"lacks columns \['title', 'artist'\] \(has \['id', 'text'\]\): the "
                                       r"recommender finds songs by title and artist; add them \(a title may be "
                                       r"the id, an artist empty\)"):
        Recommender(text_column="text").fit(pd.DataFrame({"id": list("abcd"), "text": ["sun rain"] * 4}))
    df = pd.DataFrame({schema.TITLE: list("abcd"), schema.ARTIST: list("wxyz"), schema.LYRICS: ["sun rain"] * 4})
    with pytest.raises(ValueError, match="one vector per song"):
        Recommender(song_map=None).fit(df, None, vectors=np.zeros((3, 4)))
    extra = np.zeros((6, 4))
    extra[5] = np.nan  # a row past the last song: its count is the error, not its NaN (no song id to name)
    with pytest.raises(ValueError, match="vectors has 6 rows for 4 songs"):
        Recommender(song_map=None).fit(df.assign(song_id=list("abcd")), None, vectors=extra)
    with pytest.raises(ValueError, match="not fitted"):
        Recommender().recommend("a")


def test_songs_without_lyrics_are_refused_unless_their_vectors_are_given(catalogue, _tiny_bert_dir):
    """Before, songs without lyrics (or marked [Instrumental]) all got the vector of an empty text: each was
    recommended the others at similarity 1.00, and they formed a cluster of their own that decided the map's k."""
    df = catalogue.head(60).copy()
    df.loc[[7, 9, 30], schema.LYRICS] = [None, "  ", "[Instrumental]"]
    encoder = BertEncoder(str(_tiny_bert_dir), max_length=32)
    with pytest.raises(ValueError, match=r"3 of the catalogue's 60 songs have no lyrics in 'lyrics' \(empty, or only a "
                                         r"mark such as \[Instrumental\]\), the first at row 7 \(song_id "
                                         rf"'{df.at[7, 'song_id']}', title '{df.at[7, 'title']}'\).*similarity 1.00.*"
                                         r"musemood map --drop-missing.*is_instrumental"):
        Recommender(song_map=None).fit(df, encoder)
    # vectors of their own (an audio model's, say): kept, found by their vectors alone
    vectors = np.random.default_rng(0).normal(size=(60, 8)).astype(np.float32)
    rec = Recommender(song_map=None).fit(df, None, vectors=vectors)
    assert len(rec.catalogue_.songs_) == 60 and len(rec.recommend(df.at[9, "title"], artist=df.at[9, "artist"])) == 10


def test_map_drop_missing_leaves_out_songs_without_lyrics(catalogue, _tiny_bert_dir, tmp_path, capsys):
    df = catalogue.head(60).copy()
    df.loc[[7, 9], schema.LYRICS] = [None, "[Instrumental]"]
    data = save_dataset(df, tmp_path / "songs.parquet")
    args = ["map", "--data", str(data), "--model", str(_tiny_bert_dir), "--max-length", "32", "--n-clusters", "2",
            "--recommender", str(tmp_path / "rec")]
    assert main(args) == 2
    assert "2 of the catalogue's 60 songs have no lyrics" in capsys.readouterr().err
    assert main(args + ["--drop-missing"]) == 0
    printed = capsys.readouterr().out
    assert (f"Left out 2 of the 60 songs of {data}: no lyrics in 'lyrics' (the first at row 7 (song_id "
            f"'{df.at[7, 'song_id']}', title '{df.at[7, 'title']}'))") in printed
    rec = Recommender.load(tmp_path / "rec")
    assert len(rec.catalogue_.songs_) == 58 and df.at[9, "title"] not in set(rec.catalogue_.songs_["title"])
    df[schema.LYRICS] = df[schema.LYRICS].astype(object)
    df.loc[12, schema.LYRICS] = 5  # not missing lyrics but the wrong column: an error, not left out
    from musemood.cli._songs import _with_lyrics

    kept = _with_lyrics(df, schema.LYRICS, "songs")
    assert len(kept) == 58 and kept.loc[12, schema.LYRICS] == 5


@pytest.fixture(scope="module")
def tbert(catalogue, _tiny_bert_dir):
    from musemood import TBertClassifier

    labelled = catalogue[catalogue["label"].notna()]
    return TBertClassifier(str(_tiny_bert_dir), epochs=1, n_topics=3, max_length=32, stride=8, batch_size=16,
                           hidden_size=24, random_state=0).fit(labelled, labelled["label"].astype(str))


def test_tbert_hidden_layer_feeds_the_recommender(catalogue, tbert, tmp_path):
    model = tbert
    hidden, text_vectors = model.embed(catalogue.head(5), return_text_vectors=True)
    assert hidden.shape == (5, 24) and text_vectors.shape == (5, 32)
    np.testing.assert_allclose(hidden, model.embed(catalogue.head(5)), rtol=1e-5)
    rec = Recommender(song_map=None, n_candidates=30).fit(catalogue, model)
    assert rec.vectors_.shape[1] > 24  # hidden layer + audio blocks
    assert (rec.keywords_[:, 10:] >= 0).any()  # encoder keywords were chosen
    out = rec.recommend(text="tears in the cold rain", top_k=3)  # a pseudo-song with average audio
    assert len(out) == 3 and out["similarity"].abs().max() > 0
    again = Recommender.load(rec.save(tmp_path / "rec"))
    np.testing.assert_allclose(again.recommend(text="tears in the cold rain", top_k=3)["score"], out["score"],
                               rtol=1e-4)


def test_query_songs_the_model_trained_on_are_counted_and_said(catalogue, tbert, _tiny_bert_dir, caplog, tmp_path,
                                                                capsys):
    import logging

    from musemood import TBertClassifier

    # the fixture's tBERT trained on every labelled song, the query songs ('valid' and 'test') included
    with caplog.at_level(logging.WARNING, logger="musemood"):
        rec = Recommender(song_map=None, n_candidates=30).fit(catalogue, tbert)
    n_tune, n_eval = len(rec.tune_queries_), len(rec.eval_queries_)
    assert rec.trained_queries_ == {"tune": n_tune, "eval": n_eval}
    assert (f"{n_eval} of the {n_eval} evaluation query songs are songs the model trained on: its vectors were "
            "taught their moods" in caplog.text)
    assert f"{n_tune} of the {n_tune} tuning query songs" in caplog.text
    assert rec.evaluate().attrs["trained_queries"] == {"tune": n_tune, "eval": n_eval}
    # queries of your own: counted too, from the rows of every song the model trained on (every labelled one)
    labelled = catalogue["label"].notna().to_numpy()
    assert rec.trained_songs_.tolist() == np.flatnonzero(labelled).tolist()
    from musemood.rerank import trained_songs  # the fit's cleaned lyrics, or the model cleaning them: the same

    assert trained_songs(tbert, catalogue["lyrics"]).tolist() == rec.trained_songs_.tolist()
    mine = np.concatenate([np.flatnonzero(labelled)[:5], np.flatnonzero(~labelled)[:3]])
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="musemood"):
        assert rec.evaluate(queries=mine).attrs["trained_queries"] == {"eval": 5}
    assert "5 of the 8 evaluation query songs are songs the model trained on" in caplog.text
    assert "evaluate on songs it did not train on" in caplog.text
    path = rec.save(tmp_path / "rec")
    loaded = Recommender.load(path)
    assert loaded.trained_queries_ == rec.trained_queries_
    assert loaded.trained_songs_.tolist() == rec.trained_songs_.tolist()
    assert loaded.evaluate(queries=mine).attrs["trained_queries"] == {"eval": 5}
    # saved before the rows were kept: not known for queries of your own, and not said
    (path / "trained_songs.npy").unlink()
    _rewrite_manifest(path)
    assert "trained_queries" not in Recommender.load(path).evaluate(queries=mine).attrs
    rec.save(path)
    (path / "trained_songs.npy").write_bytes(b"")  # emptied by a failed copy
    _rewrite_manifest(path)
    with pytest.raises(ValueError, match="trained_songs.npy is not a readable NumPy array"):
        Recommender.load(path)
    rec.save(path)
    assert main(["evaluate-recommender", "--recommender", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"mood agreement on {n_eval} query songs (see the warning below)" in out and "held-out" not in out
    assert (f"warning: the model trained on {n_eval} of these {n_eval} query songs: their mood agreement flatters "
            "the embeddings and the rerank") in out
    # trained on the 'train' songs only, with the others as queries: nothing to say
    labelled = catalogue["label"].notna()
    train = catalogue[labelled & (catalogue["split"] == "train")]
    model = TBertClassifier(str(_tiny_bert_dir), epochs=1, n_topics=3, max_length=32, stride=8, batch_size=16,
                            hidden_size=24, random_state=0).fit(train, train["label"].astype(str))
    queries = {f"{name}_queries": np.flatnonzero(labelled & (catalogue["split"] == split))
               for name, split in (("tune", "valid"), ("eval", "test"))}
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="musemood"):
        clean = Recommender(song_map=None, n_candidates=30).fit(catalogue, model, **queries)
    assert clean.trained_queries_ == {"tune": 0, "eval": 0} and "trained on" not in caplog.text
    # with too few of them to tune and evaluate on (20 each), random halves of the labelled songs: most trained on
    halves = Recommender(song_map=None, n_candidates=30).fit(catalogue, model)
    assert halves.trained_queries_["eval"] == np.isin(halves.eval_queries_, train.index).sum() > 0
    # an encoder's vectors are not trained on the labels: no question to ask
    encoder = BertEncoder(str(_tiny_bert_dir), max_length=32, stride=8)
    plain = Recommender(song_map=None, n_candidates=30).fit(catalogue, encoder)
    assert plain.trained_queries_ is None and plain.trained_songs_ is None
    assert "trained_queries" not in plain.evaluate(queries=mine).attrs
    assert not (plain.save(tmp_path / "plain") / "trained_songs.npy").exists()


def _rewrite_manifest(path, drop=()):
    """Record the files of saved part ``path`` again in its config.json, as if it had been saved so (without
    the config's keys ``drop``); returns ``path``."""
    import json

    from musemood.persistence import manifest

    config = json.loads((path / "config.json").read_text())
    config["files"] = manifest(path)
    for key in drop:
        del config[key]
    (path / "config.json").write_text(json.dumps(config))
    return path


def test_a_model_reads_the_recommenders_text_column_beside_another_lyrics_column(catalogue, tbert):
    # the model was trained on 'lyrics'; the catalogue's lyrics are in 'words' and 'lyrics' holds the titles
    moved = catalogue.assign(words=catalogue["lyrics"], lyrics=catalogue["title"])
    params = dict(song_map=None, n_candidates=30, weights={"lexical": 0.5})
    rec = Recommender(text_column="words", **params).fit(moved, tbert)
    np.testing.assert_allclose(rec.vectors_, Recommender(**params).fit(catalogue, tbert).vectors_, atol=1e-5)


def test_a_label_trained_model_maps_songs_by_their_lyrics(catalogue, tbert, _tiny_bert_dir, tmp_path):
    # tBERT's hidden layer is trained on the labels: its map would split the labels again,
    # so by default the map is drawn from a general-purpose encoder's vectors of the lyrics
    encoder = BertEncoder(str(_tiny_bert_dir), max_length=32, stride=8)
    song_map = SongMap(k_range=(2, 6))
    rec = Recommender(song_map=song_map, map_encoder=encoder, n_candidates=30).fit(catalogue, tbert)
    assert rec.map_on_ == "lyrics" and rec.map_source_ == f"{_tiny_bert_dir.name} vectors of the lyrics"
    audio = rec.vectors_.shape[1] - 24  # the song vectors: hidden layer (24) + audio blocks
    assert rec.map_.n_features_in_ == 32 + audio  # the encoder's width (32) + the same audio blocks
    lyrics = rec.vectorizer_.transform(encoder.encode(catalogue["lyrics"].map(clean_lyrics).tolist()), catalogue)
    np.testing.assert_allclose(rec.map_.anchors_, rec.map_.pca_.transform(lyrics) if rec.map_.pca_ else lyrics,
                               atol=1e-4)
    again = Recommender.load(rec.save(tmp_path / "rec"))
    assert (again.map_on_, again.map_source_, again.map_on) == (rec.map_on_, rec.map_source_, "auto")
    np.testing.assert_array_equal(again.catalogue_.clusters_, rec.catalogue_.clusters_)

    on_song = Recommender(song_map=SongMap(k_range=(2, 6)), map_on="song", n_candidates=30).fit(catalogue, tbert)
    assert on_song.map_on_ == "song" and on_song.map_.n_features_in_ == on_song.vectors_.shape[1]


def test_map_vectors_given_or_from_a_frozen_encoder(catalogue, _tiny_bert_dir):
    encoder = BertEncoder(str(_tiny_bert_dir), max_length=32, stride=8)
    plain = Recommender(song_map=SongMap(k_range=(2, 5)), n_candidates=30).fit(catalogue, encoder)
    assert plain.map_on_ == "song"  # the song vectors already are the encoder's lyrics vectors
    lyrics = Recommender(song_map=SongMap(k_range=(2, 5)), map_on="lyrics", n_candidates=30).fit(catalogue, encoder)
    assert lyrics.map_source_ == "the model's encoder vectors of the lyrics"  # reused, not encoded again
    np.testing.assert_allclose(lyrics.map_.anchors_, plain.map_.anchors_, atol=1e-6)
    given = np.random.default_rng(0).normal(size=(len(catalogue), 6))
    rec = Recommender(song_map=SongMap(k_range=(2, 5), pca_components=None), weights={"lexical": 0.5},
                      n_candidates=30).fit(catalogue, encoder, map_vectors=given)
    assert rec.map_on_ == "given" and rec.map_.n_features_in_ == 6 + rec.vectors_.shape[1] - 32
    with pytest.raises(ValueError, match="map_vectors has 5 rows"):
        Recommender(song_map=SongMap(k_range=(2, 5))).fit(catalogue, encoder, map_vectors=given[:5])
    with pytest.raises(ValueError, match="map_on must be one of"):
        Recommender(map_on="tags").fit(catalogue, encoder)


def test_demo_ends_with_the_map_and_recommendations(tiny_bert, tmp_path, capsys):
    code = main(["demo", "--n-songs", "300", "--models", "tfidf", "--encoder", str(tiny_bert), "--max-length", "32",
                 "--out", str(tmp_path)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Song map and recommender on" in printed and "tuned rerank" in printed
    assert "recommend(" in printed and " 5. " in printed
    for name in ("k_sweep.png", "map_mood.png", "map_cluster.png"):
        assert (tmp_path / "map" / name).exists()
    assert (tmp_path / "recommender" / "config.json").exists()


def test_top_level_recommend_is_the_function():
    import musemood
    import musemood.recommender  # noqa: F401  (a submodule import must not shadow the function)

    assert musemood.recommend is recommend and callable(musemood.recommend)
    assert musemood.Recommender is Recommender


def test_keyword_rows_lose_repeats_and_keep_their_order():
    from musemood.recommender import _dedupe_rows

    def one_row_at_a_time(keywords):
        out = np.full_like(keywords, -1)
        for i, row in enumerate(keywords):
            seen = list(dict.fromkeys(int(t) for t in row if t >= 0))
            out[i, :len(seen)] = seen
        return out

    rng = np.random.default_rng(0)
    for shape in [(500, 15), (4, 1), (0, 5)]:
        keywords = rng.integers(-1, 8, shape)
        np.testing.assert_array_equal(_dedupe_rows(keywords), one_row_at_a_time(keywords))
    np.testing.assert_array_equal(_dedupe_rows(np.array([[3, -1, 3, 2, 3, 5]])), [[3, 2, 5, -1, -1, -1]])


def test_a_catalogue_keeps_its_strings_in_one_chunk(tmp_path):
    """A large Parquet file read back gives string columns in several Arrow chunks, and taking a few
    rows from many chunks cost more than a whole vector search at 1M songs, so a catalogue joins
    them (same values, same dtype), when fitted and when loaded."""
    import pyarrow as pa

    from musemood.catalogue import SongCatalogue

    def chunked(values):
        return pd.array(pa.chunked_array([values[i:i + 8] for i in range(0, len(values), 8)]), dtype="string")

    titles, artists = [f"song {i}" for i in range(50)], [f"band {i % 7}" for i in range(50)]
    moods = ["happy", "sad", None, "calm", "sad"] * 10
    songs = pd.DataFrame({"title": chunked(titles), "artist": chunked(artists), "label": chunked(moods)})
    assert songs["title"].array.__arrow_array__().num_chunks == 7
    fitted = SongCatalogue().fit(songs)
    for catalogue in (fitted, SongCatalogue.load(fitted.save(tmp_path / "cat"))):
        for column in ("title", "artist", "mood"):
            assert catalogue.songs_[column].array.__arrow_array__().num_chunks == 1
            assert catalogue.songs_[column].dtype == "string"
        assert catalogue.songs_["title"].tolist() == titles
        assert catalogue.songs_["mood"].isna().tolist() == [m is None for m in moods]
        assert catalogue.find("song 17") == (17, None)


def test_a_catalogue_folds_each_distinct_name_once():
    """Titles, artists and moods are folded once per distinct value, and each folded title and artist is
    held once (a million songs by a hundred thousand artists: a tenth of the work and of the strings)."""
    from musemood.catalogue import SongCatalogue
    from musemood.text import normalize_title

    titles = ["Café (Live)", "Rock & Roll", None, "Café (Live)", "the Road"]
    artists = ["Beyoncé", "Band", "Band", "beyonce", None]
    moods = ["happy", None, "sad", "happy", "happy"]
    cat = SongCatalogue().fit(pd.DataFrame({"title": titles, "artist": artists, "label": moods}))
    assert cat._folded_titles() == [normalize_title(t) for t in titles] == ["cafe", "rock and roll", "", "cafe", "road"]
    assert cat._folded_artists() == ["beyonce", "band", "band", "beyonce", ""]
    assert cat._titles.to_pylist() == ["", "cafe", "road", "rock and roll"]  # each once, sorted
    assert cat._artists.to_pylist() == ["", "band", "beyonce"]
    assert cat.moods_.tolist() == ["happy", "", "sad", "happy", "happy"]
    assert cat.moods_[0] is cat.moods_[4]
    assert cat.find("cafe", "Beyonce") == (0, None)
    assert cat.title_ids("cafe").tolist() == [0, 3] and cat.title_ids("caf").tolist() == []
    assert cat.same_song(3).tolist() == [0, 3] and cat.same_song(1).tolist() == [1]
    # the first row of each song, re-releases once, in order; within the first rows or further on
    assert cat.first_of_each_song([3, 0, 1, 0, 3, 2], 2).tolist() == [0, 2]
    assert cat.first_of_each_song([3, 0, 3, 0, 3, 0, 3, 0, 3, 1], 2).tolist() == [0, 9]
    assert cat.first_of_each_song([3, 0, 3], 5).tolist() == [0] and cat.first_of_each_song([], 3).tolist() == []


def test_a_catalogue_finds_titles_in_any_script_saved_or_not(tmp_path):
    """The distinct folded titles are sorted by Arrow (bytes of UTF-8) and searched by Python's comparison
    (code points): the same order, for every script."""
    from musemood.catalogue import SongCatalogue

    titles = ["日本の歌", "Ωmega", "zebra", "Äpfel", "Москва", "Ωmega", "𝄞 clef", "Émile", "apfel"]
    cat = SongCatalogue().fit(pd.DataFrame({"title": titles, "artist": [f"a{i}" for i in range(9)]}))
    assert cat._titles.to_pylist() == sorted(set(cat._folded_titles()))
    cat.save(tmp_path / "cat")
    for each in (cat, SongCatalogue.load(tmp_path / "cat", mmap=True)):
        for row, title in enumerate(titles):
            assert row in each.title_ids(each._folded_titles()[row]).tolist(), title
        assert each.title_ids("ωmega").tolist() == [1, 5] and each.title_ids("apfel").tolist() == [3, 8]
        assert each.find("日本の歌") == (0, None)


def _folded_catalogue():
    from musemood.catalogue import SongCatalogue

    titles = ["Café (Live)", "Rock & Roll", None, "Café (Live)", "the Road", "Señor - Remastered 2011"]
    artists = ["Beyoncé", "Band", "Band", "beyonce", None, "Band"]
    return SongCatalogue().fit(pd.DataFrame({"title": titles, "artist": artists, "label": ["happy"] * 6}))


def _saved_as_before(folder, *, folded=True):
    """Rewrite the catalogue saved in ``folder`` as a musemood before 2026-12-07 saved it: its songs in
    songs.parquet and, with ``folded``, their folded titles and artists in folded.parquet (older still: none,
    and no fold signature)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from musemood.catalogue import FOLDED_FILE, LEGACY_SONGS_FILE, SONGS_FILE, SongCatalogue

    cat = SongCatalogue.load(folder)
    cat.songs_.to_parquet(folder / LEGACY_SONGS_FILE, index=False)
    if folded:
        pq.write_table(pa.table({"title": cat._folded_titles(), "artist": cat._folded_artists()}), folder / FOLDED_FILE)
    (folder / SONGS_FILE).unlink()
    return _rewrite_manifest(folder, drop=() if folded else ("fold",))


def test_a_saved_catalogue_loads_its_folded_titles_instead_of_folding_them_again(tmp_path, monkeypatch):
    """Folding a million titles took 5 s of every load (each server worker's); the folded forms are
    saved with the catalogue and read back, also from a catalogue saved before they were kept in songs.arrow."""
    import musemood.catalogue as catalogue_module
    from musemood.catalogue import SONGS_FILE, SongCatalogue

    cat = _folded_catalogue()
    cat.save(tmp_path / "cat")
    assert sorted(p.name for p in (tmp_path / "cat").iterdir()) == ["config.json", SONGS_FILE]
    folded = []
    monkeypatch.setattr(catalogue_module, "normalize_title", lambda t: folded.append(t) or str(t).lower())
    for mmap in (False, True):
        loaded = SongCatalogue.load(tmp_path / "cat", mmap=mmap)
        assert folded == []  # nothing folded while loading
        assert loaded._folded_titles() == cat._folded_titles() == ["cafe", "rock and roll", "", "cafe", "road", "senor"]
        assert loaded._folded_artists() == cat._folded_artists()
        assert loaded.songs_.equals(cat.songs_)
    legacy = SongCatalogue.load(_saved_as_before(tmp_path / "cat"))
    assert folded == [] and legacy._folded_titles() == cat._folded_titles() and legacy.songs_.equals(cat.songs_)
    monkeypatch.undo()
    for each in (loaded, legacy):
        assert each.find("Cafe", "Beyonce") == (0, None) and each.same_song(0).tolist() == [0, 3]
    legacy.save(tmp_path / "cat")  # saved again: in the file of today, the older files gone
    assert sorted(p.name for p in (tmp_path / "cat").iterdir()) == ["config.json", SONGS_FILE]
    assert SongCatalogue.load(tmp_path / "cat")._folded_titles() == cat._folded_titles()


def test_a_catalogue_saved_by_a_musemood_that_folds_otherwise_is_folded_again(tmp_path, monkeypatch):
    import json

    import musemood.catalogue as catalogue_module
    from musemood.catalogue import SongCatalogue
    from musemood.text import normalize_title

    _folded_catalogue().save(tmp_path / "cat")
    config = json.loads((tmp_path / "cat" / "config.json").read_text())
    assert config["fold"]
    # saved by a musemood whose folding differs: its folded titles are not used
    monkeypatch.setattr(catalogue_module, "fold_signature", lambda: "another folding")
    folded = []
    monkeypatch.setattr(catalogue_module, "normalize_title", lambda t: folded.append(t) or normalize_title(t))
    loaded = SongCatalogue.load(tmp_path / "cat")
    assert len(folded) >= 6 and loaded._folded_titles()[-1] == "senor"
    # saved before folded forms were saved: no file, no signature; folded at load as then
    monkeypatch.undo()
    old = SongCatalogue.load(_saved_as_before(tmp_path / "cat", folded=False))
    assert old._folded_titles() == _folded_catalogue()._folded_titles()


def test_a_catalogue_refuses_folded_titles_that_do_not_fit_its_songs(tmp_path):
    """Of a catalogue saved before 2026-12-07 (folded.parquet)."""

    import pyarrow as pa
    import pyarrow.parquet as pq

    from musemood.catalogue import FOLDED_FILE, SongCatalogue

    def save_with(table):
        folder = tmp_path / "cat"
        _folded_catalogue().save(folder)
        _saved_as_before(folder)
        if isinstance(table, bytes):
            (folder / FOLDED_FILE).write_bytes(table)
        else:
            pq.write_table(table, folder / FOLDED_FILE)
        return _rewrite_manifest(folder)  # as if saved so: the manifest alone does not catch it

    with pytest.raises(ValueError, match=f"{FOLDED_FILE} holds 2 rows for 6 songs.*save the catalogue again"):
        SongCatalogue.load(save_with(pa.table({"title": ["a", "b"], "artist": ["c", "d"]})))
    with pytest.raises(ValueError, match="artist not all text"):
        SongCatalogue.load(save_with(pa.table({"title": list("abcdef"), "artist": list("abcde") + [None]})))
    with pytest.raises(ValueError, match=f"{FOLDED_FILE} is not a readable table"):
        SongCatalogue.load(save_with(b"not parquet"))


def _mapped_ranges(file):
    """The address ranges this process maps ``file`` at (Linux's /proc/self/maps)."""
    out = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5] == str(file):
            start, stop = (int(x, 16) for x in fields[0].split("-"))
            out.append((start, stop))
    return out


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads Linux's /proc/self/maps")
def test_a_catalogue_loaded_with_mmap_reads_its_songs_from_the_mapped_file(tmp_path):
    """The strings and per-song arrays stay in the saved file's pages, which the workers of a server share:
    at a million songs a worker's own memory for the catalogue went from 270 to 40 MiB (then 15: the next test)."""
    from musemood.catalogue import SONGS_FILE, SongCatalogue

    _folded_catalogue().save(tmp_path / "cat")
    file = (tmp_path / "cat" / SONGS_FILE).resolve()
    for mmap in (True, False):
        cat = SongCatalogue.load(tmp_path / "cat", mmap=mmap)
        ranges = _mapped_ranges(file)
        titles = cat.songs_["title"].array.__arrow_array__().chunks[0]
        addresses = {"title codes": cat._title_codes.ctypes.data, "title order": cat._title_order.ctypes.data,
                     "artist codes": cat._artist_codes.ctypes.data, "titles": cat._titles.buffers()[2].address,
                     "songs' titles": titles.buffers()[2].address}
        inside = {name: any(lo <= address < hi for lo, hi in ranges) for name, address in addresses.items()}
        assert inside == dict.fromkeys(addresses, mmap), (mmap, inside)
        assert cat.find("cafe", "beyonce") == (0, None)
        del cat, titles


def test_a_catalogue_of_many_moods_codes_them_in_a_wider_integer(tmp_path):
    """Mood codes take one byte up to 127 moods; more take two, and every mood is still told apart."""
    from musemood.catalogue import SongCatalogue

    moods = [None if i % 50 == 0 else f"mood {i % 300}" for i in range(900)]
    df = pd.DataFrame({"title": [f"t{i}" for i in range(900)], "artist": ["a"] * 900, "label": moods})
    for cat in (SongCatalogue().fit(df), SongCatalogue.load(SongCatalogue().fit(df).save(tmp_path / "cat"))):
        assert cat._mood_codes.dtype == np.int16 and len(cat.mood_names_) == 294
        assert cat.moods_.tolist() == [m or "" for m in moods] and cat.labelled_.sum() == 882
        assert cat.mood_of(301) == "mood 1" and cat.mood_mask("mood 1").sum() == 3


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads Linux's /proc/self/maps")
def test_a_mapped_catalogue_holds_no_per_song_array_of_its_own_but_a_byte_of_mood_and_of_label(tmp_path):
    """Every array with an entry per song is read from the mapped file (clusters included, in the songs'
    frame too), except each song's mood code and whether it has a mood, a byte each: at a million songs
    these took a worker's own memory for the catalogue from 41 to 15 MiB."""
    from musemood.catalogue import SONGS_FILE, SongCatalogue

    moods = ["happy", None, "sad", "happy", "happy", "sad"]
    cat = _folded_catalogue()
    cat.songs_["mood"] = pd.array(moods, dtype="string")
    cat._index()
    cat.set_clusters([3, 1, 1, 0, 2, 3])
    cat.save(tmp_path / "cat")
    mapped = SongCatalogue.load(tmp_path / "cat", mmap=True)
    ranges = _mapped_ranges((tmp_path / "cat" / SONGS_FILE).resolve())
    own = {name: value.nbytes for name, value in [*vars(mapped).items(), ("songs' clusters",
                                                                         mapped.songs_["cluster"].to_numpy())]
           if isinstance(value, np.ndarray) and len(value) >= len(mapped) and value.dtype != object
           and not any(lo <= value.ctypes.data < hi for lo, hi in ranges)}
    assert own == {"_mood_codes": 6, "labelled_": 6}
    assert mapped.clusters_.tolist() == [3, 1, 1, 0, 2, 3] and not mapped.clusters_.flags.writeable
    assert [name for name, value in vars(mapped).items()
            if isinstance(value, np.ndarray) and value.dtype == object and len(value) >= len(mapped)] == []
    assert mapped.moods_.tolist() == ["happy", "", "sad", "happy", "happy", "sad"]
    assert mapped.mood_of([2, 1, 0]).tolist() == ["sad", "", "happy"] and mapped.mood_of(3) == "happy"
    assert mapped.labelled_.tolist() == [True, False, True, True, True, True]
    np.testing.assert_array_equal(mapped.mood_mask("happy"), [True, False, False, True, True, False])
    mapped.set_clusters([0, 0, 1, 1, 2, 2])  # a new map: the mapped column is replaced, not written into
    assert mapped.clusters_.tolist() == [0, 0, 1, 1, 2, 2] == mapped.songs_["cluster"].tolist()


def test_a_catalogue_saved_over_one_a_process_has_mapped_leaves_that_process_its_songs(tmp_path):
    """A server maps the catalogue while the recommender is saved again in its folder (then reloaded by
    SIGHUP): the new file replaces the old, never writes into the pages the server reads."""
    from musemood.catalogue import SongCatalogue

    _folded_catalogue().save(tmp_path / "cat")
    serving = SongCatalogue.load(tmp_path / "cat", mmap=True)
    other = pd.DataFrame({"title": [f"song {i}" for i in range(40)], "artist": ["x"] * 40, "label": ["sad"] * 40})
    SongCatalogue().fit(other).save(tmp_path / "cat")
    assert serving.find("Señor", "band") == (5, None) and serving._folded_titles()[0] == "cafe"
    assert len(SongCatalogue.load(tmp_path / "cat")) == 40


def test_a_damaged_songs_file_is_refused_with_what_is_wrong(tmp_path):

    import pyarrow as pa

    from musemood.catalogue import SONGS_FILE, SongCatalogue

    def saved_with(change):
        folder = tmp_path / "cat"
        _folded_catalogue().save(folder)
        table = pa.ipc.open_file(pa.OSFile(str(folder / SONGS_FILE))).read_all()  # a copy: the file is rewritten
        table = change(table)
        if isinstance(table, bytes):
            (folder / SONGS_FILE).write_bytes(table)
        else:
            with pa.ipc.new_file(str(folder / SONGS_FILE), table.schema) as writer:
                writer.write_table(table)
        return _rewrite_manifest(folder)  # as if saved so: the manifest alone does not catch it

    def replaced(name, array):
        return lambda t: t.set_column(t.column_names.index(name), name, array)

    codes = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, 0, 3, 9], pa.int32()), pa.array(["", "a", "b", "c"]),
                                           safe=False)
    unsorted = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, 0, 1, 2], pa.int32()), pa.array(["b", "a", "c"]))
    cases = [
        (lambda t: b"not an arrow file", f"{SONGS_FILE} is not a readable Arrow file of songs"),
        (lambda t: t.drop_columns(["_title_order"]), r"lacks columns \['_title_order'\]"),
        (replaced("title", pa.array(range(6))), "column 'title' holds int64, not text"),
        (replaced("_folded_title", codes), "folded titles point outside their 4 distinct values"),
        (replaced("_folded_artist", unsorted), "distinct folded artists are not in sorted order"),
        (replaced("_title_order", pa.array([0, 1, 2, 3, 4, 4])), "does not order the songs by title"),
        (replaced("_title_order", pa.array([5, 4, 3, 2, 1, 0])), "does not order the songs by title"),
    ]
    for change, message in cases:
        with pytest.raises(ValueError, match=message + ".*save the catalogue again"):
            SongCatalogue.load(saved_with(change))


def test_a_large_catalogue_looks_titles_up_through_its_trigram_index(catalogue, tmp_path, monkeypatch):
    import musemood.catalogue as catalogue_module
    from musemood.catalogue import SongCatalogue

    scanned = SongCatalogue().fit(catalogue)
    assert scanned.search_index_ is None
    monkeypatch.setattr(catalogue_module, "FUZZY_INDEX_ABOVE", 100)  # "large" from 101 songs
    indexed = SongCatalogue().fit(catalogue)
    assert indexed.search_index_ is not None and len(indexed) > 100
    rng = np.random.default_rng(0)
    for row in rng.choice(len(catalogue), 20, replace=False):
        title = catalogue.loc[row, "title"]
        typo = title[:3] + title[4:] if len(title) > 6 else title  # one letter dropped
        for query in (title, typo, title.split()[0], f"{title} {catalogue.loc[row, 'artist']}"):
            a, b = scanned.search(query, 5), indexed.search(query, 5)
            close = [score for score in a["score"] if score >= 80]  # good matches: the same scores (ties may swap
            assert b["score"].tolist()[:len(close)] == close, query  # songs); weaker fillers may differ
        suggested = indexed.suggest(typo.lower())  # the best the same; low fillers sharing no trigram may differ
        assert suggested[0] == scanned.suggest(typo.lower())[0] and title in suggested
        try:
            expected = scanned.find(typo)
        except (SongNotFoundError, AmbiguousTitleError) as exc:
            with pytest.raises(type(exc)):
                indexed.find(typo)
        else:
            assert indexed.find(typo) == expected
    assert indexed.search("qqqq zzzz", 5).empty  # nothing in common: no suggestions rather than random songs
    again = SongCatalogue.load(indexed.save(tmp_path / "cat"), mmap=True)
    assert again.search_index_ is not None and (tmp_path / "cat" / "search").is_dir()
    assert again.search("x" + catalogue.loc[3, "title"], 5).equals(indexed.search("x" + catalogue.loc[3, "title"], 5))
    # a query that shares no three letters with any song: no candidates, and still the table's columns
    for cat in (indexed, scanned):
        none = cat.search("zq", 5)
        assert list(none.columns) == ["row", "title", "artist", "score"] and (cat is scanned or none.empty)
    monkeypatch.setattr(catalogue_module, "FUZZY_INDEX_ABOVE", 50_000)
    scanned.save(tmp_path / "cat")  # a small catalogue saved over it: the stale index goes
    assert not (tmp_path / "cat" / "search").exists() and SongCatalogue.load(tmp_path / "cat").search_index_ is None


def test_warm_up_compiles_the_lexical_loops_before_a_first_query(fitted, tmp_path):
    import subprocess
    import sys

    path = fitted.save(tmp_path / "rec", include_model=False)
    script = ("import sys; from musemood import _kernels; from musemood.recommender import Recommender\n"
              "rec = Recommender.load(sys.argv[1], mmap=True)\n"
              "kernels = (_kernels.accumulate, _kernels.top_touched, _kernels.contains)\n"
              "assert not any(k.signatures for k in kernels)\n"
              "assert rec.retriever_.warm_up() is rec.retriever_\n"
              "print(*(len(k.signatures) for k in kernels))")
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    accumulate, top, contains = map(int, out.stdout.split())
    assert accumulate >= 1 and top >= 1 and contains == 1  # the catalogue's title index and the lyrics index


def test_precomputed_neighbours_give_the_same_recommendations(catalogue, tmp_path, capsys):
    """A song's vector candidates read from a table filled beforehand (HybridRetriever.precompute_neighbours)
    instead of searched: the same recommendations, saved and loaded with the recommender."""
    from musemood.retrieval import VectorIndex

    copies = catalogue.iloc[[5, 5]].assign(song_id=["re-1", "re-2"], album=["Best Of", "Live"])  # 3 rows, one song
    songs = pd.concat([catalogue, copies], ignore_index=True)
    vectors = np.random.default_rng(0).normal(size=(len(songs), 16)).astype(np.float32)
    rec = Recommender(song_map=None, vector_index=VectorIndex("hnsw"), weights={"lexical": 0.3, "cluster": 0},
                      n_candidates=30).fit(songs, vectors=vectors)
    queries = [(songs.loc[i, "title"], songs.loc[i, "artist"]) for i in range(0, len(songs), 7)] + [
        (songs.loc[5, "title"], songs.loc[5, "artist"])]
    searched = [rec.recommend(t, 10, artist=a) for t, a in queries]
    moody = rec.recommend(*queries[1][:1], 10, artist=queries[1][1], mood="sad")
    assert rec.retriever_.neighbours is None
    table = rec.retriever_.precompute_neighbours(batch_size=16).neighbours
    assert table.shape == (len(songs), 30) and table.dtype == np.int32
    assert not np.isin(table[5], rec.catalogue_.same_song(5)).any()  # the song's own copies are left out
    calls = []
    search = rec.retriever_.index.search
    rec.retriever_.index.search = lambda *args, **kw: calls.append(kw) or search(*args, **kw)
    for (title, artist), before in zip(queries, searched):
        pd.testing.assert_frame_equal(rec.recommend(title, 10, artist=artist), before)
    assert not calls  # read from the table
    pd.testing.assert_frame_equal(rec.recommend(queries[1][0], 10, artist=queries[1][1], mood="sad"), moody)
    assert calls  # a mood filter still searches
    rec.retriever_.index.search = search

    path = rec.save(tmp_path / "rec")
    for mmap in (False, True):
        loaded = Recommender.load(path, mmap=mmap)
        assert np.array_equal(loaded.retriever_.neighbours, table)
        pd.testing.assert_frame_equal(loaded.recommend(*queries[2][:1], 10, artist=queries[2][1]), searched[2])
    # a save without the table removes the old one; `musemood map --neighbours` adds it to a saved folder
    rec.retriever_.neighbours = None
    rec.save(path)
    assert not (path / "retriever" / "neighbours.npy").exists() and Recommender.load(path).retriever_.neighbours is None
    assert main(["map", "--recommender", str(path), "--neighbours", "--out", str(tmp_path / "plots")]) == 0
    assert "Saved the songs' vector candidates" in capsys.readouterr().out
    assert np.array_equal(Recommender.load(path).retriever_.neighbours, table)
    # a table that does not fit the catalogue is reported, not used
    np.save(path / "retriever" / "neighbours.npy", table[:, :10])
    with pytest.raises(ValueError, match="neighbours.npy"):
        Recommender.load(path)


def test_queries_fall_back_to_random_halves_with_a_word(caplog):
    """A split column without enough 'valid' and 'test' songs (named 'val', say) is not silently ignored."""
    from musemood.rerank import default_queries

    labelled = np.ones(100, dtype=bool)
    split = pd.Series(["train"] * 60 + ["val"] * 20 + ["test"] * 20)
    with caplog.at_level("WARNING", logger="musemood.rerank"):
        tune, evaluation = default_queries(labelled, split, None, None)
    assert len(tune) == len(evaluation) == 50
    assert ("the split column has 0 labelled 'valid' and 20 'test' songs (20 of each needed): the rerank is tuned "
            "and evaluated on random halves of the labelled songs") in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="musemood.rerank"):
        default_queries(labelled, split.replace("val", "valid"), None, None)
        default_queries(labelled, None, None, None)  # no split column: random halves, as documented
    assert not caplog.text


def test_a_catalogue_of_titles_with_half_a_character_holds_them_with_the_replacement_character(tmp_path, caplog):
    """A title from JSON may hold a lone surrogate ("\\ud83d"): the catalogue could not be made (Arrow's
    UnicodeEncodeError).  It is stored with U+FFFD, logged with where it was, and saves and loads."""
    from musemood.catalogue import SongCatalogue

    df = pd.DataFrame({"title": ["Cut \ud83d", "Pair \ud83d\ude00", "Plain"], "artist": ["a", "b\ude00", "c"],
                       "song_id": ["x", "y", "z"], "label": ["happy", "sad\ud800", None]},
                      dtype=object)  # as pandas 2 makes it; pandas 3's Arrow strings refuse such text themselves
    with caplog.at_level("WARNING", logger="musemood.catalogue"):
        cat = SongCatalogue().fit(df)
    assert cat.songs_["title"].tolist() == ["Cut \ufffd", "Pair 😀", "Plain"]
    assert cat.songs_["artist"].tolist() == ["a", "b\ufffd", "c"] and cat.mood_names_ == ["happy", "sad\ufffd"]
    said = caplog.text
    assert "'title' holds text UTF-8 cannot hold" in said and "2 songs" in said and "row 0 (song_id 'x')" in said
    assert "'artist'" in said and "row 1 (song_id 'y')" in said
    again = SongCatalogue.load(cat.save(tmp_path / "cat"))
    assert again.songs_["title"].tolist() == cat.songs_["title"].tolist()
    assert again.find("pair 😀") == (1, None) and again.find("Cut \ud83d") == (0, None)


def test_a_catalogue_of_pandas_string_columns_takes_their_missing_values(catalogue, _tiny_bert_dir):
    """DataFrame.convert_dtypes() makes text columns pandas' "string" dtype, whose missing value is pd.NA:
    a song without an artist was refused ("column 'artist' holds NAType <NA> ... it must hold text (or be
    empty)"), and so were texts to predict."""
    from musemood import SimpleBertClassifier

    df = catalogue.head(40).convert_dtypes()
    df.loc[3, "artist"] = pd.NA
    assert df["artist"].dtype == "string"
    rec = Recommender(n_candidates=20, song_map=None).fit(df, _tiny_bert_dir)
    assert rec.recommend(df.at[3, "title"], 3)["title"].tolist()
    model = SimpleBertClassifier(_tiny_bert_dir, epochs=1, max_length=32).fit(
        df["lyrics"].head(20), ["happy", "sad"] * 10)
    assert len(model.predict(pd.Series(["la la", pd.NA], dtype="string"))) == 2
