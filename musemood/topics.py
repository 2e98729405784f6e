"""Topics of lyrics: LDA (gensim) as a scikit-learn transformer.

:class:`LdaTopics` turns lyrics into topic distributions, the topic block of
tBERT.  It is fitted on training songs only; ``transform`` is deterministic and
gives a song the same vector whatever else is in the batch.  It saves as plain
arrays and a JSON vocabulary, never as a pickle.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from .persistence import check_arrays, load_npy, read_config, write_config
from .text import LYRIC_FILLERS  # sung sounds and contractions: no topic
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

logger = logging.getLogger(__name__)



class LdaTopics(TransformerMixin, BaseEstimator):
    """Latent Dirichlet allocation over cleaned lyrics.

    Parameters
    ----------
    n_topics : int, default=7
    passes : int, default=10
        Passes over the corpus while fitting.
    iterations : int, default=100
        Variational iterations per document.
    bigrams : bool, default=True
        Join frequent word pairs ("dance_floor") found by gensim's ``Phrases``.
    min_count : int, default=2
        Drop words in fewer documents (and bigrams seen fewer times).
    max_df : float, default=0.5
        Drop words in a larger share of documents.
    alpha, eta : str or float, default="auto" / "auto"
        Dirichlet priors, as in :class:`gensim.models.LdaModel`.
    random_state : int, default=None
    evaluate : bool, default=True
        Compute ``coherence_`` (c_v) and ``perplexity_`` on the training texts.

    Attributes
    ----------
    vocabulary_ : list of str
    bigrams_ : set of str
        Learned word pairs, as "first_second".
    coherence_ : float
        c_v coherence of the topics on the training texts (higher is better).
    perplexity_ : float
        Perplexity of the training texts (lower is better).
    """

    def __init__(
        self,
        n_topics=7,
        *,
        passes=10,
        iterations=100,
        bigrams=True,
        min_count=2,
        max_df=0.5,
        alpha="auto",
        eta="auto",
        random_state=None,
        evaluate=True,
    ):
        self.n_topics = n_topics
        self.passes = passes
        self.iterations = iterations
        self.bigrams = bigrams
        self.min_count = min_count
        self.max_df = max_df
        self.alpha = alpha
        self.eta = eta
        self.random_state = random_state
        self.evaluate = evaluate

    def fit(self, X, y=None):
        """Learn topics from ``X``, an iterable of lyrics."""
        from gensim.corpora import Dictionary
        from gensim.models import LdaModel
        from gensim.models.phrases import Phrases

        if int(self.n_topics) < 2:
            raise ValueError(f"n_topics must be at least 2, got {self.n_topics!r}")
        tokens = [tokenize(t) for t in X]
        if sum(map(len, tokens)) == 0:
            raise ValueError("no words left after removing stop words: are the lyrics empty?")
        self.bigrams_ = set()
        if self.bigrams:
            phrases = Phrases(tokens, min_count=max(self.min_count, 2), threshold=10, delimiter="_")
            self.bigrams_ = set(phrases.export_phrases())
            tokens = [self._join_bigrams(doc) for doc in tokens]
        dictionary = Dictionary(tokens)
        dictionary.filter_extremes(no_below=self.min_count, no_above=self.max_df, keep_n=None)
        if len(dictionary) == 0:
            raise ValueError(
                "every word was filtered out; lower min_count or raise max_df, or pass more texts"
            )
        corpus = [dictionary.doc2bow(doc) for doc in tokens]
        seed = _seed(self.random_state)
        self.lda_ = LdaModel(
            corpus,
            num_topics=int(self.n_topics),
            id2word=dictionary,
            passes=self.passes,
            iterations=self.iterations,
            alpha=self.alpha,
            eta=self.eta,
            random_state=seed,
            eval_every=None,
            dtype=np.float64,
        )
        self.vocabulary_ = [dictionary[i] for i in range(len(dictionary))]
        self._seed_ = seed
        if self.evaluate:
            self.coherence_ = self._coherence(tokens)
            self.perplexity_ = float(np.exp2(-self.lda_.log_perplexity(corpus)))
        return self

    def transform(self, X):
        """Topic distribution of each text: an array ``(n_texts, n_topics)`` whose rows sum to 1."""
        check_is_fitted(self, "lda_")
        X = [X] if isinstance(X, str) else X
        if X is None or not hasattr(X, "__iter__"):
            raise TypeError(f"transform takes a list of texts, got {type(X).__name__}")
        X = list(X)
        for row, text in enumerate(X):
            if not (isinstance(text, str) or text is None):
                raise TypeError(f"texts must be strings; got {type(text).__name__} {text!r} at row {row}")
        out = np.empty((0, self.lda_.num_topics))
        rows = [self._doc_topics(text or "") for text in X]
        return np.vstack(rows) if rows else out

    def top_words(self, n=10):
        """The ``n`` most probable words of every topic, as a list of lists."""
        check_is_fitted(self, "lda_")
        return [[w for w, _ in self.lda_.show_topic(k, topn=n)] for k in range(self.lda_.num_topics)]

    def perplexity(self, X):
        """Perplexity of new texts (lower is better)."""
        check_is_fitted(self, "lda_")
        corpus = [self._bow(t) for t in X]
        return float(np.exp2(-self.lda_.log_perplexity(corpus)))

    # ----------------------------------------------------------- persistence
    def save(self, path):
        """Write the fitted model to folder ``path``: JSON config and vocabulary, ``.npy`` arrays."""
        check_is_fitted(self, "lda_")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        np.save(path / "alpha.npy", np.asarray(self.lda_.alpha, dtype=np.float64))
        np.save(path / "eta.npy", np.asarray(self.lda_.eta, dtype=np.float64))
        np.save(path / "sstats.npy", np.asarray(self.lda_.state.sstats, dtype=np.float64))
        # The topic-word prior the state was built with (gensim's eta="auto" updates
        # lda.eta but the state keeps its own).
        np.save(path / "state_eta.npy", np.asarray(self.lda_.state.eta, dtype=np.float64))
        write_config(path, self, self.get_params(), vocabulary=self.vocabulary_, bigrams=sorted(self.bigrams_),
                     seed=self._seed_, coherence=getattr(self, "coherence_", None),
                     perplexity=getattr(self, "perplexity_", None))
        return path

    @classmethod
    def load(cls, path):
        """Read a model written by :meth:`save`."""
        from gensim.corpora import Dictionary
        from gensim.models import LdaModel

        path = Path(path)
        try:
            if (path / "topics.json").exists():  # format 1
                config = json.loads((path / "topics.json").read_text())
            else:
                config = read_config(path, cls)
            alpha, eta, sstats, state_eta = (
                load_npy(path / f"{n}.npy") for n in ("alpha", "eta", "sstats", "state_eta")
            )
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path} does not hold a saved LdaTopics model ({exc})") from exc
        # t topics, v words; eta is per word or per topic and word
        eta_shape = ("v",) if np.ndim(eta) == 1 else ("t", "v")
        check_arrays(path, {"alpha": alpha, "sstats": sstats, "eta": eta, "state_eta": state_eta},
                     {"alpha": ("t",), "sstats": ("t", "v"), "eta": eta_shape,
                      "state_eta": ("v",) if np.ndim(state_eta) == 1 else ("t", "v")},
                     sizes={"v": len(config.get("vocabulary") or [])})
        model = cls(**config["params"])
        dictionary = Dictionary()
        dictionary.token2id = {w: i for i, w in enumerate(config["vocabulary"])}
        dictionary.id2token = {}
        lda = LdaModel(
            num_topics=len(alpha),
            id2word=dictionary,
            alpha=alpha,
            eta=eta,
            iterations=model.iterations,
            dtype=np.float64,
        )
        lda.state.sstats = sstats
        lda.state.eta = state_eta
        lda.sync_state()
        model.lda_ = lda
        model.vocabulary_ = config["vocabulary"]
        model.bigrams_ = set(config["bigrams"])
        model._seed_ = config["seed"]
        if config.get("coherence") is not None:
            model.coherence_ = config["coherence"]
        if config.get("perplexity") is not None:
            model.perplexity_ = config["perplexity"]
        return model

    # ------------------------------------------------------------- internals
    def _join_bigrams(self, tokens):
        out, i = [], 0
        while i < len(tokens):
            if i + 1 < len(tokens) and f"{tokens[i]}_{tokens[i + 1]}" in self.bigrams_:
                out.append(f"{tokens[i]}_{tokens[i + 1]}")
                i += 2
            else:
                out.append(tokens[i])
                i += 1
        return out

    def _bow(self, text):
        tokens = tokenize(text)
        if self.bigrams_:
            tokens = self._join_bigrams(tokens)
        return self.lda_.id2word.doc2bow(tokens)

    def _doc_topics(self, text):
        bow = self._bow(text)
        if not bow:
            return np.full(self.lda_.num_topics, 1.0 / self.lda_.num_topics)
        # Same starting point for every document: the result depends on the text alone.
        self.lda_.random_state = np.random.RandomState(self._seed_)
        gamma, _ = self.lda_.inference([bow])
        return gamma[0] / gamma[0].sum()

    def _coherence(self, tokens):
        from gensim.models import CoherenceModel

        cm = CoherenceModel(
            model=self.lda_,
            texts=tokens,
            dictionary=self.lda_.id2word,
            coherence="c_v",
            topn=10,
            processes=1,
        )
        return float(cm.get_coherence())


def tokenize(text):
    """Lower-cased word tokens of ``text`` without stop words or lyric fillers."""
    from gensim.parsing.preprocessing import STOPWORDS
    from gensim.utils import simple_preprocess

    return [
        w
        for w in simple_preprocess(text or "", deacc=True, min_len=2)
        if w not in STOPWORDS and w not in LYRIC_FILLERS
    ]


def select_n_topics(texts, candidates=(3, 5, 7, 9, 11, 13), *, random_state=None, **params):
    """Fit one model per topic count and pick the count with the best c_v coherence.

    Returns ``(best_n_topics, scores)`` where ``scores`` is a list of dicts
    ``{"n_topics", "coherence", "perplexity"}`` in the order of ``candidates``.
    """
    texts = list(texts)
    scores = []
    for n in candidates:
        model = LdaTopics(n, random_state=random_state, evaluate=True, **params).fit(texts)
        scores.append({"n_topics": n, "coherence": model.coherence_, "perplexity": model.perplexity_})
        logger.info("n_topics=%d: c_v %.3f, perplexity %.1f", n, model.coherence_, model.perplexity_)
    best = max(scores, key=lambda s: s["coherence"])["n_topics"]
    return best, scores


def _seed(random_state):
    if random_state is None:
        return int(np.random.default_rng().integers(2**31 - 1))
    if isinstance(random_state, (int, np.integer)):
        return int(random_state)
    return int(np.random.default_rng(random_state).integers(2**31 - 1))
