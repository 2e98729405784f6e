"""Song vectors for a whole catalogue, streamed to Parquet parts: bounded memory, resumable.

:func:`embed_dataset` reads a dataset (a Parquet file, or a folder of Parquet parts such as
``build-dataset`` or a data lake writes) in parts of ``part_size`` songs, computes each part's
vectors with a model (the packaged encoder, any Hugging Face encoder, or a fitted musemood
classifier's :meth:`embed`) and writes ``part-00000.parquet``, ``part-00001.parquet``... to the
output folder: one row per song with its ``song_id``, its ``vector`` (a fixed-size list of
float32) and ``text_hash``, a fingerprint of the lyrics it was computed from.  Only one part is in
memory at a time.

The output folder starts with ``embed.json``: the model's identity (name or path, settings and a
SHA-256 of its weights or saved config), the input, the part size and the vector width.  Each part
is written to a temporary file and renamed into place, so a part either exists whole or not at all.
A run that was killed resumes where it stopped: parts already written are checked (readable, the
right number of rows, the same song ids as the input's rows for that part) and skipped, so nothing
is lost or computed twice; a part whose songs' lyrics changed since is computed again.  A folder
written by another model or from another input is refused with a message that says so, rather than
mixed into wrong answers, and so are vectors whose songs' lyrics changed since
(:func:`catalogue_vectors`).

>>> from musemood.embed import embed_dataset, load_vectors          # doctest: +SKIP
>>> embed_dataset("songs.parquet", "vectors/")                      # doctest: +SKIP
>>> song_ids, vectors = load_vectors("vectors/")                    # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import schema
from .text import clean_texts

logger = logging.getLogger(__name__)

__all__ = ["EmbedResult", "catalogue_vectors", "embed_dataset", "load_vectors", "model_identity"]

MANIFEST = "embed.json"
FORMAT = 2  # 2: parts hold each song's text_hash; 1 (musemood before 2026-12-07): song_id and vector only
READABLE = (1, 2)
_COLUMNS = {1: ["song_id", "vector"], 2: ["song_id", "vector", "text_hash"]}


@dataclass
class EmbedResult:
    """What :func:`embed_dataset` did: the folder, songs and parts, how many were skipped as done."""

    path: Path
    songs: int
    parts: int
    written: int
    skipped: int
    dim: int
    seconds: float
    left_out: int = 0  # songs of the input skipped because a ``skip`` folder holds their vectors

    @property
    def songs_per_second(self) -> float:
        done = self.songs * self.written / max(self.parts, 1)
        return done / self.seconds if self.seconds > 0 else float("nan")


def embed_dataset(source, out, model=None, *, text_column=schema.LYRICS, id_column=schema.SONG_ID,
                  part_size=10_000, batch_size=None, max_length=256, skip=None, engine="local", address=None,
                  concurrency=None, show_progress_bar=True) -> EmbedResult:
    """Write the vectors of every song of ``source`` to Parquet parts in folder ``out``.

    Parameters
    ----------
    source : path
        A Parquet file, or a folder of Parquet files (read in file-name order).
    out : path
        The output folder (created); a folder from an interrupted run is resumed.
    model : BertEncoder, fitted musemood classifier, model name/path, or None
        ``None``: the packaged all-MiniLM-L6-v2.  A classifier's :meth:`embed` may need
        audio columns, which are then read too.
    text_column, id_column : str
        The lyrics and the song id columns of ``source``.
    part_size : int, default=10,000
        Songs per output part (and per step of memory).
    batch_size : int, optional
        Texts per encoder batch; default 32 on CPU, 256 on a GPU (where the encoder also
        runs in bfloat16 or float16: :func:`musemood.encoders.inference_dtype`).
    max_length : int, default=256
        Tokens per window, for a model given by name.
    skip : path or list of paths, optional
        Folders written by this function with the same model: their songs are left out (matched by
        ``id_column``) unless their lyrics changed since, e.g. a catalogue's vectors when embedding it again
        after songs were added or corrected.  Give the folders, then ``out``, to :func:`catalogue_vectors`
        (``musemood map --vectors``).
    engine : {"local", "ray"}, default="local"
        ``"local"``: this process, part after part.  ``"ray"``: Ray actors, each loading
        the model once and writing whole parts (``pip install "musemood[ray]"``); the same
        parts and the same vectors.
    address : str, optional
        The Ray cluster to join (``ray.init(address=...)``); default: a local Ray, or the
        one this process is already connected to.
    concurrency : int, optional
        Ray actors (default: one per CPU of the cluster, at most one per part to write).
    show_progress_bar : bool, default=True
        A progress bar over songs, with rate and time left.
    """
    from .embedding import SongEmbedder

    if isinstance(part_size, bool) or not isinstance(part_size, int) or part_size < 1:
        raise ValueError(f"part_size must be an integer >= 1, got {part_size!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                   or batch_size < 1):
        raise ValueError(f"batch_size must be an integer >= 1 or None, got {batch_size!r}")
    if engine not in schema.EMBED_ENGINES:
        raise ValueError(f"engine must be one of {', '.join(map(repr, schema.EMBED_ENGINES))}, got {engine!r}")
    if engine == "ray":
        _check_ray_address(address)
    started = time.perf_counter()
    out = Path(out).expanduser().resolve()  # absolute: Ray actors do not share this process's directory
    if out.exists() and not out.is_dir():
        raise ValueError(f"the output {out} is a file: the vectors go to a folder of parts; give a folder")
    dataset, files = _open(source)
    if Path(source).is_dir() and out.is_relative_to(Path(source).expanduser().resolve()):
        raise ValueError(f"the output folder {out} is inside the input folder {source}: its parts would be read "
                         "as songs on the next run; write the vectors somewhere else")
    given, model = model, SongEmbedder.resolve(model, max_length)
    columns = _columns(dataset, source, model, text_column, id_column)
    n_rows = dataset.count_rows()
    if not n_rows:
        raise ValueError(f"{source} holds no songs: nothing to embed")
    _check_ids(dataset, id_column, source)
    n_parts = math.ceil(n_rows / part_size)
    identity = model_identity(model)
    skip_ids = _skipped_songs(skip, out, identity, id_column)
    left_out = 0 if skip_ids is None else skip_ids.count(dataset, id_column, text_column)
    manifest = {"format": FORMAT, "model": identity, "source": [str(f) for f in files],
                "rows": int(n_rows - left_out), "part_size": int(part_size), "id_column": id_column,
                "text_column": text_column, "parts": n_parts}
    if skip_ids is not None:
        manifest["skip"] = [str(Path(folder).expanduser().resolve()) for folder in vector_folders(skip)]
    manifest = _start(out, manifest)
    job = _Job(files, columns, str(source), out, manifest, part_size, n_rows, id_column, text_column, batch_size,
               skip_ids=skip_ids)
    embedder = SongEmbedder(model)
    job.batch_size, job.auto_batch = batch_size or _batch_size(model), batch_size is None
    job.manifest = _record_dim(out, manifest, job.vectors(embedder, _probe(columns, text_column), -1).shape[1])
    bar = _progress(n_rows - left_out, show_progress_bar)
    try:
        if engine == "local":
            written, skipped = _run_local(job, dataset, embedder, bar)
        else:
            written, skipped = _run_ray(job, _model_spec(given, model, max_length, out), address, concurrency, bar)
    finally:
        bar.close()
    logger.info("embedded %d songs in %d parts (%d written, %d already done; %d left out)", n_rows - left_out,
                n_parts, written, skipped, left_out)
    return EmbedResult(out, int(n_rows - left_out), n_parts, written, skipped, int(job.manifest["dim"]),
                       time.perf_counter() - started, int(left_out))


@dataclass
class _Job:
    """What every part of one run shares (sent to each Ray actor)."""

    files: list
    columns: list
    source: str
    out: Path
    manifest: dict
    part_size: int
    n_rows: int
    id_column: str
    text_column: str
    batch_size: int
    auto_batch: bool = False  # batch_size chosen per device (each Ray actor chooses its own)
    skip_ids: object = None  # a _Skip: the songs left out, whose vectors other folders hold

    def to_embed(self, table, i):
        """``(songs, ids, hashes)``: the rows of input part ``i`` to embed, those no ``skip`` folder
        holds, their ids (every row of the part must have one) and their lyrics' fingerprints (``None``
        for a folder of format 1, which does not record them)."""
        ids = _ids(table, self.id_column, self.source, i * self.part_size)
        hashes = text_hashes(table.column(self.text_column).to_pylist())
        if self.skip_ids is not None:
            kept = ~self.skip_ids.held(ids, hashes)
            table, ids, hashes = table.filter(kept), ids[kept], hashes[kept]
        return table, ids, (hashes if self.manifest["format"] >= 2 else None)

    def vectors(self, embedder, table, i):
        """The part's vectors as float32, checked: one finite row per song."""
        if not table.num_rows:  # every song of the part is in a skip folder
            return np.empty((0, self.manifest["dim"]), dtype=np.float32)
        frame = table.to_pandas()
        vectors, _ = embedder.embed(frame, clean_texts(frame[self.text_column]), self.text_column, self.batch_size,
                                    False)
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(frame) or not np.isfinite(vectors).all():
            raise ValueError(f"the model gave {getattr(vectors, 'shape', '?')} vectors with non-finite values or "
                             f"the wrong shape for part {i} ({len(frame)} songs)")
        return vectors

    def write(self, embedder, songs, ids, hashes, i):
        _write_part(self.out, i, ids, self.vectors(embedder, songs, i), self.manifest, hashes)
        return len(ids)


