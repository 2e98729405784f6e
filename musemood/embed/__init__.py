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

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

from .. import schema
from ._catalogue import _skipped_songs, catalogue_vectors
from ..text import text_hashes
from ._folder import (FORMAT, MANIFEST, _count_without_lyrics, _record_dim, _start, load_vectors, model_identity,
                      vector_folders, vectors_maker)
from ._input import _check_ids, _columns, _open
from ._job import _batch_size, _Job, _probe, _progress, _run_local
from ._ray import _check_ray_address, _model_spec, _run_ray, ray_resources

logger = logging.getLogger(__name__)


__all__ = ["EmbedResult", "FORMAT", "MANIFEST", "catalogue_vectors", "embed_dataset", "load_vectors", "model_identity",
           "ray_resources", "text_hashes", "vector_folders", "vectors_maker"]


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
    changed: int = 0  # songs a ``skip`` folder holds whose lyrics changed since: embedded again
    without_lyrics: int | None = None  # songs embedded as the empty text (no lyrics, or only a mark such as
    # [Instrumental]), which a recommender refuses (``musemood map --drop-missing``); None: parts of an older run

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
    from ..embedding import SongEmbedder

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
    skipping = _skipped_songs(skip, out, identity, id_column)
    left_out, changed = (0, 0) if skipping is None else skipping.count(dataset, id_column, text_column)
    manifest = {"format": FORMAT, "model": identity, "source": [str(f) for f in files],
                "rows": int(n_rows - left_out), "part_size": int(part_size), "id_column": id_column,
                "text_column": text_column, "parts": n_parts}
    if skipping is not None:
        manifest["skip"] = [str(Path(folder).expanduser().resolve()) for folder in vector_folders(skip)]
    manifest = _start(out, manifest)
    job = _Job(files, columns, str(source), out, manifest, part_size, n_rows, id_column, text_column, batch_size,
               skip=skipping)
    embedder = SongEmbedder(model)
    job.batch_size, job.auto_batch = batch_size or _batch_size(model), batch_size is None
    job.manifest = _record_dim(out, manifest, job.vectors(embedder, _probe(columns, text_column), -1).shape[1])
    bar = _progress(n_rows - left_out, show_progress_bar)
    try:
        if engine == "local":
            written, skipped = _run_local(job, dataset, embedder, bar)
        else:
            written, skipped = _run_ray(job, dataset, _model_spec(given, model, max_length, out), address,
                                        concurrency, bar)
    finally:
        bar.close()
    logger.info("embedded %d songs in %d parts (%d written, %d already done; %d left out)", n_rows - left_out,
                n_parts, written, skipped, left_out)
    return EmbedResult(out, int(n_rows - left_out), n_parts, written, skipped, int(job.manifest["dim"]),
                       time.perf_counter() - started, int(left_out), int(changed), _count_without_lyrics(out, n_parts))
