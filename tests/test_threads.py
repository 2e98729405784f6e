"""Safe concurrent use: a loaded model's predict and a loaded recommender's recommend, called from
many threads at once, load once and give the single-threaded answers."""

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from musemood import schema
from musemood.classifiers import SimpleBertClassifier, load_model
from musemood.encoders import BertEncoder

from test_classifiers import FAST, make_songs
from test_components import small_recommender  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def saved_model(_tiny_bert_dir, tmp_path_factory):
    train, y = make_songs(80, 0, "text")
    test, _ = make_songs(16, 1, "text")
    model = SimpleBertClassifier(str(_tiny_bert_dir), epochs=3, **FAST).fit(train, y)
    return model.save(tmp_path_factory.mktemp("threads") / "model"), test


def test_predict_from_eight_threads_matches_one_thread(saved_model):
    folder, test = saved_model
    expected = load_model(folder).predict_proba(test)
    model = load_model(folder)
    texts = list(test[schema.LYRICS])
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: model.predict_proba(texts[i:i + 2]), range(0, 16, 2)))
        labels = list(pool.map(model.predict, texts))
    np.testing.assert_allclose(np.concatenate(answers), expected, rtol=1e-5, atol=1e-6)
    assert labels == list(model.classes_[expected.argmax(1)])


def test_one_lazy_encoder_shared_by_threads_loads_once_and_encodes_as_one_thread(_tiny_bert_dir, monkeypatch):
    import musemood.encoders as encoders

    encoder = BertEncoder(str(_tiny_bert_dir), max_length=32)
    texts = [f"song number {i} about rain and the road " * (1 + i % 5) for i in range(24)]
    expected = encoder.encode(texts)
    fresh = BertEncoder(str(_tiny_bert_dir), max_length=32)  # not loaded: the threads race for the first load
    loads, real = [], encoders.load_pretrained

    def slow_load(path):
        loads.append(path)
        time.sleep(0.2)  # widen the race
        return real(path)

    monkeypatch.setattr(encoders, "load_pretrained", slow_load)
    with ThreadPoolExecutor(8) as pool:
        rows = list(pool.map(lambda t: fresh.encode([t])[0], texts))
    assert len(loads) == 1
    np.testing.assert_allclose(np.stack(rows), expected, rtol=1e-5, atol=1e-6)


def test_recommend_from_eight_threads_matches_one_thread(small_recommender):  # noqa: F811 (fixture)
    df, rec = small_recommender
    rows = list(range(0, 80, 5))
    expected = [rec.recommend(df.loc[i, schema.TITLE], 5, artist=df.loc[i, schema.ARTIST]) for i in rows]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda i: rec.recommend(df.loc[i, schema.TITLE], 5, artist=df.loc[i, schema.ARTIST]),
                            rows))
    for a, b in zip(got, expected):
        assert a[schema.TITLE].tolist() == b[schema.TITLE].tolist()
        np.testing.assert_allclose(a["score"], b["score"], rtol=1e-6)