def _run_local(job, dataset, embedder, bar):
    written = skipped = 0
    for i, table in enumerate(_parts(dataset, job.columns, job.part_size)):
        songs, ids, hashes = job.to_embed(table, i)
        if _done(job.out, i, ids, hashes, job.manifest):
            skipped += 1
        else:
            job.write(embedder, songs, ids, hashes, i)
            written += 1
        bar.update(len(ids))
    return written, skipped


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


def _run_ray(job, spec, address, concurrency, bar):
    """Parts still to write, one Ray Data row each, mapped by actors that load the model once."""
    try:
        import ray
    except ImportError:
        raise ImportError('the ray engine needs Ray Data: pip install "musemood[ray]"') from None
    pending, skipped = [], 0
    for i in range(job.manifest["parts"]):  # the ids and lyrics of one part at a time
        start = i * job.part_size
        part = _read_rows(job.files, [job.id_column, job.text_column], start, min(start + job.part_size, job.n_rows))
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


def _batch_size(model):
    from .encoders import BertEncoder, default_batch_size

    encoder = model if isinstance(model, BertEncoder) else getattr(model, "encoder_", None)
    return default_batch_size(encoder.device_ if encoder is not None else "cpu")


class _PartWriter:
    """A Ray actor's work: load the model once, then read, embed and write whole parts."""

    def __init__(self, spec, job):
        import copy

        from .embedding import SongEmbedder

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
    from .encoders import BertEncoder

    if isinstance(model, BertEncoder):
        return ("encoder", {k: (str(v) if isinstance(v, Path) else v) for k, v in model.get_params().items()})
    if isinstance(given, (str, Path)):
        return ("path", str(given), max_length)
    folder = Path(out) / "model"  # a fitted model in memory: saved once, beside the vectors it makes
    if not (folder / "config.json").exists():
        model.save(folder)
    return ("path", str(folder), max_length)


