"""The song map (UMAP + KMeans, the k sweep) and song vectors."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score

from musemood import schema
from musemood.clustering import SongMap, choose_k, elbow_point, label_points
from musemood.vectors import SongVectorizer


def test_elbow_is_the_point_of_maximum_curvature():
    ks = np.arange(2, 12)
    distortion = np.where(ks <= 5, 100 - 28 * (ks - 2), 16 - (ks - 5))  # steep until k=5, then flat
    assert elbow_point(ks, distortion) == 5
    assert elbow_point([2, 3], [1, 0]) is None
    assert elbow_point([2, 3, 4], [1, 1, 1]) is None


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(600, n_features=20, centers=5, cluster_std=1.0, random_state=0)
    return X.astype(np.float32), y


def test_umap_kmeans_sweep_finds_the_blobs(blobs, tmp_path):
    X, y = blobs
    song_map = SongMap(k_range=(2, 9), pca_components=None).fit(X)
    assert song_map.embedding_.shape == (600, 10)
    assert list(song_map.sweep_.columns) == ["k", "inertia", "silhouette"]
    assert song_map.sweep_["k"].tolist() == list(range(2, 10))
    assert song_map.n_clusters_ == 5 and song_map.choice_ == "finest"
    assert adjusted_rand_score(y, song_map.labels_) > 0.95
    assert song_map.map_2d_.shape == (600, 2)
    paths = [song_map.plot_k_sweep(tmp_path / "k.png"),
             song_map.plot_map(tmp_path / "mood.png", np.where(y < 2, "happy", None)),
             song_map.plot_map(tmp_path / "cluster.png", song_map.labels_)]
    for path in paths:
        assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 5000


def test_injected_reducer_and_clusterer_and_a_fixed_k(blobs):
    X, y = blobs
    song_map = SongMap(n_clusters=5, reducer=PCA(4), clusterer=KMeans(n_init=2, random_state=0)).fit(X)
    assert song_map.embedding_.shape == (600, 4) and song_map.n_clusters_ == 5
    assert song_map.choice_ == "fixed" and adjusted_rand_score(y, song_map.labels_) > 0.95


def test_the_rules_that_choose_k():
    sweep = pd.DataFrame({"k": [2, 3, 4, 5, 6, 8, 10, 12],
                          "inertia": [100, 40, 30, 25, 21, 18, 16, 15],
                          "silhouette": [0.50, 0.61, 0.64, 0.63, 0.60, 0.58, 0.52, 0.40]})
    # finest: the largest k within the tolerance of the best silhouette (0.64 at k=4)
    assert choose_k(sweep, "finest", 0.05) == (6, "finest", 3, 4)
    assert choose_k(sweep, "finest", 0.07) == (8, "finest", 3, 4)
    assert choose_k(sweep, "finest", 0.0)[0] == 4
    # elbow: k=3, kept while its silhouette is close enough to the best
    assert choose_k(sweep, "elbow", 0.05) == (3, "elbow", 3, 4)
    assert choose_k(sweep, "elbow", 0.01) == (4, "silhouette", 3, 4)
    assert choose_k(sweep, "silhouette", 0.05) == (4, "silhouette", 3, 4)


def test_a_coarse_choice_names_the_sweeps_best_finer_split(capsys):
    """One group far from the rest (comments with a [NAME] placeholder, songs in another language) gives k = 2
    the best silhouette by far, and the rules take it; the map command then names the best finer split."""
    from types import SimpleNamespace

    from musemood.cli._songs import _print_map
    from musemood.clustering import finer_split

    sweep = pd.DataFrame({"k": [2, 3, 4, 5, 8, 13, 14, 20], "inertia": [77, 54, 41, 34, 21, 13, 12, 10],
                          "silhouette": [0.601, 0.338, 0.371, 0.386, 0.416, 0.438, 0.439, 0.364]})
    assert choose_k(sweep, "finest", 0.05)[0] == 2
    assert finer_split(sweep, 2) == (14, 0.439)
    assert finer_split(sweep, 4) is None and finer_split(sweep.head(2), 2) is None  # nothing above k = 3
    song_map = SimpleNamespace(sweep_=sweep, n_clusters_=2, choice_="finest", elbow_=8, best_silhouette_k_=2)
    rec = SimpleNamespace(map_=song_map, map_source_=None, map_on_="song", clusters_=pd.DataFrame())
    _print_map(rec, "songs.csv")
    assert ("k = 2 is the sweep's best separated split; its best split above k = 3 is k = 14 (silhouette 0.439): "
            "musemood map --data songs.csv --n-clusters 14 draws a finer map") in capsys.readouterr().out
    _print_map(SimpleNamespace(**{**vars(rec), "map_": SimpleNamespace(**{**vars(song_map), "choice_": "fixed"})}))
    assert "finer map" not in capsys.readouterr().out  # k was asked for


def test_the_automatic_range_grows_with_the_catalogue():
    song_map = SongMap()
    assert song_map.k_values(300) == list(range(2, 17))  # at least 2..16
    ks = song_map.k_values(2_000)
    assert ks[:19] == list(range(2, 21)) and ks[-1] == 50 and ks == sorted(set(ks))
    ks = song_map.k_values(11_000)  # the study's catalogue: its 122 clusters are within reach
    assert ks[-1] == 200 and any(110 <= k <= 130 for k in ks) and len(ks) < 45
    assert SongMap(k_range=(3, 6)).k_values(100) == [3, 4, 5, 6] and SongMap().k_values(5) == [2, 3, 4]


@pytest.mark.parametrize("params, message", [
    ({"k_rule": "best"}, "k_rule must be one of"),
    ({"k_range": (1, 5)}, "k_range must be"),
    ({"k_range": (6, 5)}, "k_range must be"),
    ({"k_range": "all"}, "k_range must be"),
    ({"silhouette_tolerance": -0.1}, "silhouette_tolerance"),
])
def test_bad_sweep_parameters_are_clear_errors(blobs, params, message):
    with pytest.raises(ValueError, match=message):
        SongMap(**params).fit(blobs[0][:50])


def test_silhouette_overrules_a_bad_elbow(blobs):
    X, y = blobs
    song_map = SongMap(k_range=(2, 9), k_rule="elbow", reducer=PCA(10), silhouette_tolerance=0.0).fit(X)
    best = song_map.sweep_.loc[song_map.sweep_["silhouette"].idxmax(), "k"]
    assert song_map.n_clusters_ == best


def test_large_catalogues_fit_on_a_sample_and_transform_the_rest(blobs):
    X, y = blobs
    song_map = SongMap(k_range=(3, 7), fit_sample=200, plot_sample=100, reducer=PCA(10)).fit(X)
    assert len(song_map.sample_) == 200 and song_map.labels_.shape == (600,)
    assert adjusted_rand_score(y, song_map.labels_) > 0.9
    assert song_map.map_2d_.shape == (100, 2)


def test_the_k_sweep_runs_on_a_sample_and_the_chosen_k_on_every_fitted_song(blobs):
    X, y = blobs
    song_map = SongMap(k_range=(3, 7), sweep_sample=150, reducer=PCA(10)).fit(X)
    assert song_map.sweep_["k"].tolist() == [3, 4, 5, 6, 7]
    assert song_map.clusterer_.n_clusters == song_map.n_clusters_
    assert len(song_map.clusterer_.labels_) == len(X)  # the final fit saw all 600 songs, not the 150
    assert adjusted_rand_score(y, song_map.labels_) > 0.9
    whole = SongMap(k_range=(3, 7), reducer=PCA(10)).fit(X)  # 600 < sweep_sample: the sweep's own model
    assert len(whole.clusterer_.labels_) == len(X) and whole.n_clusters_ == song_map.n_clusters_


def test_describe_gives_top_words_and_mood_mix():
    song_map = SongMap()
    song_map.labels_ = np.array([0, 0, 1, 1])
    counts = sp.csr_matrix(np.array([[3, 0, 1], [2, 0, 1], [0, 4, 1], [0, 2, 1]], dtype=float))
    table = song_map.describe(counts, np.array(["sun", "rain", "love"]), ["happy", "happy", "sad", None])
    assert table["top_words"][0][0] == "sun" and table["top_words"][1][0] == "rain"
    assert table["mood_mix"][0] == {"happy": 1.0} and table["mood_mix"][1] == {"sad": 1.0}
    assert table["labelled"].tolist() == [2, 1] and table["songs"].tolist() == [2, 2]


def test_too_few_songs_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 3 songs"):
        SongMap().fit(np.zeros((2, 4)))


def _audio_frame(n, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f: rng.random(n) for f in schema.AUDIO_FEATURES})
    df[schema.KEY] = rng.integers(0, 12, n).astype(float)
    df[schema.MODE] = rng.integers(0, 2, n).astype(float)
    df[schema.TIME_SIGNATURE] = 4.0
    return df


def test_song_vectors_are_unit_and_weighted_by_block():
    df = _audio_frame(50)
    emb = np.random.default_rng(1).standard_normal((50, 8))
    vec = SongVectorizer().fit(df)
    out = vec.transform(emb, df)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1, rtol=1e-5)
    n_categories = df[schema.KEY].nunique() + df[schema.MODE].nunique() + 1
    assert out.shape[1] == 8 + len(schema.CONTINUOUS_AUDIO_FEATURES) + n_categories
    text_only = SongVectorizer({"embedding": 1.0, "audio": 0.0, "categorical": 0.0}).fit(df).transform(emb, df)
    np.testing.assert_allclose(text_only, emb / np.linalg.norm(emb, axis=1, keepdims=True), rtol=1e-5)
    # a free-text query has no audio: the average song, same width
    assert vec.transform(emb[:1], None).shape == (1, out.shape[1])
    again = SongVectorizer.from_dict(vec.to_dict())
    np.testing.assert_allclose(again.transform(emb, df), out)


def test_song_vectors_in_chunks_equal_one_pass():
    df = _audio_frame(103, seed=2)
    emb = np.random.default_rng(3).standard_normal((103, 8))  # float64 in, float32 out, chunk by chunk
    vec = SongVectorizer().fit(df)
    np.testing.assert_array_equal(vec.transform(emb, df, chunk_rows=10), vec.transform(emb, df))
    assert vec.transform(emb, df, chunk_rows=10).dtype == np.float32
    no_df = SongVectorizer().fit(None)
    np.testing.assert_array_equal(no_df.transform(emb, chunk_rows=7), no_df.transform(emb))


def test_song_vectors_without_audio_columns():
    df = pd.DataFrame({"title": ["a", "b"]})
    out = SongVectorizer().fit(df).transform(np.eye(2, 3), df)
    np.testing.assert_allclose(out, np.eye(2, 3))
    with pytest.raises(ValueError, match="unknown blocks"):
        SongVectorizer({"lyrics": 1.0})


def test_label_points_sit_on_the_song_nearest_each_clusters_median():
    points = np.array([[0, 0], [1, 1], [5, 5], [6, 6], [7, 7], [2, 2]], dtype=float)
    labels = np.array([0, 0, 1, 1, 1, 0])
    # upper median of cluster 0 is (1, 1): song 1; of cluster 1 (6, 6): song 3
    assert label_points(points, labels) == {0: (1.0, 1.0, 1), 1: (6.0, 6.0, 3)}
    # a cluster split in two parts is labelled on one of its songs, not between them
    split = np.array([[0, 0], [0.1, 0], [10, 10], [10.1, 10]])
    x, y, point = label_points(split, np.zeros(4))[0]
    assert (x, y) == tuple(split[point])


def test_a_maps_label_points_follow_its_plotted_songs_refit_and_reload(tmp_path):
    X, _ = make_blobs(300, n_features=12, centers=4, random_state=0)
    song_map = SongMap(n_clusters=4, reducer=PCA(4), plot_sample=200).fit(X)
    plotted = song_map.labels_[song_map.plot_index_]
    at = song_map.label_points_
    assert at == label_points(song_map.map_2d_, plotted)
    assert sorted(at) == sorted(set(plotted.tolist())) and all(plotted[p] == c for c, (_, _, p) in at.items())
    assert song_map.label_points_ is at  # computed once
    assert SongMap.load(song_map.save(tmp_path / "map")).label_points_ == at
    song_map.fit(X + 5)  # refitted: new arrays, new label points
    assert song_map.label_points_ is not at
    assert song_map.label_points_ == label_points(song_map.map_2d_, song_map.labels_[song_map.plot_index_])
