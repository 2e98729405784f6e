"""Do the text models learn real language?  The comparison on a small real verse set.

Run:  .venv/bin/python examples/poem_sentiment.py [--data ../shared/data/poem-sentiment] [--seeds 5]

Poem Sentiment (Sheng & Uthus 2020, CC BY 4.0): verses from public-domain poems labelled by
people.  We keep the positive and negative verses of all three files (359), and run
`compare_models` (TF-IDF + logistic regression, simple BERT, fine-tuned BERT) on stratified
80/20 splits over several seeds.  It is verse, not lyrics, and small: a sanity check that the
models learn something real, not a claim about song moods.
"""

import argparse
from pathlib import Path

import pandas as pd

from musemood.evaluation import compare_models


def load_poems(folder):
    frames = [pd.read_csv(Path(folder) / f"{part}.tsv", sep="\t", header=None, names=["id", "verse", "label"],
                          quoting=3) for part in ("train", "dev", "test")]
    df = pd.concat(frames, ignore_index=True)
    df = df[df["label"].isin([-1, 1])]
    return df.assign(label=df["label"].map({-1: "negative", 1: "positive"}))


def main():
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(here.parent.parent / "shared" / "data" / "poem-sentiment"))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    df = load_poems(args.data)
    print(f"{len(df)} verses: {df['label'].value_counts().to_dict()}")
    result = compare_models(
        df, text_column="verse", label_column="label", audio_columns=None,
        models=("majority", "tfidf", "simple", "finetuned"), seeds=tuple(range(args.seeds)),
        epochs=args.epochs, max_length=64, batch_size=16, callback=print,
    )
    print(result.to_markdown())


if __name__ == "__main__":
    main()
