"""musemood embed: songs/s of the local and the Ray engine on the same songs, in one run.

Run:  .venv/bin/python benchmarks/embed.py [--n-songs 2000] [--max-length 128] [--part-size 250]

Writes the demo corpus's first --n-songs songs to a Parquet file, then embeds them with the packaged
all-MiniLM-L6-v2 twice into fresh folders: the local engine (this process, torch on every core) and
the Ray engine (a local Ray with one actor per core, each loading the model once, one torch thread
each).  Ray's start-up (ray.init) is timed apart from the embedding.  Both runs' vectors are
compared (max absolute difference).  The peer of the Ray engine is the local engine.
"""

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main():
    import ray
    import torch

    from musemood.datasets import load_demo
    from musemood.embed import embed_dataset, load_vectors
    from musemood.encoders import BertEncoder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-songs", type=int, default=2000)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--part-size", type=int, default=250)
    args = parser.parse_args()
    cores = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        songs = load_demo(args.n_songs, random_state=0)[["song_id", "lyrics"]]
        songs.to_parquet(tmp / "songs.parquet", index=False)
        encoder = BertEncoder(max_length=args.max_length)
        rows = []
        local = embed_dataset(tmp / "songs.parquet", tmp / "local", encoder, part_size=args.part_size,
                              show_progress_bar=False)
        rows.append(("local (1 process, %d torch threads)" % cores, local.seconds, 0.0))
        started = time.perf_counter()
        ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
        start_up = time.perf_counter() - started
        try:
            remote = embed_dataset(tmp / "songs.parquet", tmp / "ray", encoder, part_size=args.part_size,
                                   engine="ray", concurrency=cores, show_progress_bar=False)
        finally:
            ray.shutdown()
        rows.append(("ray (%d actors, 1 torch thread each)" % cores, remote.seconds, start_up))
        _, a = load_vectors(tmp / "local")
        _, b = load_vectors(tmp / "ray")
        diff = float(np.abs(a - b).max())
    print(f"\nmusemood embed, {args.n_songs:,} demo songs, all-MiniLM-L6-v2, max_length {args.max_length}, "
          f"parts of {args.part_size}; {platform.processor() or platform.machine()}, {cores} cores\n")
    print("| engine | embed (s) | songs/s | ray.init (s) | songs/s vs local |")
    print("|---|---|---|---|---|")
    for name, seconds, init in rows:
        rate = args.n_songs / seconds
        print(f"| {name} | {seconds:.1f} | {rate:.1f} | {init:.1f} | {rate / (args.n_songs / rows[0][1]):.2f} |")
    print(f"\nlargest difference between the two engines' vectors: {diff:.2e}")


if __name__ == "__main__":
    sys.exit(main())
