"""Fit a recommender on your own catalogue, evaluate it, and ask it for songs.

Run:  python examples/recommender.py songs.parquet [--model path/to/saved/tbert] [--title "Some Song"]

``songs.parquet`` (or .csv) needs title, artist and lyrics columns; the 12 Spotify audio features,
a mood ``label`` column and a ``split`` column (train/valid/test) are used when present.  Without
--model the packaged all-MiniLM-L6-v2 encoder embeds the songs.  Query songs for tuning and
evaluation are the labelled songs of the valid and test splits: keep them out of the model's
training set (``musemood train`` trains on every row it is given).
"""

import argparse

from musemood.datasets import load_dataset
from musemood.recommender import Recommender


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--model", help="folder of a saved musemood model, or an encoder name/path")
    parser.add_argument("--title", help="a song to recommend from (default: the first song)")
    parser.add_argument("--save", default="my-recommender")
    args = parser.parse_args()

    df = load_dataset(args.data)
    rec = Recommender(show_progress_bar=True).fit(df, args.model)
    print(rec)
    if rec.catalogue_.songs_["mood"].notna().any():
        table = rec.evaluate(top_k=10)
        print(table.to_string(index=False))
        print(f"tuned weights {rec.weights_}; Wilcoxon rerank vs lexical p = "
              f"{table.attrs['wilcoxon_rerank_vs_lexical']:.3g}")
    title = args.title or df["title"].iloc[0]
    artist = None if args.title else df["artist"].iloc[0]
    print(rec.recommend(title, 10, artist=artist)[["rank", "title", "artist", "mood", "score", "why"]].to_string())
    print("plots:", *rec.plot_map(f"{args.save}/plots"))
    print("saved to", rec.save(args.save))


if __name__ == "__main__":
    main()
