"""From API keys to a trained tBERT: scrape a WASABI sample, build the labelled dataset, train, evaluate.

Run (with your own keys and the WASABI songs CSV):

    export LASTFM_API_KEY=... GENIUS_ACCESS_TOKEN=...
    export SPOTIPY_CLIENT_ID=... SPOTIPY_CLIENT_SECRET=...     # optional, see below
    # or write them once in ~/.musemood/keys.toml (docs/build-dataset.md, "Keys")
    .venv/bin/python examples/keys_to_model.py --songs wasabi_songs.csv --limit 2000 \
        [--features-table tracks_features.csv] [--lyrics-sources lrclib,genius]

Spotify closed audio-features to apps registered after 2024-11-27: with such keys (or none),
pass ``--features-table`` (precomputed features keyed by Spotify id) or ``--audio-dir``; songs
without features keep NaN audio columns, which the model imputes.  Everything is resumable:
rerun the same command after an interruption.
"""

import argparse
import sys
from pathlib import Path

from musemood import TBertClassifier
from musemood.cli import main as musemood


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", required=True, help="the WASABI songs CSV")
    parser.add_argument("--limit", type=int, default=2000, help="songs to scrape (2000)")
    parser.add_argument("--workdir", default="musemood-scrape", help="store, dataset and model go here")
    parser.add_argument("--features-table")
    parser.add_argument("--audio-dir")
    parser.add_argument("--lyrics-sources", default="genius,lrclib")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16, help="songs per optimiser step (16): fewer need "
                        "less memory and train faster, on fewer pairs of songs a step")
    args = parser.parse_args()

    work = Path(args.workdir)
    dataset = work / "dataset.parquet"
    scrape = ["scrape", "all", "--store", str(work / "scrape.sqlite"), "--songs", args.songs, "--limit",
              str(args.limit), "--out", str(dataset), "--lyrics-sources", args.lyrics_sources]
    if args.features_table:
        scrape += ["--features-table", args.features_table]
    if args.audio_dir:
        scrape += ["--audio-dir", args.audio_dir]
    if musemood(scrape) != 0:
        sys.exit("the scrape stopped; fix what it says and run this again: it resumes")

    from musemood.datasets import load_dataset

    df = load_dataset(dataset)
    # as `musemood train` does: learn from the 'train' songs; 'valid' and 'test' stay for evaluation and the
    # recommender's queries
    train, test = df[df["split"] == "train"], df[df["split"] == "test"]
    if train["label"].nunique() < 2 or len(test) == 0:
        sys.exit(f"only {len(df)} labelled songs: scrape more (--limit) before training")
    model = TBertClassifier(epochs=args.epochs, batch_size=args.batch_size).fit(train, train["label"])
    print(f"tBERT accuracy on {len(test)} held-out songs: {model.score(test, test['label']):.3f}")
    model.save(work / "tbert")
    print(f"model saved to {work / 'tbert'}; predict with: musemood predict {work / 'tbert'} --data FILE")


if __name__ == "__main__":
    main()
