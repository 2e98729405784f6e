"""The main job as a library: the demo corpus, its labels, Table 1, the song map and the recommender.

Each stage is a function that returns the objects it made, so the CLI only prints
between stages and other programs can run the same steps (or :func:`run_demo` for
all of them at once)::

    corpus, report = demo_corpus(2000)
    comparison = compare_models(labelled_songs(corpus), seeds=(0,), epochs=2, max_length=128,
                                keep_models=True)
    rec, queries = demo_recommender(corpus, comparison, max_length=128)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import labels, schema
from .config import home

logger = logging.getLogger(__name__)

#: The song vectors the recommender prefers, best first, and how the demo describes them.
EMBEDDING_MODELS = {"tbert": "tBERT's hidden layer", "finetuned": "the fine-tuned encoder",
                    "simple": "the frozen encoder"}


@dataclass
class DemoResult:
    """What :func:`run_demo` made."""

    corpus: pd.DataFrame  # every generated song, labelled (label, label_reason, split)
    report: dict  # corpus facts and the label summary (see demo_corpus)
    comparison: Any = None  # musemood.evaluation.Comparison, when models were compared
    recommender: Any = None  # musemood.recommender.Recommender, when it was fitted
    queries: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # held-out query rows


def demo_corpus(n_songs=2000, *, random_state=0, tag_counts="raw", out_dir=None, **rule):
    """Generate the demo corpus, label it with the k/epsilon rule and save it as Parquet.

    ``rule`` holds parameters of :func:`musemood.labels.assign_moods` (``mood_sets``,
    ``k``, ``epsilon``, ``denominator``, ``min_tags``...).  Returns ``(corpus, report)``:
    every song with ``label``, ``label_reason`` and ``split``, and a dict of corpus
    facts, the label summary, labelled songs per split and the Parquet path.
    """
    from .datasets import drop_duplicate_songs, load_demo, save_dataset

    logger.info("generating %d demo songs (seed %s)", n_songs, random_state)
    df = load_demo(n_songs, random_state=random_state, tag_counts=tag_counts, label=False)
    result = labels.assign_moods(df, **rule)
    df = labels.attach_labels(df, result)
    labelled = labelled_songs(df)
    out_dir = Path(out_dir) if out_dir is not None else home() / "demo"
    path = save_dataset(df, out_dir / "demo.parquet")
    audio = list(schema.AUDIO_FEATURES)
    report = {
        "n_songs": len(df),
        "random_state": random_state,
        "n_artists": int(df[schema.ARTIST].nunique()),
        "n_duplicates": len(df) - len(drop_duplicate_songs(df)),
        "n_without_audio": int(df[audio].isna().all(axis=1).sum()),
        "n_partial_audio": int((df[audio].isna().any(axis=1) & df[audio].notna().any(axis=1)).sum()),
        "rule": dict(rule),
        "summary": labels.summarize(result),
        "splits": {s: int((labelled[schema.SPLIT] == s).sum()) for s in schema.SPLITS},
        "path": str(path),
    }
    return df, report


def labelled_songs(corpus):
    """The songs the rule labelled, each song once (re-releases dropped): what the models learn from."""
    from .datasets import drop_duplicate_songs

    return drop_duplicate_songs(corpus[corpus[schema.LABEL].notna()])


def demo_recommender(corpus, comparison=None, *, encoder=None, max_length=128, random_state=0,
                     show_progress_bar=False):
    """Fit the recommender (with its song map) on the corpus, one row per song.

    Song vectors come from the comparison's best kept model (tBERT, else fine-tuned,
    else simple BERT), else from ``encoder``.  The song map is drawn from ``encoder``'s
    vectors of the lyrics with the audio features (``Recommender(map_on="auto")``).
    The comparison's test songs, which no model trained on, are the held-out queries:
    half tune the rerank, half evaluate it.
    Returns ``(recommender, queries)`` with ``queries`` the shuffled held-out rows of
    ``recommender.catalogue_``.
    """
    from .datasets import drop_duplicate_songs
    from .recommender import Recommender

    catalogue = drop_duplicate_songs(corpus).reset_index(drop=True)
    name = _embedding_model(comparison)
    model = comparison.models[name] if name else encoder
    test_rows = comparison.test_rows if comparison is not None else []
    held_out = set(corpus.loc[test_rows, schema.SONG_ID])
    queries = np.flatnonzero(catalogue[schema.SONG_ID].isin(held_out).to_numpy()
                             & catalogue[schema.LABEL].notna().to_numpy())
    queries = np.random.default_rng(random_state).permutation(queries)
    half = len(queries) // 2
    rec = Recommender(max_length=max_length, map_encoder=encoder, show_progress_bar=show_progress_bar)
    rec.fit(catalogue, model, tune_queries=np.sort(queries[:half]), eval_queries=np.sort(queries[half:]))
    return rec, queries


def embedding_source(comparison):
    """How :func:`demo_recommender` will describe its song vectors for this comparison."""
    return EMBEDDING_MODELS.get(_embedding_model(comparison), "the packaged encoder")


def _embedding_model(comparison):
    """The name of the comparison's kept model the recommender takes its song vectors from, or ``None``."""
    kept = comparison.models if comparison is not None else {}
    return next((m for m in EMBEDDING_MODELS if m in kept), None)


def run_demo(n_songs=2000, *, random_state=0, tag_counts="raw", out_dir=None, models=None, seeds=(0,),
             encoder=None, epochs=2, max_length=128, batch_size=16, n_topics=7, recommender_path=None,
             show_progress_bar=False, callback=None, **rule):
    """The whole main job; returns a :class:`DemoResult`.

    Writes the labelled corpus, Table 1 (``compare/``), the map plots (``map/``) under
    ``out_dir`` (default ``$MUSEMOOD_HOME/demo``) and the recommender to
    ``recommender_path`` (default ``$MUSEMOOD_HOME/recommender``).  ``models`` defaults to
    the study's (:data:`musemood.schema.STUDY_MODELS`); an empty tuple stops after labelling.
    """
    from .evaluation import compare_models
    from .recommender import default_path

    corpus, report = demo_corpus(n_songs, random_state=random_state, tag_counts=tag_counts, out_dir=out_dir, **rule)
    result = DemoResult(corpus, report)
    models = schema.STUDY_MODELS if models is None else tuple(models)
    if not models:
        return result
    out = Path(report["path"]).parent
    result.comparison = compare_models(
        labelled_songs(corpus), models=models, seeds=tuple(seeds), encoder=encoder, epochs=epochs,
        max_length=max_length, batch_size=batch_size, n_topics=n_topics, audio_columns="auto",
        show_progress_bar=show_progress_bar, callback=callback, keep_models=True)
    result.comparison.save(out / "compare")
    result.recommender, result.queries = demo_recommender(
        corpus, result.comparison, encoder=encoder, max_length=max_length, random_state=random_state,
        show_progress_bar=show_progress_bar)
    result.recommender.save(recommender_path or default_path())
    result.recommender.plot_map(out / "map")
    return result
