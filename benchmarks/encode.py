"""Encoding speed: musemood's BertEncoder vs sentence-transformers' encode, same model and texts.

Run:  .venv/bin/python benchmarks/encode.py [--n-songs 1000] [--max-length 256] [--repeats 2]

Each contender runs in its own process (so peak memory is its own), encodes the same cleaned
demo lyrics with the packaged all-MiniLM-L6-v2, mean pooling, normalised vectors, batch size 32,
truncated at max_length tokens (musemood with stride=None so both see the same tokens), after one
warm-up batch.  Reports songs/s (best of the repeats), peak resident memory, and the ratio.
"""

import argparse
import json
import platform
import resource
import subprocess
import sys
import time


def run(contender, n_songs, max_length, repeats):
    import numpy as np
    import torch

    from musemood.datasets import load_demo
    from musemood.encoders import BertEncoder, default_model_path
    from musemood.text import clean_lyrics

    texts = [clean_lyrics(t) for t in load_demo(n_songs, random_state=0, label=False)["lyrics"]]
    if contender == "musemood":
        model = BertEncoder(max_length=max_length, stride=None, normalize_embeddings=True, device="cpu")
        encode = lambda: model.encode(texts, batch_size=32)  # noqa: E731
    else:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(default_model_path()), device="cpu")
        model.max_seq_length = max_length
        encode = lambda: model.encode(texts, batch_size=32, normalize_embeddings=True)  # noqa: E731
    model.encode(texts[:32], batch_size=32)  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        vectors = encode()
        times.append(time.perf_counter() - started)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    np.save(f"/tmp/musemood-bench-{contender}.npy", vectors)
    return {"contender": contender, "songs_per_s": n_songs / min(times), "seconds": min(times),
            "peak_rss_mib": peak_mib, "threads": torch.get_num_threads()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-songs", type=int, default=1000)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run(args.child, args.n_songs, args.max_length, args.repeats)))
        return
    rows = []
    for contender in ("sentence-transformers", "musemood"):
        cmd = [sys.executable, __file__, "--child", contender, "--n-songs", str(args.n_songs),
               "--max-length", str(args.max_length), "--repeats", str(args.repeats)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    import numpy as np
    import sentence_transformers
    import torch
    import transformers

    a = np.load("/tmp/musemood-bench-musemood.npy")
    b = np.load("/tmp/musemood-bench-sentence-transformers.npy")
    print(f"Encoding {args.n_songs} demo lyrics, all-MiniLM-L6-v2, max_length {args.max_length}, batch 32, CPU")
    print(f"{platform.processor() or platform.machine()}, {rows[0]['threads']} torch threads; "
          f"torch {torch.__version__}, "
          f"transformers {transformers.__version__}, sentence-transformers {sentence_transformers.__version__}")
    print(f"{'contender':<24}{'songs/s':>10}{'seconds':>10}{'peak RSS MiB':>14}")
    for r in rows:
        print(f"{r['contender']:<24}{r['songs_per_s']:>10.1f}{r['seconds']:>10.2f}{r['peak_rss_mib']:>14.0f}")
    print(f"ratio musemood / sentence-transformers: {rows[1]['songs_per_s'] / rows[0]['songs_per_s']:.2f}x")
    print(f"max |difference| between the two sets of vectors: {np.abs(a - b).max():.2e}")


if __name__ == "__main__":
    main()
