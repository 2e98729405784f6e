"""The Ray engine: parts still to write mapped by actors that each load the model once."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from ._folder import _done
from ._input import _parts, _read_rows
from ._job import _batch_size


def _check_ray_address(address, timeout=5.0):
    """Refuse, within ``timeout`` seconds, a Ray address (``address``, else ``RAY_ADDRESS``) where nothing
    answers: ``ray.init`` retries such an address for minutes, printing connection errors."""
    import socket

    address = address or os.environ.get("RAY_ADDRESS")
    if not address or address in ("auto", "local"):
        return
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not colon or not host or not port.isdigit():
        raise ValueError(f"the Ray address {address!r} is not host:port (or ray://host:port, auto or local)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConnectionError(f"nothing answers at the Ray address {address} ({exc}): start Ray there (`ray "
                              "start --head`), give the address it printed, or leave the address out for a local "
                              "Ray") from None


def _run_ray(job, dataset, spec, address, concurrency, bar):
    """Parts still to write, one Ray Data row each, mapped by actors that load the model once; which
    parts are still to write is found in one pass over the ids and lyrics of ``dataset``."""
    try:
        import ray
    except ImportError:
        raise ImportError('the ray engine needs Ray Data: pip install "musemood[ray]"') from None
    pending, skipped = [], 0
    for i, part in enumerate(_parts(dataset, list(dict.fromkeys([job.id_column, job.text_column])), job.part_size)):
        _, part_ids, hashes = job.to_embed(part, i)
        if _done(job.out, i, part_ids, hashes, job.manifest):
            skipped += 1
            bar.update(len(part_ids))
        else:
            pending.append(i)
    if not pending:
        return 0, skipped
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    resources = ray_resources(ray.cluster_resources(), len(pending), concurrency)
    parts = ray.data.from_items([{"part": i} for i in pending])
    done = parts.map_batches(_PartWriter, batch_size=1, fn_constructor_kwargs={"spec": spec, "job": job},
                             **resources)
    written = 0
    for row in done.iter_rows():
        written += 1
        bar.update(int(row["rows"]))
    return written, skipped


def ray_resources(cluster, pending, concurrency=None):
    """``map_batches`` resources for ``pending`` parts on a cluster with ``cluster`` resources
    (``ray.cluster_resources()``): one actor per GPU when there are GPUs, each holding one GPU,
    else one per CPU; never more actors than parts; ``concurrency`` overrides the count."""
    gpus, cpus = int(cluster.get("GPU", 0)), int(cluster.get("CPU", 1))
    actors = concurrency or (gpus if gpus else cpus)
    out = {"concurrency": max(1, min(actors, pending)), "num_cpus": 1}
    if gpus:
        out["num_gpus"] = 1
    return out


class _PartWriter:
    """A Ray actor's work: load the model once, then read, embed and write whole parts."""

    def __init__(self, spec, job):
        import copy

        from ..embedding import SongEmbedder

        model = _load_spec(spec)
        self.job = copy.copy(job)
        if job.auto_batch:
            self.job.batch_size = _batch_size(model)
        self.embedder = SongEmbedder(model)

    def __call__(self, batch):
        job, rows = self.job, []
        for i in (int(i) for i in batch["part"]):
            start = i * job.part_size
            table = _read_rows(job.files, job.columns, start, min(start + job.part_size, job.n_rows))
            rows.append(job.write(self.embedder, *job.to_embed(table, i), i))  # songs, ids, hashes
        return {"part": np.asarray(batch["part"]), "rows": np.asarray(rows)}


def _model_spec(given, model, max_length, out):
    """What a Ray actor needs to load the same model: its parameters, or a folder."""
    from ..encoders import BertEncoder

    if isinstance(model, BertEncoder):
        return ("encoder", {k: (str(v) if isinstance(v, Path) else v) for k, v in model.get_params().items()})
    if isinstance(given, (str, Path)):
        return ("path", str(given), max_length)
    folder = Path(out) / "model"  # a fitted model in memory: saved once, beside the vectors it makes
    if not (folder / "config.json").exists():
        model.save(folder)
    return ("path", str(folder), max_length)


def _load_spec(spec):
    from ..embedding import load_embedding_model
    from ..encoders import BertEncoder

    if spec[0] == "encoder":
        return BertEncoder(**spec[1])
    return load_embedding_model(spec[1], None, spec[2])
