"""LDA topics as a scikit-learn transformer."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from musemood.datasets import load_demo
from musemood.text import clean_lyrics
from musemood.topics import LdaTopics, select_n_topics, tokenize


@pytest.fixture(scope="module")
def corpus():
    df = load_demo(500, random_state=4, label=False)
    return df["lyrics"].map(clean_lyrics).tolist(), df["theme"].to_numpy()


@pytest.fixture(scope="module")
def fitted(corpus):
    texts, _ = corpus
    return LdaTopics(7, passes=5, random_state=0).fit(texts[:400])


def test_transform_gives_distributions(fitted, corpus):
    texts, _ = corpus
    theta = fitted.transform(texts[400:])
    assert theta.shape == (100, 7)
    np.testing.assert_allclose(theta.sum(1), 1, atol=1e-6)
    assert (theta >= 0).all()


def test_topics_find_themes(fitted, corpus):
    texts, themes = corpus
    top = fitted.transform(texts).argmax(1)
    # each theme is dominated by one topic: purity well above chance (1/7)
    table = pd.crosstab(themes, top)
    purity = table.max(axis=1).sum() / table.values.sum()
    assert purity > 0.6


def test_deterministic_and_independent_of_batch(fitted, corpus):
    texts, _ = corpus
    whole = fitted.transform(texts[400:])
    np.testing.assert_array_equal(whole[:5], fitted.transform(texts[400:405]))
    np.testing.assert_array_equal(whole[3], fitted.transform([texts[403]])[0])
    again = LdaTopics(7, passes=5, random_state=0).fit(texts[:400])
    np.testing.assert_allclose(again.transform(texts[400:]), whole)


def test_coherence_perplexity_top_words_bigrams(fitted, corpus):
    texts, _ = corpus
    assert 0 < fitted.coherence_ <= 1
    assert fitted.perplexity_ > 1
    assert fitted.perplexity(texts[400:]) > 1
    words = fitted.top_words(5)
    assert len(words) == 7 and all(len(w) == 5 for w in words)
    assert any("_" in b for b in fitted.bigrams_)


def test_stop_words_and_fillers_removed():
    assert tokenize("Oh yeah, the baby is gonna dance in the Kitchen") == ["dance", "kitchen"]


def test_save_load_predicts_identically(fitted, corpus, tmp_path):
    texts, _ = corpus
    fitted.save(tmp_path / "lda")
    assert not list((tmp_path / "lda").glob("*.pkl"))
    loaded = LdaTopics.load(tmp_path / "lda")
    np.testing.assert_array_equal(loaded.transform(texts[400:]), fitted.transform(texts[400:]))
    assert loaded.coherence_ == fitted.coherence_
    assert loaded.get_params() == fitted.get_params()


def test_sklearn_contract(fitted):
    params = fitted.get_params()
    assert params["n_topics"] == 7 and params["random_state"] == 0
    c = clone(fitted)
    assert not hasattr(c, "lda_")
    assert c.set_params(n_topics=3).n_topics == 3


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="n_topics"):
        LdaTopics(1).fit(["a b c"])
    with pytest.raises(ValueError, match="empty"):
        LdaTopics(3).fit(["oh yeah", ""])
    with pytest.raises(ValueError, match="does not hold"):
        LdaTopics.load(tmp_path)


def test_select_n_topics(corpus):
    texts, _ = corpus
    best, scores = select_n_topics(texts[:300], candidates=(3, 7), random_state=0, passes=3)
    assert best in (3, 7)
    assert [s["n_topics"] for s in scores] == [3, 7]
    assert best == max(scores, key=lambda s: s["coherence"])["n_topics"]
