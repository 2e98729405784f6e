"""Several vectors folders at once: a catalogue's vectors matched to its songs (stale ones refused), and
the songs other folders hold, left out of a new run."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import schema
from ..text import text_hashes
from ._folder import (_hash_array, _id_column, _load, _maker, _part_vectors, _read_manifest, model_identity,
                      vector_folders)

logger = logging.getLogger(__name__)


def catalogue_vectors(df, path, model=None, *, id_column=None, text_column=None,
                      model_option="musemood map --model"):
    """The vectors of folder ``path`` (from :func:`embed_dataset`) for the songs of ``df``, one row
    per song in ``df``'s order, matched by ``id_column`` (by default the column the folder's songs were
    read by).  With ``model``, the folder's vectors must have been computed by that model (free-text
    queries must land in the same space).  A song whose lyrics (``df``'s ``text_column``, by default the
    column the folder it is taken from read; ``text_column`` when ``df`` lacks that one) are not those its
    vector was computed from is refused, as a stale vector.

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
        from ..embedding import SongEmbedder

        expected = model_identity(SongEmbedder.resolve(model, 256) if isinstance(model, (str, Path)) else model)
    else:
        expected = manifests[0]["model"]
    for folder, manifest in zip(folders, manifests):
        if manifest["model"]["sha256"] != expected["sha256"]:
            given = "this model" if model is not None else f"the model of {folders[0]}"
            raise ValueError(f"{folder} holds vectors of another model ({_maker(manifest)}) than {given}; embed "
                             f"the catalogue with this model, or give the model that made them ({model_option})")
    dims = {int(m["dim"]) for m in manifests}
    if len(dims) > 1:
        raise ValueError(f"{', '.join(map(str, folders))} hold vectors of {sorted(dims)} dimensions: they cannot "
                         "be of one model")
    # the folders' song ids and fingerprints first, then only the parts that hold a song taken, one at a time
    position, stored, recorded, part_starts, offset = {}, [], [], [], 0
    for folder, manifest in zip(folders, manifests):
        ids, _, hashes, starts = _load(folder, manifest, vectors=False)
        stored.append(np.zeros(len(ids), dtype="S16") if hashes is None else hashes)
        recorded.append(np.full(len(ids), hashes is not None))  # format 1 recorded no fingerprints
        part_starts.append(starts)
        if len(set(ids.tolist())) != len(ids):
            raise ValueError(f"{folder} holds some song ids more than once; embed a catalogue with unique song ids")
        position.update((song, offset + i) for i, song in enumerate(ids.tolist()))  # a later folder wins
        offset += len(ids)
    wanted = df[id_column].astype(str).tolist()
    missing = [song for song in wanted if song not in position]
    if missing:
        where = folders[0] if len(folders) == 1 else f"any of {', '.join(map(str, folders))}"
        raise ValueError(f"{len(missing):,} of the catalogue's {len(wanted):,} songs have no vector in {where} "
                         f"(e.g. {missing[:3]}); run musemood embed on the songs that lack one")
    rows = np.fromiter((position[song] for song in wanted), dtype=np.int64, count=len(wanted))
    del position
    ends = np.cumsum([len(h) for h in stored])
    folder_of = np.searchsorted(ends, rows, side="right")
    read = [m.get("text_column") or schema.LYRICS for m in manifests]  # each folder's own lyrics column
    _check_lyrics(df, [c if c in df.columns else text_column for c in read], wanted, np.concatenate(stored)[rows],
                  np.concatenate(recorded)[rows], folders, folder_of)
    out = np.empty((len(rows), dims.pop()), dtype=np.float32)
    for b, (folder, manifest) in enumerate(zip(folders, manifests)):
        taken = np.flatnonzero(folder_of == b)  # the catalogue's songs whose vector this folder gives
        local = rows[taken] - (ends[b - 1] if b else 0)
        part_of = np.searchsorted(part_starts[b], local, side="right") - 1
        for i in np.unique(part_of):
            here = part_of == i
            out[taken[here]] = _part_vectors(folder, manifest, int(i))[local[here] - part_starts[b][i]]
    return out


