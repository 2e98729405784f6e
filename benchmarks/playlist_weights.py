"""Does ``recommend(songs=[...])`` need rerank weights of its own?  The weights tuned on single songs,
against the best lexical weight for playlists of each size.

Run:  .venv/bin/python benchmarks/playlist_weights.py [--recommender DIR] [--sizes 1,2,3,5] [--playlists 60]

A saved recommender (``--recommender``, else the one ``recommend()`` uses: the demo's, built if absent)
tunes its rerank weights on single query songs (``lexical``, then ``cluster``).  Here the measure its
tuner maximises, precision@k of mood agreement (k its ``tune_k``, 10 by default) with candidates among
the labelled songs, is taken on playlists: ``--playlists`` per mood and size, drawn from the
recommender's tuning songs and, apart, from its evaluation songs (a size of 1 takes each song once).
For each, the table gives the precision with the tuned weights (the peer: what ``songs=`` uses) and with
the lexical weight that maximises it on those very playlists (the best of the tuner's golden-section
search, a grid of 0, 0.1, ..., 1 and the tuned weight, the cluster weight kept): an in-sample best, so an
upper bound of what weights of its own could gain.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from musemood.rerank import RerankTuner, golden_section_max  # noqa: E402


def playlists(rec, queries, size, per_mood, rng):
    """Row lists of ``size`` labelled songs of one mood from ``queries``."""
    cat = rec.catalogue_
    queries = [int(q) for q in queries if cat.labelled_[q]]
    groups = []
    for mood in cat.mood_names_:
        pool = [q for q in queries if cat.mood_of(q) == mood]
        if size == 1:
            groups += [[q] for q in pool]
        elif len(pool) >= size:
            groups += [[int(r) for r in rng.choice(pool, size, replace=False)] for _ in range(per_mood)]
    return groups


def candidates(rec, groups):
    """Each playlist's candidates among the labelled songs, with whether each shares its mood: the tuner's
    ``query_table``, for playlists too."""
    cat, retriever = rec.catalogue_, rec.retriever_
    table = []
    for rows in groups:
        query = retriever.songs_query(rows) if len(rows) > 1 else retriever.song_query(rows[0])
        cand = retriever.candidates(query, mask=cat.labelled_)
        cand["agree"] = cat.mood_of(cand["ids"]) == cat.mood_of(rows[0])
        table.append(cand)
    return table


def precision(rec, table, weights):
    """Mean precision@k of the rerank with ``weights``, k the recommender's ``tune_k``, by its tuner."""
    tuner = RerankTuner(rec.retriever_, rec.tune_k)
    return float(tuner.precision(table, "rerank", tuner.top_k, weights).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recommender", help="a saved recommender folder (default: the demo's)")
    parser.add_argument("--sizes", default="1,2,3,5", help="songs per playlist, comma-separated")
    parser.add_argument("--playlists", type=int, default=60, help="playlists per mood and size")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from musemood.recommender import get_recommender

    rec = get_recommender(args.recommender)
    tuned = dict(rec.weights_)
    rng = np.random.default_rng(args.seed)
    print(f"{len(rec.catalogue_):,} songs; weights tuned on single songs: lexical {tuned['lexical']:.3f}, "
          f"cluster {tuned['cluster']:.3f}")
    print("| query songs | songs a playlist | playlists | tuned weights (peer) | best lexical weight | "
          f"precision@{rec.tune_k} there | best / tuned |")
    print("|---|---|---|---|---|---|---|")
    for name, queries in (("tuning", rec.tune_queries_), ("evaluation", rec.eval_queries_)):
        for size in (int(s) for s in args.sizes.split(",")):
            table = candidates(rec, playlists(rec, queries, size, args.playlists, rng))
            if not table:
                continue
            peer = precision(rec, table, tuned)
            found, _, _ = golden_section_max(lambda w: precision(rec, table, {**tuned, "lexical": w}), 0.0, 1.0)
            tried = {w: precision(rec, table, {**tuned, "lexical": w})  # the search, a grid and the tuned weight
                     for w in (found, tuned["lexical"], *np.linspace(0, 1, 11))}
            best = max(tried, key=tried.get)
            at_best = tried[best]
            print(f"| {name} | {size} | {len(table)} | {peer:.3f} | {best:.3f} | {at_best:.3f} | "
                  f"{at_best / peer:.3f} |")


if __name__ == "__main__":
    main()
