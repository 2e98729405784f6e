"""Fine-tuning throughput: samples/s of one epoch, full fine-tuning vs LoRA, at two window sizes.

Run:  .venv/bin/python benchmarks/training.py [--n-songs 200] [--device cpu]

Trains FineTunedBertClassifier (packaged all-MiniLM-L6-v2, batch 16 songs) for one epoch on
demo lyrics with no validation split, and reads the epoch's samples/s from its history.  The
peer in the same run is full fine-tuning: the table gives LoRA's speed relative to it.
"""

import argparse
import platform
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-songs", type=int, default=200)
    parser.add_argument("--device", default=None)
    parser.add_argument("--lengths", default="128,256")
    args = parser.parse_args()

    import torch
    import transformers

    from musemood import FineTunedBertClassifier
    from musemood.datasets import load_demo

    df = load_demo(args.n_songs * 3, random_state=0)
    df = df[df["label"].notna()].head(args.n_songs)
    rows = []
    for max_length in (int(x) for x in args.lengths.split(",")):
        for lora in (False, True):
            model = FineTunedBertClassifier(  # one epoch of fine-tuning, whatever the number of songs:
                epochs=1, max_length=max_length, validation_fraction=0,  # no min_steps, no few-shot strategy
                strategy="finetune", min_steps=0, lora=lora, random_state=0, device=args.device,
            )
            started = time.perf_counter()
            model.fit(df, df["label"].astype(str))
            record = model.history_[0]
            rows.append((max_length, "LoRA r=8" if lora else "full", record["samples_per_s"],
                         time.perf_counter() - started))
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name() if device.startswith("cuda") else (platform.processor() or platform.machine())
    print(f"One fine-tuning epoch on {len(df)} demo songs, all-MiniLM-L6-v2, batch 16 songs, {device} ({name}), "
          f"{torch.get_num_threads()} threads; torch {torch.__version__}, transformers {transformers.__version__}")
    print(f"{'max_length':>10}  {'mode':<10}{'songs/s':>9}{'fit s':>8}{'vs full':>9}")
    full = {}
    for max_length, mode, rate, seconds in rows:
        full.setdefault(max_length, rate)
        print(f"{max_length:>10}  {mode:<10}{rate:>9.1f}{seconds:>8.1f}{rate / full[max_length]:>8.2f}x")


if __name__ == "__main__":
    main()
