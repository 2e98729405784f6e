"""Tuning and evaluating the rerank by the mood agreement of recommendations.

:class:`RerankTuner` scores a :class:`~musemood.ranking.HybridRetriever` on labelled
query songs: precision@k of mood agreement (the share of the top k songs that share
the query's mood), for lexical retrieval only, embeddings only and the rerank.  It
tunes the rerank's weights by golden-section search (:func:`golden_section_max`)
and evaluates them against a random baseline with a Wilcoxon test.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from .ranking import METHODS

logger = logging.getLogger(__name__)

METHOD_NAMES = {"lexical": "lexical only", "embedding": "embeddings only", "rerank": "tuned rerank"}


def golden_section_max(f, lo, hi, *, grid=11, tol=0.01, max_iter=30):
    """Maximise ``f`` on [lo, hi]: a coarse grid, then golden-section search around its best point.

    The objectives here (precision@k) are step functions of the weights, so a plain
    golden-section search could stop on a flat step; the grid brackets the best region
    first.  Returns ``(x, f(x), trace)`` with ``trace`` the (x, f(x)) pairs evaluated.
    """
    trace = []

    def g(x):
        value = float(f(x))
        trace.append((round(float(x), 5), value))
        return value

    xs = np.linspace(lo, hi, grid)
    values = [g(x) for x in xs]
    best = int(np.argmax(values))
    a, b = xs[max(best - 1, 0)], xs[min(best + 1, grid - 1)]
    invphi = (math.sqrt(5) - 1) / 2
    c, d = b - invphi * (b - a), a + invphi * (b - a)
    fc, fd = g(c), g(d)
    for _ in range(max_iter):
        if abs(b - a) < tol:
            break
        if fc >= fd:
            b, d, fd = d, c, fc
            c = b - invphi * (b - a)
            fc = g(c)
        else:
            a, c, fc = c, d, fd
            d = a + invphi * (b - a)
            fd = g(d)
    x_best, f_best = max(trace, key=lambda t: (t[1], -abs(t[0] - xs[best])))
    return float(x_best), float(f_best), trace


class RerankTuner:
    """Precision@k of mood agreement on query songs, weight tuning and evaluation.

    Parameters
    ----------
    retriever : HybridRetriever
    top_k : int, default=10
        k of the precision@k that tuning maximises.
    """

    def __init__(self, retriever, top_k: int = 10) -> None:
        self.retriever = retriever
        self.top_k = top_k

    def query_table(self, queries) -> list[dict]:
        """Per labelled query: candidates within the labelled catalogue and whether each shares the mood."""
        cat = self.retriever.catalogue
        table = []
        for q in np.asarray(queries, dtype=np.int64):
            if not cat.labelled_[q]:
                continue
            cand = self.retriever.candidates(self.retriever.song_query(int(q)), mask=cat.labelled_)
            cand["agree"] = cat.mood_of(cand["ids"]) == cat.mood_of(q)
            table.append(cand)
        return table

    def precision(self, table, method, k, weights=None) -> np.ndarray:
        """Precision@k of mood agreement per query (songs missing from the top k count as misses)."""
        out = np.empty(len(table))
        for j, cand in enumerate(table):
            top = self.retriever.rank(cand, method, weights)[:k]
            out[j] = cand["agree"][top].sum() / k
        return out

    def tune(self, queries, *, cluster_term: bool) -> tuple[dict, dict]:
        """Weights ``{"lexical", "cluster"}`` that maximise precision@k on ``queries``, and a tuning report."""
        table = self.query_table(queries)
        if len(table) < 5:
            logger.warning("only %d labelled tuning queries: using equal weights, no cluster term", len(table))
            return {"lexical": 0.5, "cluster": 0.0}, {"tuned": False, "queries": len(table)}
        k = self.top_k

        def objective(w_lex, w_cl):
            return float(self.precision(table, "rerank", k, {"lexical": w_lex, "cluster": w_cl}).mean())

        w_lex, p_lex, trace_lex = golden_section_max(lambda w: objective(w, 0.0), 0.0, 1.0)
        if cluster_term:
            w_cl, p_cl, trace_cl = golden_section_max(lambda c: objective(w_lex, c), 0.0, 1.0)
            if p_cl <= p_lex:  # the cluster term must earn its place
                w_cl, p_cl = 0.0, p_lex
        else:
            w_cl, p_cl, trace_cl = 0.0, p_lex, []
        info = {"tuned": True, "queries": len(table), "k": k, "precision": p_cl,
                "trace_lexical": trace_lex, "trace_cluster": trace_cl,
                "lexical_only": float(self.precision(table, "lexical", k).mean()),
                "embedding_only": float(self.precision(table, "embedding", k).mean())}
        logger.info("tuned weights lexical=%.3f cluster=%.3f (precision@%d %.3f on %d queries)",
                    w_lex, w_cl, k, p_cl, len(table))
        return {"lexical": float(w_lex), "cluster": float(w_cl)}, info

    def evaluate(self, queries, weights, top_k=10, *, trained=None) -> pd.DataFrame:
        """Precision@k per method on ``queries``, the random baseline and a Wilcoxon test (in ``attrs``, with
        ``trained``: how many query songs the model trained on, when known)."""
        from scipy.stats import wilcoxon

        cat = self.retriever.catalogue
        k = top_k
        table = self.query_table(queries)
        if not table:
            raise ValueError("no labelled query songs to evaluate on; the catalogue needs a mood column")
        shares = pd.Series(cat.mood_of(cat.labelled_)).value_counts(normalize=True)
        baseline = float((shares**2).sum())
        rows, per_query = [], {}
        for method in METHODS:
            p = self.precision(table, method, k, weights)
            per_query[method] = p
            rows.append({"method": METHOD_NAMES[method], f"precision@{k}": float(p.mean()),
                         "stderr": float(p.std(ddof=1) / math.sqrt(len(p))) if len(p) > 1 else float("nan"),
                         "queries": len(p)})
        rows.append({"method": "random (Σ p²)", f"precision@{k}": baseline, "stderr": float("nan"),
                     "queries": len(table)})
        out = pd.DataFrame(rows)
        diff = per_query["rerank"] - per_query["lexical"]
        p_value = float(wilcoxon(diff).pvalue) if np.any(diff != 0) else 1.0
        out.attrs.update({"k": k, "random_baseline": baseline, "wilcoxon_rerank_vs_lexical": p_value,
                          "weights": dict(weights), "moods": shares.round(4).to_dict()})
        if trained is not None:
            out.attrs["trained_queries"] = dict(trained)
        return out


def trained_songs(model, lyrics, cleaned=None):
    """Rows of the catalogue songs ``model`` trained on, in order; ``None`` when its vectors were not trained
    on the labels (an encoder, simple BERT) or it cannot tell (saved by an earlier musemood).  ``lyrics``:
    the catalogue's lyrics, by row; ``cleaned``: the same cleaned by :func:`~musemood.text.clean_texts`,
    used instead of cleaning them again when the model cleans its texts so too (about 7 s a million songs
    to fingerprint them)."""
    from .text import text_hashes

    if not getattr(model, "_label_trained_vectors", False) or getattr(model, "training_texts_", None) is None:
        return None
    if cleaned is not None and getattr(model, "clean", False):
        seen = np.isin(text_hashes(cleaned), model.training_texts_)
    else:
        seen = model.trained_on(list(np.asarray(lyrics, dtype=object)))
    return np.flatnonzero(seen).astype(np.int64)


def trained_queries(trained, tune, evaluation):
    """How many of the tuning and evaluation query songs are among the ``trained`` rows (see
    :func:`trained_songs`; ``None``: not known), ``{"tune": n, "eval": n}``, with a warning when there
    are some."""
    if trained is None:
        return None
    counts = {"tune": int(np.isin(tune, trained).sum()), "eval": int(np.isin(evaluation, trained).sum())}
    if counts["eval"]:
        _warn_trained(counts["eval"], len(evaluation))
    if counts["tune"]:
        logger.warning("%d of the %d tuning query songs are songs the model trained on: the tuned weights lean to "
                       "the embeddings", counts["tune"], len(tune))
    return counts


def trained_among(trained, queries):
    """``{"eval": n}``: how many of ``queries`` (rows of your own) are among the ``trained`` rows, with a
    warning when there are some; ``None`` when that is not known (``trained`` is ``None``)."""
    if trained is None:
        return None
    n = int(np.isin(queries, trained).sum())
    if n:
        _warn_trained(n, len(queries), given=True)
    return {"eval": n}


def _warn_trained(n, of, given=False):
    remedy = ("evaluate on songs it did not train on" if given else
              "train the model without the split column's 'valid' and 'test' songs (as musemood train does unless "
              "--all-splits), or give eval_queries= songs it did not train on")
    logger.warning("%d of the %d evaluation query songs are songs the model trained on: its vectors were taught "
                   "their moods, so its evaluation (evaluate(), musemood evaluate-recommender) flatters the "
                   "embeddings and the rerank. Hold them out: %s", n, of, remedy)


def default_queries(labelled, split, tune, evaluation, random_state=0):
    """Query rows for tuning and for evaluation: given ones, else the labelled "valid" and "test"
    songs of ``split`` (when each has 20 or more), else a random half each of up to 1,000 labelled songs."""
    n = len(labelled)
    labelled = np.flatnonzero(labelled)

    def as_index(q):
        q = np.asarray(q)
        if q.dtype == bool:
            if len(q) != n:
                raise ValueError(f"a boolean query mask needs one value per song ({n}), got {len(q)}")
            return np.flatnonzero(q)
        if q.size and (q.dtype.kind not in "iu" or q.min() < 0 or q.max() >= n):
            raise ValueError(f"query rows must be whole numbers from 0 to {n - 1} (rows of the catalogue), got "
                             f"{q[:5].tolist()}{'...' if q.size > 5 else ''}")
        return q.astype(np.int64)

    if tune is not None and evaluation is not None:
        return as_index(tune), as_index(evaluation)
    if split is not None:
        split = split.astype("string").fillna("").to_numpy()
        t = labelled[split[labelled] == "valid"]
        e = labelled[split[labelled] == "test"]
        if len(t) >= 20 and len(e) >= 20:
            return (as_index(tune) if tune is not None else t), (as_index(evaluation) if evaluation is not None
                                                                 else e)
        logger.warning("the split column has %d labelled 'valid' and %d 'test' songs (20 of each needed): the "
                       "rerank is tuned and evaluated on random halves of the labelled songs", len(t), len(e))
    rng = np.random.default_rng(random_state)
    pool = rng.permutation(labelled)[:1000]
    half = len(pool) // 2
    return (as_index(tune) if tune is not None else np.sort(pool[:half]),
            as_index(evaluation) if evaluation is not None else np.sort(pool[half:]))