def _check_lyrics(df, columns, wanted, stored, recorded, folders, folder_of):
    """Refuse songs whose lyrics in ``df`` are not those their vectors were computed from (``stored``: the
    fingerprints of the vectors taken; ``recorded`` is false where a folder of format 1 recorded none;
    ``folder_of``: the index in ``folders`` of the folder each vector is taken from, whose lyrics are
    ``df``'s column ``columns[folder]``, unchecked where ``None`` or absent)."""
    stale = np.zeros(len(df), dtype=bool)
    for column in {c for c in columns if c is not None and c in df.columns}:
        rows = np.flatnonzero(recorded & np.isin(folder_of, [b for b, c in enumerate(columns) if c == column]))
        if len(rows):
            stale[rows] = text_hashes(df[column].iloc[rows].tolist()) != stored[rows]
    if not stale.any():
        return
    ids = np.asarray(wanted, dtype=object)[stale]
    where = sorted({str(folders[b]) for b in np.unique(folder_of[stale])})
    n = int(stale.sum())
    raise ValueError(f"{n:,} of the catalogue's {len(df):,} songs {'has' if n == 1 else 'have'} other lyrics than "
                     f"those {', '.join(where)} embedded (e.g. {ids[:3].tolist()}): their vectors would be stale; "
                     f"embed the catalogue again with --skip-vectors {' '.join(map(str, folders))} (skip= in "
                     "Python), which computes only the songs that are new or changed, and give that folder last")


@dataclass
class _Skip:
    """The songs whose vectors other folders hold: by id and lyrics fingerprint (``keys``), or by id alone
    (``unchecked``) for folders of format 1, which recorded no fingerprints."""

    keys: object = None  # pyarrow binary: fingerprint + id, of the folders with fingerprints
    fingerprinted: object = None  # pyarrow string: the ids of those folders' songs
    unchecked: object = None  # pyarrow string: the ids of the songs of folders without fingerprints

    def held(self, ids, hashes):
        """A boolean mask of the songs (``ids``, ``hashes``) a skipped folder holds, lyrics unchanged."""
        import pyarrow as pa
        import pyarrow.compute as pc

        ids = pa.array(ids, type=pa.string())
        held = np.zeros(len(ids), dtype=bool)
        if self.keys is not None:
            held |= pc.is_in(_keys(ids, hashes), value_set=self.keys).to_numpy(zero_copy_only=False)
        if self.unchecked is not None:
            held |= pc.is_in(ids, value_set=self.unchecked).to_numpy(zero_copy_only=False)
        return held

    def count(self, dataset, id_column, text_column):
        """``(held, changed)``: how many of the dataset's songs a skipped folder holds with the same lyrics,
        and how many it holds with other lyrics (to be embedded again)."""
        import pyarrow.compute as pc

        held = changed = 0
        for batch in dataset.to_batches(columns=[id_column, text_column], batch_size=65_536):
            ids = batch.column(id_column).cast("string")
            same = self.held(ids, text_hashes(batch.column(text_column).to_pylist()))
            held += int(same.sum())
            if self.fingerprinted is not None:
                changed += int((pc.is_in(ids, value_set=self.fingerprinted).to_numpy(zero_copy_only=False)
                                & ~same).sum())
        return held, changed


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
    keys, fingerprinted, unchecked = [], [], []
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
        song_ids, _, hashes, _ = _load(folder, manifest, vectors=False)
        if hashes is None:
            logger.warning("%s was written by an older musemood, which recorded no fingerprint of the lyrics: its "
                           "songs are left out by id, even those whose lyrics changed since", folder)
            unchecked.append(pa.array(song_ids, type=pa.string()))
        else:
            fingerprinted.append(pa.array(song_ids, type=pa.string()))
            keys.append(_keys(fingerprinted[-1], hashes))
    return _Skip(keys=pa.concat_arrays(keys) if keys else None,
                 fingerprinted=pa.concat_arrays(fingerprinted) if fingerprinted else None,
                 unchecked=pa.concat_arrays(unchecked) if unchecked else None)
