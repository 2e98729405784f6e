"""The vectors folder ``musemood embed`` writes: ``embed.json``, the parts and their checks, the lyrics'
fingerprints and the model's identity."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np

from .. import schema

logger = logging.getLogger(__name__)

MANIFEST = "embed.json"
FORMAT = 2  # 2: parts hold each song's text_hash; 1 (musemood before 2026-12-07): song_id and vector only
READABLE = (1, 2)
_COLUMNS = {1: ["song_id", "vector"], 2: ["song_id", "vector", "text_hash"]}


def load_vectors(path, *, ids_only=False):
    """``(song_ids, vectors)`` of a folder written by :func:`embed_dataset`, in the input's order.

    Refuses a folder whose run has not finished (parts missing) or whose parts disagree with
    its ``embed.json``; the error names the file.
    """
    path = Path(path)
    manifest = _read_manifest(path)
    song_ids, vectors, _, _ = _load(path, manifest, vectors=not ids_only)
    return song_ids, vectors


def _load(path, manifest, *, vectors=True):
    """``(song_ids, vectors, text_hashes, starts)`` of folder ``path``: ``vectors`` ``None`` unless asked
    for (without them, only the ids and fingerprints are read), ``text_hashes`` ``None`` in a folder of
    format 1, ``starts`` the row each part starts at."""
    ids, blocks, hashes = [], [], []
    columns = None if vectors else [c for c in _COLUMNS[manifest["format"]] if c != "vector"]
    for i in range(manifest["parts"]):
        part = _part_path(path, i)
        table = _read_part(part, manifest, columns)
        ids.append(table.column("song_id").to_numpy(zero_copy_only=False))
        if manifest["format"] >= 2:
            hashes.append(_hash_column(table, part))
        if vectors:
            blocks.append(_matrix(table, part, manifest["dim"]))
    song_ids = np.concatenate(ids)
    if len(song_ids) != manifest["rows"]:
        raise ValueError(f"{path} holds {len(song_ids):,} songs but {MANIFEST} says {manifest['rows']:,}")
    starts = np.cumsum([0] + [len(part) for part in ids[:-1]])
    return (song_ids, (np.vstack(blocks) if vectors else None), (np.concatenate(hashes) if hashes else None),
            starts)


def _part_vectors(path, manifest, i):
    """The vectors of part ``i`` of folder ``path``, checked."""
    part = _part_path(path, i)
    return _matrix(_read_part(part, manifest, ["vector"]), part, manifest["dim"])


def vector_folders(vectors):
    """``vectors`` as a list of ``musemood embed`` folders, or ``None`` when it is not a folder or a list of them
    (an array)."""
    if isinstance(vectors, (str, Path)):
        return [Path(vectors)]
    if isinstance(vectors, (list, tuple)) and vectors and all(isinstance(v, (str, Path)) for v in vectors):
        return [Path(v) for v in vectors]
    return None


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
    from ..encoders import BertEncoder, resolve_model

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


def _hash_array(hashes):
    import pyarrow as pa

    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), len(hashes), [None, pa.py_buffer(hashes.tobytes())])


def _hash_column(table, part):
    import pyarrow as pa

    column = table.column("text_hash").combine_chunks()
    if not pa.types.is_fixed_size_binary(column.type) or column.type.byte_width != 16 or column.null_count:
        raise ValueError(f"{part}: its text_hash column is not one 16-byte fingerprint per song; delete it and run "
                         "again")
    return np.frombuffer(column.buffers()[1], dtype="S16", count=len(column), offset=column.offset * 16).copy()


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


def _write_part(out, i, ids, vectors, manifest, hashes=None, *, without_lyrics=None):
    import pyarrow as pa
    import pyarrow.parquet as pq

    dim = vectors.shape[1]
    columns = {"song_id": pa.array(ids, type=pa.string()),
               "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel(), pa.float32()), dim)}
    if manifest["format"] >= 2:
        columns["text_hash"] = _hash_array(hashes)
    table = pa.table(columns)
    meta = {"part": i, "dim": dim, "model": manifest["model"]["sha256"]}
    if without_lyrics is not None:  # its songs embedded as the empty text (EmbedResult.without_lyrics)
        meta["without_lyrics"] = int(without_lyrics)
    table = table.replace_schema_metadata({"musemood.embed": json.dumps(meta)})
    final = _part_path(out, i)
    tmp = final.with_name(final.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, final)  # a part exists whole or not at all


def _count_without_lyrics(out, n_parts):
    """The songs without lyrics of folder ``out``'s ``n_parts`` parts, as their footers record them; ``None``
    when a part does not (one written before musemood counted them)."""
    import pyarrow.parquet as pq

    total = 0
    for i in range(n_parts):
        count = _part_meta(pq.read_schema(_part_path(out, i))).get("without_lyrics")
        if not isinstance(count, int):
            return None
        total += count
    return total


def _part_meta(arrow_schema):
    """What :func:`_write_part` recorded in a part's footer (part number, vector width, model, songs without
    lyrics), as a dict; empty for a file without it."""
    return json.loads((arrow_schema.metadata or {}).get(b"musemood.embed", b"{}"))


def _write_json(path, payload):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    os.replace(tmp, path)


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


def _read_part(part, manifest, columns=None):
    """Part file ``part`` (its ``columns``, else all), checked: whole, of this run's model and format."""
    import pyarrow.parquet as pq

    if not Path(part).exists():
        raise ValueError(f"{part} is missing: the embedding run stopped before the end; run it again to "
                         "finish (written parts are kept)")
    try:
        handle = pq.ParquetFile(part)
        arrow_schema = handle.schema_arrow
        table = handle.read(columns=columns)
    except Exception as exc:  # a truncated or foreign file
        raise ValueError(f"{part} is damaged ({type(exc).__name__}: {exc}); delete it and run again to "
                         "recompute it") from None
    meta = _part_meta(arrow_schema)
    if meta.get("model") != manifest["model"]["sha256"] or arrow_schema.names != _COLUMNS[manifest["format"]]:
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
