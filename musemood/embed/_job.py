"""One run's shared work: which songs of a part to embed, their vectors, the part written; the local engine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..catalogue import without_lyrics
from ..text import clean_texts, text_hashes
from ._folder import _done, _write_part
from ._input import _ids, _parts


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
    skip: object = None  # a _Skip: the songs left out, whose vectors other folders hold

    def to_embed(self, table, i):
        """``(songs, ids, hashes)``: the rows of input part ``i`` to embed, those no ``skip`` folder
        holds, their ids (every row of the part must have one) and their lyrics' fingerprints (``None``
        for a folder of format 1, which does not record them)."""
        ids = _ids(table, self.id_column, self.source, i * self.part_size)
        if self.skip is None and self.manifest["format"] < 2:  # nothing needs the fingerprints
            return table, ids, None
        hashes = text_hashes(table.column(self.text_column).to_pylist())
        if self.skip is not None:
            kept = ~self.skip.held(ids, hashes)
            table, ids, hashes = table.filter(kept), ids[kept], hashes[kept]
        return table, ids, (hashes if self.manifest["format"] >= 2 else None)

    def vectors(self, embedder, table, i):
        """The part's vectors as float32, checked: one finite row per song."""
        return self._embed(embedder, table, i)[0]

    def _embed(self, embedder, table, i):
        """``(vectors, songs without lyrics)`` of the part: see :meth:`vectors`; the songs whose cleaned
        lyrics are empty (embedded as the empty text) are counted."""
        if not table.num_rows:  # every song of the part is in a skip folder
            return np.empty((0, self.manifest["dim"]), dtype=np.float32), 0
        frame = table.to_pandas()
        texts = clean_texts(frame[self.text_column])
        vectors, _ = embedder.embed(frame, texts, self.text_column, self.batch_size, False)
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(frame) or not np.isfinite(vectors).all():
            raise ValueError(f"the model gave {getattr(vectors, 'shape', '?')} vectors with non-finite values or "
                             f"the wrong shape for part {i} ({len(frame)} songs)")
        return vectors, int(without_lyrics(texts).sum())

    def write(self, embedder, songs, ids, hashes, i):
        vectors, empty = self._embed(embedder, songs, i)
        _write_part(self.out, i, ids, vectors, self.manifest, hashes, without_lyrics=empty)
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


def _batch_size(model):
    from ..encoders import BertEncoder, default_batch_size

    encoder = model if isinstance(model, BertEncoder) else getattr(model, "encoder_", None)
    return default_batch_size(encoder.device_ if encoder is not None else "cpu")


def _probe(columns, text_column):
    """One song of empty lyrics: the model's vector width, found before any part is written."""
    import pyarrow as pa

    return pa.table({c: pa.array([""] if c == text_column else [None], pa.string() if c == text_column else None)
                     for c in columns})


def _progress(total, show):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="song", desc="embedding", disable=not show, smoothing=0.1)
