"""Bad inputs to the public API, tried as a new user would: each is a clear error saying what was
wrong and where (row, column, song), never a low-level error or a silently wrong result."""

import numpy as np
import pandas as pd
import pytest

from musemood.classifiers import SimpleBertClassifier
from musemood.clustering import SongMap
from musemood.encoders import BertEncoder
from musemood.labels import assign_moods

from test_classifiers import FAST, make_songs


@pytest.fixture(scope="module")
def parts(_tiny_bert_dir, tmp_path_factory):
    from musemood.datasets import drop_duplicate_songs, load_demo
    from musemood.recommender import Recommender

    train, y = make_songs(60, 0, "text")
    model = SimpleBertClassifier(str(_tiny_bert_dir), epochs=2, **FAST).fit(train, y)
    model_dir = str(model.save(tmp_path_factory.mktemp("saved") / "model"))
    df = drop_duplicate_songs(load_demo(80, random_state=0)).reset_index(drop=True)
    vectors = np.random.default_rng(0).normal(size=(len(df), 8)).astype(np.float32)
    rec = Recommender(song_map=None, n_candidates=20, weights={"lexical": 0.5}).fit(df, vectors=vectors)
    X = np.random.default_rng(0).normal(size=(60, 6)).astype(np.float32)
    return {"tiny": str(_tiny_bert_dir), "train": train, "y": y, "model": model, "model_dir": model_dir, "df": df,
            "vectors": vectors, "rec": rec, "X": X, "map": SongMap(k_range=(2, 5)).fit(X)}


def _nan_at(array, row):
    out = array.copy()
    out[row, 1] = np.nan
    return out