def _load_spec(spec):
    from .embedding import load_embedding_model
    from .encoders import BertEncoder

    if spec[0] == "encoder":
        return BertEncoder(**spec[1])
    return load_embedding_model(spec[1], None, spec[2])


def _probe(columns, text_column):
    """One song of empty lyrics: the model's vector width, found before any part is written."""
    import pyarrow as pa

    return pa.table({c: pa.array([""] if c == text_column else [None], pa.string() if c == text_column else None)
                     for c in columns})


def load_vectors(path, *, ids_only=False):
    """``(song_ids, vectors)`` of a folder written by :func:`embed_dataset`, in the input's order.

    Refuses a folder whose run has not finished (parts missing) or whose parts disagree with
    its ``embed.json``; the error names the file.
    """
    path = Path(path)
    manifest = _read_manifest(path)
    song_ids, vectors, _ = _load(path, manifest, vectors=not ids_only)
    return song_ids, vectors


def _load(path, manifest, *, vectors=True):
    """``(song_ids, vectors, text_hashes)`` of folder ``path``; ``vectors`` ``None`` unless asked for,
    ``text_hashes`` ``None`` in a folder of format 1."""
    ids, blocks, hashes = [], [], []
    for i in range(manifest["parts"]):
        part = _part_path(path, i)
        if not part.exists():
            raise ValueError(f"{part} is missing: the embedding run stopped before the end; run it again to "
                             "finish (written parts are kept)")
        table = _read_part(part, manifest)
        ids.append(table.column("song_id").to_numpy(zero_copy_only=False))
        if manifest["format"] >= 2:
            hashes.append(_hash_column(table, part))
        if vectors:
            blocks.append(_matrix(table, part, manifest["dim"]))
    song_ids = np.concatenate(ids)
    if len(song_ids) != manifest["rows"]:
        raise ValueError(f"{path} holds {len(song_ids):,} songs but {MANIFEST} says {manifest['rows']:,}")
    return song_ids, (np.vstack(blocks) if vectors else None), (np.concatenate(hashes) if hashes else None)


