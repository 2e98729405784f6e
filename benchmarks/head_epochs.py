"""How simple BERT's head should pick its number of epochs on small sets: by validation loss, by a
validation metric, or not at all.

Run:  .venv/bin/python benchmarks/head_epochs.py [--task seven] [--sizes 200,500,1000] [--seeds 2]
          [--rules loss,accuracy,macro_f1,none]

On the learning curve's draws and test sets (``benchmarks/learning_curve.py``: ``binary``, ``seven``,
``poems``, ``demo``), ``SimpleBertClassifier`` with its defaults (a 256-unit MLP head on the frozen
packaged encoder, at most 100 epochs, patience 10) is trained with each rule for its epochs:

- ``loss``: the epoch of the lowest validation loss (class-weighted like the training loss with
  ``class_weight="balanced"``) on a 10% validation split: musemood's rule without class weights;
- ``accuracy``: the epoch of the best validation accuracy on the same split, the loss breaking ties,
  with the same patience: musemood's rule with ``class_weight="balanced"`` (since 2026-11-24);
- ``macro_f1``: the same with the validation macro-F1;
- ``none``: no validation split; all 100 epochs on every training song.

The encoder is frozen, so each text is encoded once and shared by every rule.  Prints accuracy and
macro-F1 per run and their means over the seeds.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learning_curve import load_task  # noqa: E402

RULES = ("loss", "accuracy", "macro_f1", "none")


class CachedEncoder:
    """The packaged encoder's vectors, each text encoded once."""

    def __init__(self, max_length):
        from musemood.encoders import BertEncoder

        self.encoder = BertEncoder(max_length=max_length).load_weights()
        self.vectors = {}

    def __call__(self, texts):
        texts = list(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if missing:
            self.vectors.update(zip(missing, self.encoder.encode(missing, batch_size=32)))
        return np.stack([self.vectors[t] for t in texts])


def with_rule(rule):
    """A ``train_head`` whose validation judges epochs by ``rule`` (``loss``, ``accuracy`` or ``macro_f1``)."""
    from sklearn.metrics import accuracy_score, f1_score

    import musemood.classifiers._training as training

    original_head, original_loop = training.train_head, training.train_loop

    def train_head(est, features, y, train, valid, **settings):
        vectors = torch.as_tensor(features, dtype=torch.float32)

        def loop(head, batches, loss_fn, **options):
            library = options["evaluate"]

            def evaluate():
                measures = library()
                loss = measures["valid_loss"] if isinstance(measures, dict) else measures
                if rule == "loss":
                    return loss
                with torch.no_grad():
                    predicted = head(vectors[valid]).argmax(1).numpy()
                truth = np.asarray(y)[valid]
                score = (accuracy_score(truth, predicted) if rule == "accuracy"
                         else f1_score(truth, predicted, average="macro"))
                return {"valid_loss": loss, "valid_accuracy": score}  # macro-F1 is judged as the accuracy is

            return original_loop(head, batches, loss_fn, **{**options, "evaluate": evaluate})

        training.train_loop = loop
        try:
            return original_head(est, features, y, train, valid, **settings)
        finally:
            training.train_loop = original_loop

    return train_head


def score(rule, train, test, seed, max_length, class_weight, encode):
    from sklearn.metrics import accuracy_score, f1_score

    import musemood.classifiers._base as base
    from musemood import SimpleBertClassifier

    extra = {"validation_fraction": 0.0} if rule == "none" else {}
    model = SimpleBertClassifier(text_column="text", random_state=seed, max_length=max_length,
                                 class_weight=class_weight, encoder=encode.encoder, **extra)
    model._encode = encode  # the frozen encoder's vectors, cached across rules
    original = base.train_head
    if rule != "none":
        base.train_head = with_rule(rule)
    try:
        model.fit(train, train["label"])
    finally:
        base.train_head = original
    predicted = model.predict(test)
    return (accuracy_score(test["label"], predicted), f1_score(test["label"], predicted, average="macro"),
            len(model.history_))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="seven")
    parser.add_argument("--sizes", default="200,500,1000")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--rules", default=",".join(RULES), help=f"any of {', '.join(RULES)}")
    args = parser.parse_args()
    rules = args.rules.split(",")
    if set(rules) - set(RULES):
        raise SystemExit(f"unknown rules {sorted(set(rules) - set(RULES))}; rules are {', '.join(RULES)}")
    loaded = load_task(args.task)
    if loaded is None:
        raise SystemExit(f"{args.task}: its data is not under ../shared/data; nothing to run")
    pool, test, draw, max_length, class_weight = loaded
    encode = CachedEncoder(max_length)
    means = {}
    for n in (int(s) for s in args.sizes.split(",")):
        for seed in range(args.seeds):
            train = draw(pool, n, seed)
            for rule in rules:
                accuracy, f1, epochs = score(rule, train, test, seed, max_length, class_weight, encode)
                means.setdefault((len(train), rule), []).append((accuracy, f1))
                print(f"{args.task} n={len(train)} seed {seed} {rule:<9} accuracy {accuracy:.3f} macro-F1 {f1:.3f} "
                      f"({epochs} epochs)", flush=True)
    print(f"\n| training texts | {' | '.join(rules)} |\n|---:|{'---|' * len(rules)}")
    for n in sorted({n for n, _ in means}):
        cells = [" / ".join(f"{v:.3f}" for v in np.mean(means[n, rule], axis=0)) for rule in rules]
        print(f"| {n} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