CASES = {
    # classifiers: X, y and parameters
    "fit X of numbers": (lambda p: SimpleBertClassifier(p["tiny"], **FAST).fit(list(range(60)), p["y"]),
                         TypeError, r"X holds int 0 at row 0: texts must be strings"),
    "fit X None": (lambda p: SimpleBertClassifier(p["tiny"], **FAST).fit(None, p["y"]), TypeError, "got NoneType"),
    "fit X dict": (lambda p: SimpleBertClassifier(p["tiny"], **FAST).fit({"a": 1}, p["y"]), TypeError, "got dict"),
    "fit y continuous": (lambda p: SimpleBertClassifier(p["tiny"], **FAST).fit(p["train"], np.random.rand(60)),
                         ValueError, "objective='regression'"),
    "fit y inf (regression)": (lambda p: SimpleBertClassifier(p["tiny"], objective="regression", **FAST).fit(
        p["train"], np.r_[np.inf, np.random.rand(59)]), ValueError, "finite numeric targets; y holds inf at position"),
    "fit y with a gap": (lambda p: SimpleBertClassifier(p["tiny"], **FAST).fit(
        p["train"], pd.Series(p["y"]).where(np.arange(60) != 3)), ValueError, "1 missing labels"),
    "fit epochs -1": (lambda p: SimpleBertClassifier(p["tiny"], epochs=-1).fit(p["train"], p["y"]),
                      ValueError, r"SimpleBertClassifier: epochs must be int in \[0, 100000\], got -1"),
    "fit dropout nan": (lambda p: SimpleBertClassifier(p["tiny"], dropout=float("nan")).fit(p["train"], p["y"]),
                        ValueError, "dropout must be"),
    "predict None": (lambda p: p["model"].predict(None), TypeError, "got NoneType"),
    "predict a number": (lambda p: p["model"].predict(5), TypeError, "got int"),
    "predict []": (lambda p: p["model"].predict([]), ValueError, "no songs to predict"),
    "predict without the text column": (lambda p: p["model"].predict(pd.DataFrame({"x": ["a"]})), KeyError,
                                        "text column 'lyrics' is not in the data"),
    # the encoder
    "encoder: a missing folder": (lambda p: BertEncoder("/nonexistent/model").encode(["a"]), FileNotFoundError,
                                  "no model folder at /nonexistent/model"),
    "encoder: a saved classifier's folder": (lambda p: BertEncoder(p["model_dir"]).encode(["a"]), ValueError,
                                             "is a SimpleBertClassifier saved by musemood, not a Hugging Face model: "
                                             "load it with musemood.classifiers.load_model"),
    "encoder: a saved encoder's folder": (lambda p: BertEncoder(p["model_dir"] + "/encoder").encode(["a"]), ValueError,
                                          "is a BertEncoder saved by musemood.*BertEncoder.load\\(path\\)"),
    "encoder: max_length 4": (lambda p: BertEncoder(p["tiny"], max_length=4).encode(["a"]), ValueError,
                              "max_length must be"),
    "encoder: encode(None)": (lambda p: BertEncoder(p["tiny"]).encode(None), TypeError, "got NoneType"),
    # the song map
    "map: NaN vector": (lambda p: SongMap(k_range=(2, 5)).fit(_nan_at(p["X"], 7)), ValueError,
                        "NaN or infinite values in row 7"),
    "map: 1-D vectors": (lambda p: SongMap(k_range=(2, 5)).fit(p["X"][:, 0]), ValueError, "must be 2-D"),
    "map: 2.5 clusters": (lambda p: SongMap(n_clusters=2.5).fit(p["X"]), ValueError,
                          "n_clusters must be 'auto' \\(the k sweep\\) or a whole number of clusters, 1 or more, "
                          "got 2.5"),
    "map: True clusters": (lambda p: SongMap(n_clusters=True).fit(p["X"]), ValueError, "got True"),
    "map: 0 clusters": (lambda p: SongMap(n_clusters=0).fit(p["X"]), ValueError, "got 0"),
    "map: more clusters than songs": (lambda p: SongMap(n_clusters=61).fit(p["X"]), ValueError,
                                      "n_clusters=61 is more than the 60 songs it clusters"),
    "map: transform NaN": (lambda p: p["map"].transform(np.full((2, 6), np.nan)), ValueError, "row 0 and 1 more"),
    "map: transform wrong width": (lambda p: p["map"].transform(p["X"][:, :3]), ValueError, "6-dimensional"),
    # the recommender
    "recommender: NaN vectors": (lambda p: type(p["rec"])(song_map=None, weights={"lexical": 0.5}).fit(
        p["df"], vectors=_nan_at(p["vectors"], 4)), ValueError, "row 4 \\(song_id 'demo-0000"),
    "recommender: 1-D vectors": (lambda p: type(p["rec"])(song_map=None).fit(p["df"], vectors=p["vectors"][:, 0]),
                                 ValueError, "must be 2-D"),
    "recommender: n_candidates 0": (lambda p: type(p["rec"])(song_map=None, n_candidates=0).fit(
        p["df"], vectors=p["vectors"]), ValueError, "n_candidates must be"),
    "recommend_many: None as a query": (lambda p: p["rec"].recommend_many(["x", None]), TypeError,
                                        "query 1 is NoneType None: give a title, a \\(title, artist\\) pair"),
    "recommend_many: a triple": (lambda p: p["rec"].recommend_many([("a", "b", "c")]), TypeError,
                                 "query 0 is tuple"),  # its third item was dropped
    "recommend_many: a misspelt key": (lambda p: p["rec"].recommend_many([{"titel": "x"}]), TypeError,
                                       "query 0 has unknown keys \\['titel'\\]"),
    "recommend_many(str)": (lambda p: p["rec"].recommend_many("abc"), TypeError, "list of queries"),
    "recommend top_k 0": (lambda p: p["rec"].recommend(text="rain", top_k=0), ValueError, "top_k must be"),
    "a map of three songs": (lambda p: type(p["rec"])().fit(p["df"].head(3), vectors=p["vectors"][:3]), ValueError,
                             "fewer than 3 values of k for 3 songs to choose from: .*Recommender\\(song_map=None\\)"),
    "recommend blank text": (lambda p: p["rec"].recommend(text=" [Chorus] "), ValueError,
                             "the text ' \\[Chorus\\] ' has no words to search by"),
    "recommend a title of symbols": (lambda p: p["rec"].recommend("\U0001F3B5"), ValueError,
                                     "has no letters or digits to search by"),
    "recommend text with an artist": (lambda p: p["rec"].recommend(text="rain", artist="June Sato"), ValueError,
                                      "artist= narrows a song title; with text= it has nothing to narrow"),
    "recommend songs and a title": (lambda p: p["rec"].recommend("x", songs=["y"]), ValueError,
                                    "give one of a song title, text= or songs=, not several"),
    "recommend nothing": (lambda p: p["rec"].recommend(), ValueError, "give one of a song title, text= or songs=, "
                                                                      "not none"),
    "recommend songs as one string": (lambda p: p["rec"].recommend(songs="Summer"), TypeError,
                                      "songs= takes a list of titles or \\(title, artist\\) pairs, got str"),
    "recommend no songs": (lambda p: p["rec"].recommend(songs=[]), ValueError, "songs= is empty"),
    "recommend a triple among songs": (lambda p: p["rec"].recommend(songs=["a", ("b", "c", "d")]), TypeError,
                                       "songs\\[1\\] is tuple \\('b', 'c', 'd'\\): give a title or a"),
    "recommend songs with an artist": (lambda p: p["rec"].recommend(songs=["a"], artist="b"), ValueError,
                                       "with songs= it has nothing to narrow \\(leave it out, or give \\(title, "
                                       "artist\\) pairs\\)"),
    "recommend a number as title": (lambda p: p["rec"].recommend(5), TypeError, "title must be a string, got int 5"),
    "recommend a list as artist": (lambda p: p["rec"].recommend("x", artist=["a"]), TypeError,
                                   "artist must be a string, got list"),
    "recommend unknown mood": (lambda p: p["rec"].recommend(p["df"].loc[1, "title"], artist=p["df"].loc[1, "artist"],
                                                            mood="ecstatic"), ValueError, "unknown mood 'ecstatic'"),
    "search None": (lambda p: p["rec"].catalogue_.search(None), TypeError, "a string"),
    "search top_k 0": (lambda p: p["rec"].catalogue_.search("rain", top_k=0), ValueError, "top_k must be"),
    # the label rule
    "labels: k 0": (lambda p: assign_moods(p["df"], k=0), ValueError, "k must be a positive integer"),
    "labels: epsilon nan": (lambda p: assign_moods(p["df"], epsilon=float("nan")), ValueError, "epsilon must be"),
    "labels: no tags column": (lambda p: assign_moods(p["df"].drop(columns=["tags"])), KeyError, "no 'tags' column"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_input_is_a_clear_error(parts, name):
    call, error, message = CASES[name]
    with pytest.raises(error, match=message):
        call(parts)


MORE = {
    "load_demo('many')": (lambda p: __import__("musemood.datasets", fromlist=["x"]).load_demo("many"), ValueError,
                          "n_songs must be a positive integer, got 'many'"),
    "drop duplicates without titles": (lambda p: __import__("musemood.datasets", fromlist=["x"]).drop_duplicate_songs(
        p["df"].drop(columns=["title"])), KeyError, "lacks \\['title'\\]"),
    "labels attached to another table": (lambda p: __import__("musemood.labels", fromlist=["x"]).attach_labels(
        p["df"], assign_moods(p["df"].head(5))), ValueError, "5 songs for a table of"),
    "block weight nan": (lambda p: type(p["rec"])(song_map=None, block_weights={"embedding": float("nan")}).fit(
        p["df"], vectors=p["vectors"]), ValueError, "block weight 'embedding' must be a finite number"),
    "query rows outside the catalogue": (lambda p: type(p["rec"])(song_map=None).fit(
        p["df"], vectors=p["vectors"], tune_queries=[-1, 2], eval_queries=[1]), ValueError, "query rows must be"),
    "evaluate top_k 0": (lambda p: p["rec"].evaluate(top_k=0), ValueError, "top_k must be"),
    "tune_k above n_candidates": (lambda p: type(p["rec"])(song_map=None, n_candidates=5).fit(
        p["df"], vectors=p["vectors"]), ValueError, "tune_k=10 is more than n_candidates=5"),
    "evaluate top_k above n_candidates": (lambda p: p["rec"].evaluate(top_k=21), ValueError,
                                          "top_k=21 is more than the 20 candidates each query ranks"),
    "a song twice in the catalogue": (lambda p: type(p["rec"])(song_map=None).fit(
        pd.concat([p["df"], p["df"].head(1)]), vectors=np.r_[p["vectors"], p["vectors"][:1]]), ValueError,
        r"song_id 'demo-00000' appears in rows 0, \d+: a catalogue holds each song once"),
    "lyrics that are numbers": (lambda p: type(p["rec"])(song_map=None).fit(p["df"].assign(lyrics=5),
                                                                           vectors=p["vectors"]),
                                TypeError, "column 'lyrics' holds .*5 at row 0 \\(song_id 'demo-00000'\\)"),
    "a catalogue without lyrics": (lambda p: type(p["rec"])(song_map=None).fit(p["df"].assign(lyrics=None),
                                                                              vectors=p["vectors"]),
                                   ValueError, "'lyrics' column: 78 of its 78 songs have no text.*musemood scrape "
                                               "lyrics.*text_column"),
    "topics of numbers": (lambda p: __import__("musemood.topics", fromlist=["x"]).LdaTopics(n_topics=2).fit(
        list(p["df"]["lyrics"])).transform([1, 2]), TypeError, "got int 1 at row 0"),
    "predict a frame with two lyrics columns": (lambda p: p["model"].predict(pd.DataFrame(
        [["a", "b"], ["c", "d"]], columns=["lyrics", "lyrics"])), ValueError,
        r"X has more than one column named 'lyrics' \(2 times\)"),
    "a catalogue with two title columns": (lambda p: type(p["rec"])(song_map=None).fit(
        pd.concat([p["df"], p["df"][["title"]]], axis=1), vectors=p["vectors"]), ValueError,
        r"the catalogue has more than one column named 'title' \(2 times\)"),
    "audio features with two valence columns": (lambda p: __import__("musemood.features", fromlist=["x"])
        .AudioFeatureEncoder(["energy", "valence"]).fit(pd.concat([p["df"], p["df"][["valence"]]], axis=1)),
        ValueError, r"the data has more than one column named 'valence'"),
    "tags in two columns": (lambda p: assign_moods(pd.concat([p["df"], p["df"][["tags"]]], axis=1)), ValueError,
                            r"the table has more than one column named 'tags'"),
    "match threshold 200": (lambda p: __import__("musemood.sources.lrclib", fromlist=["x"]).LrclibClient(
        threshold=200), ValueError, "fuzzy score from 0 to 100"),
}


@pytest.mark.parametrize("name", list(MORE))
def test_more_bad_inputs_are_clear_errors(parts, name):
    call, error, message = MORE[name]
    with pytest.raises(error, match=message):
        call(parts)