def vector_folders(vectors):
    """``vectors`` as a list of ``musemood embed`` folders, or ``None`` when it is not a folder or a list of them
    (an array)."""
    if isinstance(vectors, (str, Path)):
        return [Path(vectors)]
    if isinstance(vectors, (list, tuple)) and vectors and all(isinstance(v, (str, Path)) for v in vectors):
        return [Path(v) for v in vectors]
    return None


def catalogue_vectors(df, path, model=None, *, id_column=None, text_column=None,
                      model_option="musemood map --model"):
    """The vectors of folder ``path`` (from :func:`embed_dataset`) for the songs of ``df``, one row
    per song in ``df``'s order, matched by ``id_column`` (by default the column the folder's songs were
    read by).  With ``model``, the folder's vectors must have been computed by that model (free-text
    queries must land in the same space).  A song whose lyrics (``df``'s ``text_column``, by default the
    column the folder read; ``text_column`` when ``df`` lacks that one) are not those its vector was
    computed from is refused, as a stale vector.

    ``path`` may be a list of folders of the same model, e.g. a catalogue's vectors and those of the songs
    added since: a song in several takes its vector from the last one (a song embedded again).
    ``model_option`` is how the refusal of another model's folder names the way to give the model."""
    folders = vector_folders(path)
    manifests = [_read_manifest(folder) for folder in folders]
    columns = {_id_column(m) for m in manifests}
    if id_column is None and len(columns) > 1:
        raise ValueError(f"{', '.join(map(str, folders))} were read by different id columns {sorted(columns)}; "
                         "embed every part of the catalogue with the same --id-column")
    id_column = id_column or columns.pop()
    if id_column not in df.columns:
        raise ValueError(f"the catalogue has no {id_column} column to match the vectors of "
                         f"{', '.join(map(str, folders))} with")
    if model is not None:
        from .embedding import SongEmbedder

        expected = model_identity(SongEmbedder.resolve(model, 256) if isinstance(model, (str, Path)) else model)
    else:
        expected = manifests[0]["model"]
    for folder, manifest in zip(folders, manifests):
        if manifest["model"]["sha256"] != expected["sha256"]:
            given = "this model" if model is not None else f"the model of {folders[0]}"
            raise ValueError(f"{folder} holds vectors of another model ({_maker(manifest)}) than {given}; embed "
                             f"the catalogue with this model, or give the model that made them ({model_option})")
    position, blocks, hashes, offset = {}, [], [], 0
    for folder, manifest in zip(folders, manifests):
        ids, vectors, stored = _load(folder, manifest)
        hashes.append((np.zeros(len(ids), dtype="S16"), False) if stored is None else (stored, True))
        if len(set(ids.tolist())) != len(ids):
            raise ValueError(f"{folder} holds some song ids more than once; embed a catalogue with unique song ids")
        if blocks and vectors.shape[1] != blocks[0].shape[1]:
            raise ValueError(f"{folder} holds {vectors.shape[1]}-dimensional vectors, {folders[0]} "
                             f"{blocks[0].shape[1]}-dimensional ones: they cannot be of one model")
        position.update((song, offset + i) for i, song in enumerate(ids.tolist()))  # a later folder wins
        blocks.append(vectors)
        offset += len(ids)
    wanted = df[id_column].astype(str).tolist()
    missing = [song for song in wanted if song not in position]
    if missing:
        where = folders[0] if len(folders) == 1 else f"any of {', '.join(map(str, folders))}"
        raise ValueError(f"{len(missing):,} of the catalogue's {len(wanted):,} songs have no vector in {where} "
                         f"(e.g. {missing[:3]}); run musemood embed on the songs that lack one")
    rows = np.fromiter((position[song] for song in wanted), dtype=np.int64, count=len(wanted))
    recorded = np.concatenate([np.full(len(h), known) for h, known in hashes])[rows]
    read = manifests[-1].get("text_column") or schema.LYRICS
    _check_lyrics(df, read if read in df.columns else text_column, wanted,
                  np.concatenate([h for h, _ in hashes])[rows], recorded, rows, folders,
                  np.cumsum([len(h) for h, _ in hashes]))
    if len(blocks) == 1:
        return blocks[0][rows]
    starts = np.cumsum([0] + [len(block) for block in blocks[:-1]])
    which = np.searchsorted(starts, rows, side="right") - 1
    out = np.empty((len(rows), blocks[0].shape[1]), dtype=blocks[0].dtype)
    for b, block in enumerate(blocks):  # no copy of every folder's vectors joined
        chosen = which == b
        out[chosen] = block[rows[chosen] - starts[b]]
    return out


