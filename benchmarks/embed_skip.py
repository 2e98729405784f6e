"""musemood embed --skip-vectors: what leaving out the songs other folders hold costs, against embedding.

Run:  .venv/bin/python benchmarks/embed_skip.py [--known 1000000] [--part-size 10000] [--sample 256]

A folder to skip holds --known songs; each part of --part-size input songs, half of them known, is
checked against it in two ways, both timed in this run (median of 5):

* by id and lyrics fingerprint (what ``embed`` does): a BLAKE2b fingerprint of each song's lyrics,
  then ``pyarrow.compute.is_in`` on fingerprint + id, so a song whose lyrics changed is embedded again;
* by id alone (what ``embed`` did before 2026-12-07, and still does for folders written then).

The peer is embedding the same part with the packaged all-MiniLM-L6-v2 (``max_length`` 256, as
``embed`` does): the seconds per song of --sample demo songs, measured here, times the part size.
Fingerprinting the folder's --known songs (done once when it is written) and building the set of keys
(done once per run) are timed too.  The lyrics are the demo corpus's, repeated.
"""

import argparse
import platform
import statistics
import time

import numpy as np


def _median_seconds(fn, repeats=5):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv=None):
    import pyarrow as pa
    import torch

    from musemood.datasets import load_demo
    from musemood.embed import text_hashes
    from musemood.embed._catalogue import _keys, _Skip
    from musemood.encoders import BertEncoder
    from musemood.text import clean_texts

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--known", type=int, default=1_000_000, help="songs of the folder to skip")
    parser.add_argument("--part-size", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=256, help="songs embedded to time the encoder")
    args = parser.parse_args(argv)
    lyrics = load_demo(2000, random_state=0)["lyrics"].tolist()
    texts = [lyrics[i % len(lyrics)] for i in range(args.known)]
    ids = pa.array([f"song-{i:08d}" for i in range(args.known)], type=pa.string())

    started = time.perf_counter()
    hashes = text_hashes(texts)
    hash_known = time.perf_counter() - started
    started = time.perf_counter()
    by_key = _Skip(keys=_keys(ids, hashes))
    build = time.perf_counter() - started
    by_id = _Skip(unchecked=ids)

    half = args.part_size // 2  # half the part known, half new
    part_ids = np.array([f"song-{i:08d}" for i in range(half)] +
                        [f"new-{i:08d}" for i in range(args.part_size - half)], dtype=object)
    part_texts = [lyrics[i % len(lyrics)] for i in range(args.part_size)]
    held = by_key.held(part_ids, text_hashes(part_texts))
    assert held.sum() == half and by_id.held(part_ids, None).sum() == half
    with_lyrics = _median_seconds(lambda: by_key.held(part_ids, text_hashes(part_texts)))
    ids_only = _median_seconds(lambda: by_id.held(part_ids, None))

    encoder = BertEncoder(max_length=256)
    sample = clean_texts(lyrics[:args.sample])
    encoder.encode(sample[:8])  # load the model before timing
    started = time.perf_counter()
    encoder.encode(sample)
    per_song = (time.perf_counter() - started) / len(sample)
    embed_part = per_song * args.part_size

    mean_chars = np.mean([len(t) for t in part_texts])
    print(f"\nmusemood embed --skip-vectors: a part of {args.part_size:,} songs (half known, lyrics of "
          f"{mean_chars:,.0f} characters on average) against a folder of {args.known:,} songs; "
          f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} cores\n")
    print("| step | seconds | vs embedding the part |")
    print("|---|---|---|")
    print(f"| check a part by id and lyrics fingerprint | {with_lyrics:.3f} | {with_lyrics / embed_part:.5f} |")
    print(f"| check a part by id alone (before) | {ids_only:.3f} | {ids_only / embed_part:.5f} |")
    print(f"| embed the part (all-MiniLM-L6-v2, {per_song * 1000:.1f} ms a song over {len(sample)} songs) | "
          f"{embed_part:.1f} | 1 |")
    print(f"\nonce per run: fingerprints of the folder's {args.known:,} songs {hash_known:.1f} s (computed when "
          f"it is written), the set of its keys {build:.2f} s")
    print(f"fingerprints add {with_lyrics - ids_only:.3f} s a part, {(with_lyrics - ids_only) / embed_part:.3%} "
          "of embedding it")


if __name__ == "__main__":
    main()
