"""How much of a server's tail is the machine's own: the same fixed work, timed again and again.

Run:  .venv/bin/python benchmarks/queue_jitter.py [--processes 1,2] [--seconds 20] [--queue 16]
                                                 [--unit-ms 4] [--clients 32] [--target-ms 100]

A server that answers its requests first come, first served, with ``--queue`` requests always waiting
(a closed loop of 32 clients on 2 workers keeps 16 at each), makes each request wait for the
``--queue`` answers ahead of it and its own: its latency is the sum of ``--queue`` consecutive
service times.  Were every service time the same, p99 would equal p50.  This benchmark times one unit
of work that does not change (a gather from a 256 MiB array, as a search in a large index reads
memory at random, and a Python loop, as the request path runs Python; about ``--unit-ms`` of CPU)
back to back in each of ``--processes`` processes at once, then compares

- the sums of ``--queue`` consecutive units, in the order they ran: a FIFO queue on this machine;
- the peer, measured in the same run: the same durations shuffled, so that slow units fall at random
  instead of in runs (what a machine whose speed did not drift would give).

The ratio p99 / p50 of the sums is the tail this machine adds to any such server whatever its code; the
last column turns it into the answers a second the server needs for p99 under ``--target-ms`` with
``--clients`` clients (the median of a closed loop is clients / rate, so p99 = ratio x clients / rate).
"""

import argparse
import multiprocessing
import platform
import time

import numpy as np

ARRAY_MIB = 256


def _unit(table, rows, loops):
    """One unit of work: the same every call."""
    total = float(table[rows].sum())
    for i in range(loops):
        total += i & 7
    return total


def _calibrate(table, rows, unit_ms):
    """Python loop steps that bring one unit to about ``unit_ms`` on this machine."""
    loops = 10_000
    for _ in range(3):
        start = time.perf_counter()
        _unit(table, rows, loops)
        took = (time.perf_counter() - start) * 1e3
        loops = max(1_000, int(loops * unit_ms / max(took, 1e-3)))
    return loops


def _run(args):
    seconds, unit_ms, seed, loops = args
    rng = np.random.default_rng(seed)
    table = rng.random(ARRAY_MIB * 2**20 // 8)
    rows = np.sort(rng.integers(0, len(table), 20_000))
    loops = loops or _calibrate(table, rows, unit_ms)
    for _ in range(20):  # warm-up
        _unit(table, rows, loops)
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        _unit(table, rows, loops)
        times.append(time.perf_counter() - start)
    return np.asarray(times) * 1e3, loops


def _window_sums(times, queue):
    return np.convolve(times, np.ones(queue), "valid")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", default="1,2", help="processes working at once, one row each")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--queue", type=int, default=16, help="requests waiting at each worker")
    parser.add_argument("--unit-ms", type=float, default=4.0, help="CPU time of one unit of work")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--target-ms", type=float, default=100.0)
    args = parser.parse_args()

    rows = []
    loops = None
    for n in (int(p) for p in args.processes.split(",")):
        with multiprocessing.get_context("spawn").Pool(n) as pool:
            runs = pool.map(_run, [(args.seconds, args.unit_ms, seed, loops) for seed in range(n)])
        loops = loops or runs[0][1]  # every row does the same work as the first
        times = np.concatenate([t for t, _ in runs])
        in_order = np.concatenate([_window_sums(t, args.queue) for t, _ in runs])
        rng = np.random.default_rng(0)
        shuffled = np.concatenate([_window_sums(rng.permutation(t), args.queue) for t, _ in runs])
        lag1 = float(np.mean([np.corrcoef(t[:-1], t[1:])[0, 1] for t, _ in runs]))
        rows.append((n, times, in_order, shuffled, lag1))

    print(f"\nOne unit of fixed work ({ARRAY_MIB} MiB gather + Python loop), back to back, {args.seconds:.0f} s "
          f"per row; sums of {args.queue} consecutive units (a FIFO queue of {args.queue}); "
          f"{platform.processor() or platform.machine()}, {multiprocessing.cpu_count()} cores\n")
    print("| processes | units | unit p50 (ms) | unit p99 (ms) | lag-1 correlation | sums in order: p50 / p99 (ms) "
          "| p99 / p50 | peer, shuffled: p50 / p99 (ms) | p99 / p50 | in order / shuffled "
          f"| answers/s for p99 < {args.target_ms:.0f} ms with {args.clients} clients |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n, times, in_order, shuffled, lag1 in rows:
        p50, p99 = np.percentile(in_order, [50, 99])
        s50, s99 = np.percentile(shuffled, [50, 99])
        ratio, peer = p99 / p50, s99 / s50
        print(f"| {n} | {len(times):,} | {np.median(times):.2f} | {np.percentile(times, 99):.2f} | {lag1:.2f} "
              f"| {p50:.1f} / {p99:.1f} | {ratio:.2f} | {s50:.1f} / {s99:.1f} | {peer:.2f} | {ratio / peer:.2f} "
              f"| {args.clients * ratio / (args.target_ms / 1e3):.0f} |")


if __name__ == "__main__":
    main()
