"""Keyword search at scale: the lexical index's compiled search against NumPy and scipy ways.

Run:  .venv/bin/python benchmarks/lexical.py [--sizes 100000,1000000] [--queries 1000]

For each catalogue size, the synthetic lyrics of benchmarks/_catalogue.py (80 Zipf words a song,
30,000-word vocabulary) are indexed by :class:`~musemood.retrieval.LexicalIndex` (TF-IDF, as the
recommender's default). Each query is what ``recommend()`` asks of the index for a catalogue song
(seed 0): the song's 10 highest-weighted terms, the song itself excluded, the best 200 songs wanted;
half the queries also keep only one mood (a quarter of the songs), as ``recommend(mood=...)`` does.
Three ways to answer them, measured in the same run, one after the other on each query:

- ``compiled``: ``LexicalIndex.search`` (numba: postings added into a per-thread score array, a heap
  keeps the best);
- ``numpy sort-merge``: the posting lists joined, a stable sort by song, one sum per song, then
  ``argpartition`` (musemood's way until 2026-11-25);
- ``scipy product``: the query vector times the postings matrix, then ``argpartition``.

The table gives p50 and p99 per query and the share of queries whose 200 songs (in order) are
those of ``compiled``. Numbers are milliseconds on this machine, one thread.

A second table times what a free-text query (``recommend(text=...)``) asks first: the counts of its
words over the indexed terms, for a catalogue song's lyrics as the text. ``LexicalIndex.count``
keeps one vectorizer per index; the peer makes a scikit-learn ``CountVectorizer`` over the indexed
vocabulary for each query (musemood's way until 2026-12-07), whose vocabulary dict and checks grow
with the number of terms; ``--terms`` adds an index of that many distinct words (a real catalogue's
vocabulary is larger than the synthetic 30,000).
"""

import argparse
import time

import numpy as np


def index_for(n):
    import _catalogue
    from musemood.retrieval import LexicalIndex

    cat = _catalogue.catalogue(n)
    started = time.perf_counter()
    index = LexicalIndex().fit(cat["lyrics"])
    return index, cat["mood"] == _catalogue.MOODS[0], time.perf_counter() - started


def numpy_sort_merge(index, terms, top_k, exclude, mask):
    query = index.query_vector(terms)
    postings = index.postings_
    starts, stops = postings.indptr[query.indices], postings.indptr[query.indices + 1]
    songs = np.concatenate([postings.indices[a:b] for a, b in zip(starts, stops)])
    weights = np.concatenate([w * postings.data[a:b] for w, a, b in zip(query.data, starts, stops)])
    order = np.argsort(songs, kind="stable")
    songs, weights = songs[order], weights[order]
    first = np.flatnonzero(np.r_[True, songs[1:] != songs[:-1]])
    return best(songs[first].astype(np.int64), np.add.reduceat(weights, first), top_k, exclude, mask)


def scipy_product(index, terms, top_k, exclude, mask):
    scores = (index.query_vector(terms) @ index.postings_).tocsr()
    return best(scores.indices.astype(np.int64), scores.data, top_k, exclude, mask)


def best(ids, scores, top_k, exclude, mask):
    keep = ~np.isin(ids, exclude)
    if mask is not None:
        keep &= mask[ids]
    ids, scores = ids[keep], scores[keep]
    if len(ids) > top_k:
        part = np.argpartition(-scores, top_k - 1)[:top_k]
        ids, scores = ids[part], scores[part]
    order = np.lexsort((ids, -scores))
    return ids[order], scores[order]


