"""Matching a catalogue to its `musemood embed` folders: peak memory and time, against loading them whole.

Run:  .venv/bin/python benchmarks/catalogue_vectors.py [--songs 1000000] [--dim 384] [--again 50000]

Writes a folder of --songs synthetic vectors (--dim wide, float32, parts of 10,000, as ``musemood
embed`` writes them) and a second folder holding --again of those songs embedded again (a catalogue
that grew: their lyrics changed), and the catalogue's table. Then, each in a fresh process, the
vectors of every song of the catalogue in its order, the later folder winning:

* ``catalogue_vectors`` (what ``musemood map --vectors`` and ``Recommender.fit(vectors=)`` call),
  with its checks (model, ids, lyrics fingerprints);
* the peer: ``load_vectors`` of each folder whole, then the rows picked by song id with NumPy (what
  one would write by hand, with no lyrics check).

Each process reports its peak resident memory above what it held after reading the table, and the
seconds taken. The answers of the two are compared.
"""

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _write(folder, ids, lyrics, dim, part_size, seed):
    """A vectors folder as ``musemood embed`` writes it, of random vectors."""
    from musemood.embed import FORMAT, MANIFEST, text_hashes
    from musemood.embed._folder import _write_json, _write_part

    folder.mkdir(parents=True)
    manifest = {"format": FORMAT, "model": {"kind": "encoder", "name": "synthetic", "sha256": "0" * 64},
                "source": ["synthetic"], "rows": len(ids), "part_size": part_size, "id_column": "song_id",
                "text_column": "lyrics", "parts": -(-len(ids) // part_size), "dim": dim}
    _write_json(folder / MANIFEST, manifest)
    rng = np.random.default_rng(seed)
    for i, start in enumerate(range(0, len(ids), part_size)):
        chunk = slice(start, start + part_size)
        vectors = rng.standard_normal((len(ids[chunk]), dim), dtype=np.float32)
        _write_part(folder, i, ids[chunk], vectors, manifest, text_hashes(lyrics[chunk]))


def _measure(way, table, folders):
    """Run in a child: the vectors of the table's songs one way; prints seconds, peak growth and a checksum."""
    import pandas as pd
    import pyarrow.parquet  # noqa: F401  (imported by both ways: not counted)

    import musemood.embed  # noqa: F401

    df = pd.read_parquet(table)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if way == "catalogue_vectors":
        from musemood.embed import catalogue_vectors

        vectors = catalogue_vectors(df, folders)
    else:
        from musemood.embed import load_vectors

        position, blocks, offset = {}, [], 0
        for folder in folders:
            ids, block = load_vectors(folder)
            position.update((song, offset + i) for i, song in enumerate(ids.tolist()))
            blocks.append(block)
            offset += len(ids)
        rows = np.fromiter((position[s] for s in df["song_id"].tolist()), dtype=np.int64, count=len(df))
        vectors = np.vstack(blocks)[rows]
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base  # KiB on Linux
    print(json.dumps({"seconds": seconds, "peak_mib": peak / 1024, "sum": float(vectors.sum(dtype=np.float64)),
                      "shape": list(vectors.shape)}))


def main(argv=None):
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--again", type=int, default=50_000, help="songs of the second folder (lyrics changed)")
    parser.add_argument("--part-size", type=int, default=10_000)
    parser.add_argument("--measure", nargs=3, metavar=("WAY", "TABLE", "FOLDERS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        way, table, folders = args.measure
        return _measure(way, table, json.loads(folders))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ids = np.array([f"song-{i:08d}" for i in range(args.songs)], dtype=object)
        lyrics = [f"words of song {i}, line after line" for i in range(args.songs)]
        started = time.perf_counter()
        _write(tmp / "v1", ids, lyrics, args.dim, args.part_size, 0)
        again = np.random.default_rng(1).choice(args.songs, size=args.again, replace=False)
        for i in again:
            lyrics[i] += " (corrected)"
        _write(tmp / "v2", ids[np.sort(again)], [lyrics[i] for i in np.sort(again)], args.dim, args.part_size, 1)
        pd.DataFrame({"song_id": ids, "lyrics": lyrics}).sample(frac=1, random_state=0).to_parquet(
            tmp / "songs.parquet", index=False)
        written = time.perf_counter() - started
        folders = json.dumps([str(tmp / "v1"), str(tmp / "v2")])
        results = {}
        for way in ("catalogue_vectors", "load whole, pick rows"):
            done = subprocess.run([sys.executable, __file__, "--measure", way, str(tmp / "songs.parquet"), folders],
                                  capture_output=True, text=True, check=True)
            results[way] = json.loads(done.stdout.strip().splitlines()[-1])
    size_mib = args.songs * args.dim * 4 / 2**20
    print(f"\n{args.songs:,} songs of {args.dim}-d float32 vectors ({size_mib:,.0f} MiB) in one folder, "
          f"{args.again:,} of them embedded again in a second; folders written in {written:.0f} s; "
          f"{platform.processor() or platform.machine()}\n")
    print("| way | seconds | peak memory growth (MiB) | peak / the vectors returned |")
    print("|---|---|---|---|")
    for way, r in results.items():
        print(f"| {way} | {r['seconds']:.1f} | {r['peak_mib']:,.0f} | {r['peak_mib'] / size_mib:.2f} |")
    a, b = results["catalogue_vectors"], results["load whole, pick rows"]
    print(f"\npeer / catalogue_vectors: peak memory x{b['peak_mib'] / max(a['peak_mib'], 1):.2f}, "
          f"time x{b['seconds'] / a['seconds']:.2f}; same vectors: {a['sum'] == b['sum'] and a['shape'] == b['shape']}")


if __name__ == "__main__":
    main()
