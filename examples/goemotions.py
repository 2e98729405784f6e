"""Multi-class on real text: DNN vs LSTM vs transformer on GoEmotions' seven Ekman emotions.

Run:  .venv/bin/python examples/goemotions.py [--data ../shared/data/goemotions-ekman] [--n 6000] [--seeds 1]

GoEmotions (Demszky et al. 2020, Apache-2.0; the single-label comments of its Ekman grouping, see the
data folder's README): Reddit comments labelled with anger, disgust, fear, joy, neutral, sadness or
surprise, heavily imbalanced (joy 38%, fear and disgust about 1% each).  We draw ``--n`` comments of
its train split at random and run ``compare_models`` on stratified 80/20 splits: the majority class,
TF-IDF + logistic regression, the DNN on TF-IDF, the BiLSTM, simple BERT and fine-tuned BERT, every
trained model with ``class_weight="balanced"`` (the answer to the imbalance; macro-F1 is reported
beside accuracy).  The same as

    musemood compare --data ../shared/data/goemotions-ekman/train.csv --text-column text --limit 6000 \\
        --models majority,tfidf,dnn,lstm,simple,finetuned --class-weight balanced --seeds 1 \\
        --max-length 64 --epochs 3

It is Reddit comments, not lyrics: a check that the models learn real multi-class text, not a
claim about song moods.
"""

import argparse
from pathlib import Path

import pandas as pd

from musemood.evaluation import compare_models

MODELS = ("majority", "tfidf", "dnn", "lstm", "simple", "finetuned")


def main():
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(here.parent.parent / "shared" / "data" / "goemotions-ekman"))
    parser.add_argument("--n", type=int, default=6000, help="comments drawn from the train split (6000)")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--class-weight", default="balanced", choices=("balanced", "none"))
    parser.add_argument("--out", default=None, help="folder for table.json, table.md and the plots")
    args = parser.parse_args()
    df = pd.read_csv(Path(args.data) / "train.csv")
    df = df.sample(min(args.n, len(df)), random_state=0).reset_index(drop=True)
    print(f"{len(df)} comments: {df['label'].value_counts().to_dict()}")
    result = compare_models(
        df, text_column="text", label_column="label", audio_columns=None, models=tuple(args.models.split(",")),
        seeds=tuple(range(args.seeds)), epochs=args.epochs, max_length=64, batch_size=16,
        class_weight=None if args.class_weight == "none" else args.class_weight, callback=print,
    )
    print(result.to_markdown())
    if args.out:
        print("Wrote " + ", ".join(map(str, result.save(args.out))))


if __name__ == "__main__":
    main()
