"""What else might lift the contrastive strategy on a small set: other heads, losses and a second stage.

Run:  .venv/bin/python benchmarks/contrastive_variants.py [--task binary] [--size 200] [--seeds 3]
          [--variants default,all,logistic,supcon,margin,chain-1e-5,chain-3e-5]

On the learning curve's draws (``benchmarks/learning_curve.py``: GoEmotions joy vs sadness by default,
the same balanced training draws and fixed test), each variant of ``FineTunedBertClassifier(
strategy="contrastive")`` is trained and scored (packaged all-MiniLM-L6-v2, CPU):

- ``default``: the library's defaults (contrastive step on 90% of the songs, a linear head stopped
  early on the other 10%);
- ``all``: ``validation_fraction=0``: the contrastive step and the head see every training song
  (the head then trains its full ``head_epochs``);
- ``logistic``: the default encoder, then scikit-learn's ``LogisticRegression`` (C=1, SetFit's head) on
  the vectors of every training song instead of musemood's head;
- ``supcon``: the pair loss replaced by the supervised contrastive loss (Khosla et al. 2020,
  temperature 0.1) over each batch;
- ``margin``: same-label pairs pulled to cosine 1, other pairs pushed only below cosine 0.3;
- ``chain-<lr>``: the contrastive model's encoder fine-tuned again with a head
  (``strategy="finetune"`` on ``encoder=`` the contrastive model) at learning rate ``lr``;
- ``ensemble``: the mean of the class probabilities of the default contrastive model and of a
  fine-tuned one (``strategy="finetune"``, its defaults) trained on the same songs;
- ``seeds2``: the mean of the class probabilities of two default contrastive models that differ only
  in ``random_state`` (the seed, and the seed + 1000: other batches of pairs, another head).

Prints accuracy per seed and the mean per variant.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learning_curve import load_task  # noqa: E402

VARIANTS = ("default", "all", "logistic", "supcon", "margin", "chain-1e-5", "chain-3e-5", "ensemble", "seeds2")


def supcon_loss(vectors, labels, temperature=0.1):
    """Supervised contrastive loss: each song's same-label songs against all the others in the batch."""
    unit = torch.nn.functional.normalize(vectors, dim=1)
    eye = torch.eye(len(labels), dtype=torch.bool, device=unit.device)
    sim = (unit @ unit.T / temperature).masked_fill(eye, float("-inf"))
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    positive = (labels[:, None] == labels[None, :]) & ~eye
    anchors = positive.any(1)
    return -(log_prob.masked_fill(~positive, 0).sum(1)[anchors] / positive.sum(1)[anchors]).mean()


def margin_loss(vectors, labels, margin=0.3):
    """Same-label pairs pulled to cosine 1; other pairs pushed below ``margin``, not to 0."""
    unit = torch.nn.functional.normalize(vectors, dim=1)
    cosine = unit @ unit.T
    same = labels[:, None] == labels[None, :]
    pairs = ~torch.eye(len(labels), dtype=torch.bool, device=cosine.device)
    return torch.where(same, (1 - cosine) ** 2, torch.relu(cosine - margin) ** 2)[pairs].mean()


def score(variant, train, test, seed, max_length, class_weight):
    """``(accuracy, seconds)`` of one variant trained on ``train``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score

    import musemood.classifiers._training as training
    from musemood import FineTunedBertClassifier

    common = dict(text_column="text", random_state=seed, max_length=max_length, class_weight=class_weight)
    losses = {"supcon": supcon_loss, "margin": margin_loss}
    original = training.pair_loss
    training.pair_loss = losses.get(variant, original)
    started = time.perf_counter()
    try:
        extra = {"validation_fraction": 0.0} if variant == "all" else {}
        model = FineTunedBertClassifier(strategy="contrastive", **common, **extra).fit(train, train["label"])
    finally:
        training.pair_loss = original
    if variant == "logistic":
        head = LogisticRegression(C=1.0, max_iter=2000, class_weight=class_weight)
        head.fit(model.transform(train), train["label"])
        predicted = head.predict(model.transform(test))
    elif variant in ("ensemble", "seeds2"):
        if variant == "ensemble":
            other = FineTunedBertClassifier(strategy="finetune", **common).fit(train, train["label"])
        else:
            other = FineTunedBertClassifier(strategy="contrastive", **{**common, "random_state": seed + 1000}).fit(
                train, train["label"])
        assert list(other.classes_) == list(model.classes_)
        mean = (model.predict_proba(test) + other.predict_proba(test)) / 2
        predicted = np.asarray(model.classes_)[mean.argmax(1)]
    elif variant.startswith("chain-"):
        model = FineTunedBertClassifier(encoder=model, strategy="finetune", learning_rate=float(variant[6:]),
                                        **common).fit(train, train["label"])
        predicted = model.predict(test)
    else:
        predicted = model.predict(test)
    return accuracy_score(test["label"], predicted), time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="binary")
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"any of {', '.join(VARIANTS)}")
    args = parser.parse_args()
    variants = args.variants.split(",")
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; variants are {', '.join(VARIANTS)}")
    loaded = load_task(args.task)
    if loaded is None:
        raise SystemExit(f"{args.task}: its data is not under ../shared/data; nothing to run")
    pool, test, draw, max_length, class_weight = loaded
    scores = {v: [] for v in variants}
    for seed in range(args.seeds):
        train = draw(pool, args.size, seed)
        for variant in variants:
            accuracy, seconds = score(variant, train, test, seed, max_length, class_weight)
            scores[variant].append(accuracy)
            print(f"{args.task} n={len(train)} seed {seed} {variant:<11} accuracy {accuracy:.3f} ({seconds:.0f} s)",
                  flush=True)
    print(f"\n| variant | accuracy per seed ({', '.join(map(str, range(args.seeds)))}) | mean |\n|---|---|---|")
    for variant, accuracies in scores.items():
        print(f"| {variant} | {' / '.join(f'{a:.3f}' for a in accuracies)} | {np.mean(accuracies):.3f} |")


if __name__ == "__main__":
    main()