def _check_lyrics(df, text_column, wanted, stored, recorded, rows, folders, ends):
    """Refuse songs whose lyrics in ``df`` are not those their vectors were computed from (``stored``: the
    fingerprints of the vectors taken; ``recorded`` is false where a folder of format 1 recorded none)."""
    if text_column is None or text_column not in df.columns or not recorded.any():
        return
    stale = recorded & (text_hashes(df[text_column].tolist()) != stored)
    if not stale.any():
        return
    ids = np.asarray(wanted, dtype=object)[stale]
    where = sorted({str(folders[int(np.searchsorted(ends, r, side="right"))]) for r in rows[stale]})
    n = int(stale.sum())
    raise ValueError(f"{n:,} of the catalogue's {len(df):,} songs {'has' if n == 1 else 'have'} other lyrics than "
                     f"those {', '.join(where)} embedded (e.g. {ids[:3].tolist()}): their vectors would be stale; "
                     f"embed the catalogue again with --skip-vectors {' '.join(map(str, folders))} (skip= in "
                     "Python), which computes only the songs that are new or changed, and give that folder last")


def vectors_maker(path) -> str:
    """The model that computed the vectors of folder ``path`` (or of the first of a list), as its name (an
    encoder) or class."""
    return _maker(_read_manifest(vector_folders(path)[0]))


def _maker(manifest):
    model = manifest["model"]
    return str(model.get("name") or model.get("class"))


def model_identity(model) -> dict:
    """What makes two runs' vectors comparable: the model's kind, name or path, settings and a
    SHA-256 of its weights (an encoder) or of its saved config and head (a classifier)."""
    from .encoders import BertEncoder, resolve_model

    if isinstance(model, BertEncoder):
        source = resolve_model(model.model_name_or_path)
        return {"kind": "encoder", "name": str(model.model_name_or_path or "all-MiniLM-L6-v2"),
                "settings": {k: _jsonable(v) for k, v in model.get_params().items() if k != "device"},
                "sha256": _weights_digest(Path(source))}
    params = {k: _jsonable(v) for k, v in model.get_params().items()
              if k not in ("device", "show_progress_bar")} if hasattr(model, "get_params") else {}
    encoder = getattr(model, "encoder_", None)
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    for trained in ("head_", "net_"):  # the BERT models' head, the DNN and LSTM baselines' whole network
        module = getattr(model, trained, None)
        if module is not None and hasattr(module, "state_dict"):
            for name, tensor in sorted(module.state_dict().items()):
                digest.update(name.encode())
                digest.update(tensor.detach().cpu().numpy().tobytes())
    if encoder is not None and hasattr(encoder, "model_"):
        for name, tensor in sorted(encoder.model_.state_dict().items())[:4]:  # enough to tell fine-tunings apart
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().numpy().tobytes())
    return {"kind": "classifier", "class": type(model).__name__, "settings": params, "sha256": digest.hexdigest()}


# ------------------------------------------------------------------ reading
def _open(source):
    import pyarrow.dataset as ds

    source = Path(source).expanduser()
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist: give a Parquet file or a folder of Parquet files")
    source = source.resolve()
    if source.is_dir():
        from .datasets import parquet_parts

        files = parquet_parts(source)
        if not files:
            raise ValueError(f"{source} holds no .parquet files")
    else:
        if source.suffix.lower() != ".parquet":
            raise ValueError(f"{source}: embed reads Parquet (.parquet); convert a CSV with "
                             "musemood.datasets.save_dataset(load_dataset(path), 'songs.parquet')")
        files = [source]
    try:
        return ds.dataset([str(f) for f in files], format="parquet"), files
    except Exception as exc:  # pyarrow names the file it could not read
        raise ValueError(f"{source} is not a readable Parquet dataset: {exc}") from None