def run(n, n_queries):
    from musemood.retrieval import top_terms

    index, mask, build = index_for(n)
    rng = np.random.default_rng(0)
    songs = rng.choice(n, n_queries, replace=False)
    keywords = top_terms(index.postings_.T.tocsr()[songs], 10)
    ways = {
        "compiled": lambda t, e, m: index.search(t, 200, exclude=e, mask=m),
        "numpy sort-merge": lambda t, e, m: numpy_sort_merge(index, t, 200, e, m),
        "scipy product": lambda t, e, m: scipy_product(index, t, 200, e, m),
    }
    index.search(keywords[0][keywords[0] >= 0], 200)  # compiles (or loads from numba's cache)
    times = {(way, filtered): [] for way in ways for filtered in (False, True)}
    same = {key: 0 for key in times}
    postings_read = []
    for i, (song, terms) in enumerate(zip(songs, keywords)):
        terms = terms[terms >= 0]
        filtered = bool(i % 2)
        m = mask if filtered else None
        postings_read.append(int(np.diff(index.postings_.indptr)[terms].sum()))
        answers = {}
        for way, call in ways.items():
            started = time.perf_counter()
            answers[way] = call(terms, [song], m)
            times[way, filtered].append(time.perf_counter() - started)
        for way in ways:
            same[way, filtered] += np.array_equal(answers[way][0], answers["compiled"][0])
    rows = []
    for (way, filtered), values in times.items():
        ms = np.asarray(values) * 1000
        compiled = np.median(times["compiled", filtered]) * 1000
        rows.append({"songs": n, "mood filter": "one mood" if filtered else "none", "way": way,
                     "p50 (ms)": np.median(ms), "p99 (ms)": np.percentile(ms, 99),
                     "p50 / compiled p50": np.median(ms) / compiled,
                     "same 200 as compiled": same[way, filtered] / len(values)})
    import _catalogue

    texts = list(_catalogue.catalogue(200)["lyrics"])
    return rows, build, int(np.median(postings_read)), (len(index.terms_), *free_text(index, texts))


def free_text(index, texts):
    """p50 milliseconds of counting one text: the index's kept vectorizer, and a new one per query."""
    kept, fresh = [], []
    index.count(texts[:1])  # the kept vectorizer is made on the first query
    for text in texts:
        started = time.perf_counter()
        ours = index.count([text])
        kept.append(time.perf_counter() - started)
        started = time.perf_counter()
        theirs = index._vectorizer(vocabulary={t: i for i, t in enumerate(index.terms_)}).transform([text])
        fresh.append(time.perf_counter() - started)
        assert (ours != theirs).nnz == 0
    return np.median(kept) * 1000, np.median(fresh) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--terms", type=int, default=300_000, help="distinct words of the free-text table's "
                        "large index (0: none)")
    args = parser.parse_args()
    header = ["songs", "mood filter", "way", "p50 (ms)", "p99 (ms)", "p50 / compiled p50", "same 200 as compiled"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    notes, counting = [], []
    for n in (int(s) for s in args.sizes.split(",")):
        rows, build, postings, free = run(n, args.queries)
        counting.append((f"{n:,} synthetic songs", *free))
        for row in rows:
            print("| " + " | ".join(f"{row[h]:,}" if isinstance(row[h], int) else
                                    f"{row[h]:.2f}" if isinstance(row[h], float) else str(row[h])
                                    for h in header) + " |", flush=True)
        notes.append(f"{n:,} songs: index built in {build:.0f} s; a query reads {postings:,} postings (median)")
    print()
    print("\n".join(notes))
    if args.terms:
        from musemood.retrieval import LexicalIndex

        words = ["".join(chr(97 + i // 26 ** k % 26) for k in range(5)) for i in range(args.terms)]  # "aaaaa", ...
        docs = [" ".join(words[i:i + 100]) for i in range(0, args.terms, 100)]
        index = LexicalIndex(min_df=1, max_df=1.0).fit(docs)
        rng = np.random.default_rng(0)
        texts = [" ".join(rng.choice(words, 80)) for _ in range(200)]
        counting.append((f"{len(docs):,} songs of 100 words of their own", len(index.terms_), *free_text(index, texts)))
    print()
    print("| index | terms | kept vectorizer p50 (ms) | new vectorizer per query p50 (ms) | new / kept |")
    print("|---|---|---|---|---|")
    for name, terms, kept, fresh in counting:
        print(f"| {name} | {terms:,} | {kept:.2f} | {fresh:.2f} | {fresh / kept:.0f} |")


if __name__ == "__main__":
    main()
