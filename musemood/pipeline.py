"""The main job: the whole pipeline on the demo corpus, step by step.

Each step is a function that returns plain data, so the CLI only prints and
other programs can call the same steps.
"""

from __future__ import annotations

import logging
from pathlib import Path

from . import labels, schema
from .config import home

logger = logging.getLogger(__name__)


def run_demo(
    n_songs=2000,
    *,
    random_state=0,
    tag_counts="raw",
    out_dir=None,
    **rule,
):
    """Build the demo corpus, label it with the k/epsilon rule and save it.

    ``rule`` holds parameters of :func:`musemood.labels.assign_moods`
    (``mood_sets``, ``k``, ``epsilon``, ``denominator``, ``min_tags``...).
    Returns a report dict: corpus facts, the label summary, labelled songs per
    split and the path of the saved Parquet dataset.
    """
    from .datasets import drop_duplicate_songs, load_demo, save_dataset

    logger.info("generating %d demo songs (seed %s)", n_songs, random_state)
    df = load_demo(n_songs, random_state=random_state, tag_counts=tag_counts, label=False)
    result = labels.assign_moods(df, **rule)
    df = labels.attach_labels(df, result)
    labelled = drop_duplicate_songs(df[df[schema.LABEL].notna()])

    out_dir = Path(out_dir) if out_dir is not None else home() / "demo"
    path = save_dataset(df, out_dir / "demo.parquet")
    audio = list(schema.AUDIO_FEATURES)
    return {
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