def _columns(dataset, source, model, text_column, id_column):
    import pyarrow as pa

    names = set(dataset.schema.names)
    needed = [id_column, text_column]
    audio = getattr(model, "audio_columns", None)
    if isinstance(audio, (list, tuple)):
        needed += [c for c in audio if c in names]  # missing audio features are imputed by the model
    missing = [c for c in (id_column, text_column) if c not in names]
    if missing:
        raise ValueError(f"{source} lacks the column(s) {missing}; its columns are {sorted(names)} "
                         "(choose them with --id-column / --text-column)")
    kind = dataset.schema.field(text_column).type
    if not (_is_text(kind) or pa.types.is_null(kind)):  # every song would be embedded as an empty text
        text = sorted(f.name for f in dataset.schema if _is_text(f.type))
        raise ValueError(f"{source}: the column {text_column!r} holds {kind}, not text; its text columns are {text} "
                         "(choose the lyrics with --text-column)")
    return list(dict.fromkeys(needed))


def _is_text(kind):
    """Whether an Arrow type holds text (dictionary-encoded too, as pandas categories are saved)."""
    import pyarrow as pa

    kind = kind.value_type if pa.types.is_dictionary(kind) else kind
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)


def _parts(dataset, columns, part_size):
    """Tables of exactly ``part_size`` rows (the last one shorter), in the dataset's order."""
    import pyarrow as pa

    buffer, buffered = [], 0
    for batch in dataset.to_batches(columns=columns, batch_size=min(part_size, 65_536)):
        buffer.append(batch)
        buffered += batch.num_rows
        while buffered >= part_size:
            table = pa.Table.from_batches(buffer)
            yield table.slice(0, part_size)
            rest = table.slice(part_size)
            buffer, buffered = rest.to_batches(), rest.num_rows
    if buffered:
        yield pa.Table.from_batches(buffer)


def _read_rows(files, columns, start, stop):
    """Rows ``start`` to ``stop`` of the files taken end to end (the order :func:`_parts` reads),
    reading only the row groups that hold them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pieces, offset = [], 0
    for file in files:
        handle = pq.ParquetFile(file)
        for group in range(handle.num_row_groups):
            size = handle.metadata.row_group(group).num_rows
            lo, hi = max(start, offset), min(stop, offset + size)
            if lo < hi:
                table = handle.read_row_group(group, columns=columns)
                pieces.append(table.slice(lo - offset, hi - lo))
            offset += size
            if offset >= stop:
                return pa.concat_tables(pieces, promote_options="default")
    return pa.concat_tables(pieces, promote_options="default") if pieces else None


def _ids(table, id_column, source, first_row):
    column = table.column(id_column)
    if column.null_count:
        row = first_row + int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise ValueError(f"{source}: row {row:,} has no {id_column}; every song needs an id")
    return column.cast("string").to_numpy(zero_copy_only=False).astype(object)


_EMPTY = hashlib.blake2b(b"", digest_size=16).digest()


def text_hashes(values) -> np.ndarray:
    """A 16-byte BLAKE2b fingerprint of each text (a numpy ``S16`` array), its runs of white space read as
    one space and its ends trimmed, so that line endings and indentation do not count; a missing or
    non-text value is the empty text.  About 7 seconds per million songs of 800 characters on 2 cores
    (`benchmarks/embed_skip.py`)."""
    return np.array([hashlib.blake2b(" ".join(v.split()).encode("utf-8", "surrogatepass"), digest_size=16).digest()
                     if isinstance(v, str) else _EMPTY for v in values], dtype="S16")


def _hash_array(hashes):
    import pyarrow as pa

    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), len(hashes), [None, pa.py_buffer(hashes.tobytes())])


def _hash_column(table, part):
    column = table.column("text_hash").combine_chunks()
    if column.type.byte_width != 16 or column.null_count:
        raise ValueError(f"{part}: its text_hash column is not one 16-byte fingerprint per song; delete it and run "
                         "again")
    return np.frombuffer(column.buffers()[1], dtype="S16", count=len(column), offset=column.offset * 16).copy()


@dataclass
class _Skip:
    """The songs whose vectors other folders hold: by id and lyrics fingerprint (``keys``), or by id alone
    (``ids``) for folders of format 1, which recorded no fingerprints."""

    keys: object = None  # pyarrow binary: fingerprint + id
    ids: object = None  # pyarrow string

    def held(self, ids, hashes):
        """A boolean mask of the songs (``ids``, ``hashes``) a skipped folder holds, lyrics unchanged."""
        import pyarrow as pa
        import pyarrow.compute as pc

        ids = pa.array(ids, type=pa.string())
        held = np.zeros(len(ids), dtype=bool)
        if self.keys is not None:
            held |= pc.is_in(_keys(ids, hashes), value_set=self.keys).to_numpy(zero_copy_only=False)
        if self.ids is not None:
            held |= pc.is_in(ids, value_set=self.ids).to_numpy(zero_copy_only=False)
        return held

    def count(self, dataset, id_column, text_column):
        """How many of the dataset's songs a skipped folder holds, lyrics unchanged."""
        return sum(int(self.held(batch.column(id_column).cast("string"), text_hashes(
            batch.column(text_column).to_pylist())).sum())
            for batch in dataset.to_batches(columns=[id_column, text_column], batch_size=65_536))


