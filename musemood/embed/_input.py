"""Reading the songs to embed: a Parquet file or a folder of them, part by part, ids checked first."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _open(source):
    import pyarrow.dataset as ds

    source = Path(source).expanduser()
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist: give a Parquet file or a folder of Parquet files")
    source = source.resolve()
    if source.is_dir():
        from ..datasets import parquet_parts

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
