"""tBERT's two-stage text block and a small validation split: merged into its training songs, or held
out for the head that stops early on them.

Run:  .venv/bin/python benchmarks/tbert_validation.py [--sizes 200,400] [--seeds 0,1,2]
          [--results tbert_validation.csv]

On the demo learning curve's draws and test set (``benchmarks/learning_curve.py --tasks demo``: its
happy/sad songs, a fixed stratified 20% test of 150 songs), ``TBertClassifier(strategy="finetune",
epochs=2, max_length=128)`` (lyrics, 7 LDA topics and the 12 audio features) is trained twice per draw.
Below ``min_validation_songs`` (50; under 500 training songs) its validation split is too small for the
text block to stop early on:

- ``merge``: the text block trains on the validation songs too (as fine-tuned BERT does), and the head
  after it then stops early on songs the encoder has trained on (musemood before 2026-11-24);
- ``hold_out``: the text block trains on the other songs only, and the head stops early on songs the
  encoder never saw (musemood's rule since 2026-11-24).

Prints and appends accuracy, training time and the head's epochs per run (rows already in
``--results`` are skipped); about 4 minutes a fit on 2 CPU cores.
"""

import argparse
import csv
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learning_curve import _append, _stratified_draw, demo_split  # noqa: E402

VARIANTS = ("merge", "hold_out")
FIELDS = ("size", "seed", "variant", "accuracy", "seconds", "head_epochs")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,400")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--results", default="tbert_validation.csv")
    args = parser.parse_args()
    from sklearn.metrics import accuracy_score

    from musemood import TBertClassifier

    results = Path(args.results)
    done = set()
    if results.exists():
        with results.open() as f:
            done = {(r["size"], r["seed"], r["variant"]) for r in csv.DictReader(f)}
    pool, test = demo_split()
    original = TBertClassifier._finetune  # tBERT passes hold_out=True

    def merge(self, *args, hold_out=False, **kwargs):  # the text block as fine-tuned BERT trains it
        return original(self, *args, **kwargs)

    for size in (int(s) for s in args.sizes.split(",")):
        for seed in (int(s) for s in args.seeds.split(",")):
            for variant in VARIANTS:
                if (str(size), str(seed), variant) in done:
                    continue
                TBertClassifier._finetune = merge if variant == "merge" else original
                draw = _stratified_draw(pool, size, seed)
                model = TBertClassifier(strategy="finetune", epochs=2, max_length=128, random_state=seed)
                started = time.perf_counter()
                model.fit(draw, draw["label"])
                seconds = time.perf_counter() - started
                row = {"size": size, "seed": seed, "variant": variant,
                       "accuracy": round(accuracy_score(test["label"], model.predict(test)), 4),
                       "seconds": round(seconds),
                       "head_epochs": sum(1 for r in model.history_ if r.get("stage") == "head")}
                print(row, flush=True)
                _append(results, row, FIELDS)
    TBertClassifier._finetune = original


if __name__ == "__main__":
    main()