def _keys(ids, hashes):
    """One binary key per song: its fingerprint, then its id."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(_hash_array(hashes).cast(pa.binary()), ids.cast(pa.binary()),
                                       pa.scalar(b"", pa.binary()))


def _skipped_songs(skip, out, identity, id_column):
    """The songs of folders ``skip`` (a :class:`_Skip`), checked: finished folders of this model whose
    songs were read by the same id column; ``None`` without folders."""
    import pyarrow as pa

    if skip is None or (isinstance(skip, (list, tuple)) and not skip):
        return None
    folders = vector_folders(skip)
    if folders is None:
        raise TypeError(f"skip must be a folder written by musemood embed or a list of them, got {skip!r}")
    ids, keys = [], []
    for folder in folders:
        if Path(folder).expanduser().resolve() == out:
            raise ValueError(f"the output folder {out} is one of the folders to skip: write the new songs' vectors "
                             "to a folder of their own")
        manifest = _read_manifest(folder)
        if manifest["model"]["sha256"] != identity["sha256"]:
            raise ValueError(f"{folder} holds vectors of another model ({_maker(manifest)}): its songs would have "
                             "no vector of this one; embed with the model that made them, or do not skip them")
        if _id_column(manifest) != id_column:
            raise ValueError(f"{folder} was read by the id column {_id_column(manifest)!r}, this run by "
                             f"{id_column!r}: its songs cannot be matched; give the same --id-column")
        song_ids, _, hashes = _load(folder, manifest, vectors=False)
        if hashes is None:
            logger.warning("%s was written by an older musemood, which recorded no fingerprint of the lyrics: its "
                           "songs are left out by id, even those whose lyrics changed since", folder)
            ids.append(pa.array(song_ids, type=pa.string()))
        else:
            keys.append(_keys(pa.array(song_ids, type=pa.string()), hashes))
    return _Skip(keys=pa.concat_arrays(keys) if keys else None, ids=pa.concat_arrays(ids) if ids else None)


def _check_ids(dataset, id_column, source):
    """Refuse a song with no id, or an id given to two rows, before any song is embedded (the vectors
    of a repeated id could not be matched to a catalogue).  Reads the id column alone and keeps an
    8-byte hash per song; rows whose hashes meet are compared by their ids."""
    import pandas as pd

    hashes, row = [], 0
    for batch in dataset.to_batches(columns=[id_column], batch_size=262_144):
        ids = _ids(batch, id_column, source, row)
        hashes.append(pd.util.hash_array(ids))
        row += batch.num_rows
    hashes = np.concatenate(hashes) if hashes else np.empty(0, np.uint64)
    order = np.argsort(hashes, kind="stable")
    meet = np.flatnonzero(hashes[order][1:] == hashes[order][:-1])
    if not len(meet):
        return
    suspects = set(hashes[order][meet].tolist())
    seen, row = {}, 0
    for batch in dataset.to_batches(columns=[id_column], batch_size=262_144):
        ids = _ids(batch, id_column, source, row)
        for i in np.flatnonzero(np.isin(pd.util.hash_array(ids), list(suspects))):
            song = ids[i]
            if song in seen:
                raise ValueError(f"{source}: {id_column} {song!r} is at rows {seen[song]:,} and {row + i:,}; "
                                 "every song needs an id of its own: make the ids unique (or drop the repeats)")
            seen[song] = row + int(i)
        row += batch.num_rows


# ------------------------------------------------------------------ writing
def _start(out, manifest):
    """Write ``embed.json`` in a new folder, or check that an existing one is this run's."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / MANIFEST
    if path.exists():
        old = _read_manifest(out)
        for key in ("model", "source", "skip", "rows", "part_size", "id_column", "text_column"):
            if old.get(key) != manifest.get(key):
                raise ValueError(f"{out} holds vectors from another run ({key} differs: {old.get(key)!r} there, "
                                 f"{manifest.get(key)!r} now); give another output folder, or delete this one")
        return old
    _write_json(path, manifest)
    return manifest


def _record_dim(out, manifest, dim):
    if manifest.get("dim") is None:
        manifest = {**manifest, "dim": int(dim)}
        _write_json(out / MANIFEST, manifest)
    elif manifest["dim"] != dim:
        raise ValueError(f"the model gave {dim}-dimensional vectors but {out / MANIFEST} says {manifest['dim']}")
    return manifest


def _write_part(out, i, ids, vectors, manifest, hashes=None):
    import pyarrow as pa
    import pyarrow.parquet as pq

    dim = vectors.shape[1]
    columns = {"song_id": pa.array(ids, type=pa.string()),
               "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel(), pa.float32()), dim)}
    if manifest["format"] >= 2:
        columns["text_hash"] = _hash_array(hashes)
    table = pa.table(columns)
    table = table.replace_schema_metadata({"musemood.embed": json.dumps({"part": i, "dim": dim,
                                                                         "model": manifest["model"]["sha256"]})})
    final = _part_path(out, i)
    tmp = final.with_name(final.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, final)  # a part exists whole or not at all


def _write_json(path, payload):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    os.replace(tmp, path)


# ---------------------------------------------------------------- checking
def _part_path(out, i):
    return Path(out) / f"part-{i:05d}.parquet"


def _done(out, i, ids, hashes, manifest):
    """Whether part ``i`` is written, whole, for these songs and their lyrics (``hashes``); a broken part
    is reported, and one whose songs' lyrics changed since is to be computed again."""
    part = _part_path(out, i)
    if not part.exists():
        return False
    table = _read_part(part, manifest)
    stored = table.column("song_id").to_numpy(zero_copy_only=False)
    if len(stored) != len(ids) or not np.array_equal(stored.astype(object), ids):
        raise ValueError(f"{part} holds other songs than rows {i * manifest['part_size']:,}... of the input: the "
                         "input changed since it was written; give another output folder, or delete this one")
    if hashes is not None:
        changed = int((_hash_column(table, part) != hashes).sum())
        if changed:
            logger.info("%s: %d song%s lyrics changed since it was written; computing it again", part.name,
                        changed, "'s" if changed == 1 else "s'")
            return False
    return True


def _id_column(manifest):
    """The column a run read its song ids from (``song_id`` for runs that did not record it)."""
    return manifest.get("id_column") or schema.SONG_ID


def _read_manifest(path):
    file = Path(path) / MANIFEST
    if not Path(path).is_dir():
        raise FileNotFoundError(f"no folder at {path}: give a folder of vectors written by musemood embed")
    if not file.exists():
        raise FileNotFoundError(f"{path} holds no {MANIFEST}: it was not written by musemood embed")
    try:
        manifest = json.loads(file.read_text())
        if manifest.get("format") not in READABLE:
            raise ValueError(f"format {manifest.get('format')!r}, this version reads formats {READABLE}")
        for key in ("model", "rows", "part_size", "parts"):
            manifest[key]  # noqa: B018
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{file} is damaged or not an embedding run's ({exc}); delete the folder and run again") \
            from None
    return manifest


def _read_part(part, manifest):
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(part)
    except Exception as exc:  # a truncated or foreign file
        raise ValueError(f"{part} is damaged ({type(exc).__name__}: {exc}); delete it and run again to "
                         "recompute it") from None
    meta = json.loads((table.schema.metadata or {}).get(b"musemood.embed", b"{}"))
    if meta.get("model") != manifest["model"]["sha256"] or table.column_names != _COLUMNS[manifest["format"]]:
        raise ValueError(f"{part} was not written by this run's model; delete it and run again")
    return table


def _matrix(table, part, dim):
    column = table.column("vector").combine_chunks()
    values = column.flatten().to_numpy(zero_copy_only=False)
    if len(values) != dim * len(table) or (dim and not np.isfinite(values).all()):
        raise ValueError(f"{part}: vectors are not {dim}-dimensional finite numbers; delete it and run again")
    return values.reshape(len(table), dim).astype(np.float32, copy=False)


def _weights_digest(folder):
    if not folder.is_dir():  # a hub name: identified by its name and settings
        return hashlib.sha256(str(folder).encode()).hexdigest()
    digest = hashlib.sha256()
    for file in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")) + [folder / "config.json"]:
        if file.is_file():
            with open(file, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def _jsonable(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


def _progress(total, show):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="song", desc="embedding", disable=not show, smoothing=0.1)
