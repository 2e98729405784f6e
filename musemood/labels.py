"""The k/epsilon rule: mood labels from listeners' tags.

A song takes mood ``M`` when

(a) the most used tag of ``M``'s mood set is among the song's ``k`` most used
    tags of any kind, and
(b) it dominates every other mood set::

        (c_M - c_other) / denominator >= epsilon

    where ``c`` is each set's most used tag count on the song and the
    denominator is the song's tag total (default) or ``c_M``.

Synonyms within a set are swapped, never summed: summing would favour moods
with many synonyms and songs with many tags.  The study that introduced the
rule prints the inequality as ``<= epsilon``, which contradicts "dominates";
musemood implements the dominance reading (see ``docs/labels.md``).

Before the rule, tags used fewer than ``min_tag_count`` times are dropped and
songs left with fewer than ``min_tags`` tags are rejected.  Counts may be raw
(WASABI, Million Song Dataset dumps) or Last.fm API weights (0-100, the song's
top tag being 100); both ratios are scale free, so only the rare-tag filter
depends on the convention.

All functions are pure (no I/O) and work on a whole table at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np
import pandas as pd

from . import schema
from ._validation import check_unique_columns, headerless_hint

#: Rejection reasons, in the order the rule checks them.
TOO_FEW_TAGS = "too_few_tags"
NO_MOOD_TAG = "no_mood_tag"
NOT_IN_TOP_K = "not_in_top_k"
NOT_DOMINANT = "not_dominant"
REASONS = (TOO_FEW_TAGS, NO_MOOD_TAG, NOT_IN_TOP_K, NOT_DOMINANT)

REASON_TEXT = {
    TOO_FEW_TAGS: "fewer than min_tags tags after dropping rare tags",
    NO_MOOD_TAG: "no tag from any mood set",
    NOT_IN_TOP_K: "the leading mood's top tag is not among the song's k most used tags",
    NOT_DOMINANT: "the leading mood does not dominate another mood by epsilon",
}

RAW = "raw"
RELATIVE = "relative"

#: Columns of the table returned by :func:`assign_moods`.
RESULT_COLUMNS = ("label", "candidate", "mood_tag", "margin", "n_tags", "reason")


def assign_moods(
    tags,
    *,
    mood_sets="binary",
    k=5,
    epsilon=0.1,
    denominator="total",
    min_tags=11,
    min_tag_count=3,
    min_tag_weight=1,
    counts="auto",
    show_progress_bar=False,
):
    """Apply the k/epsilon rule to every song.

    Parameters
    ----------
    tags : pandas.Series, pandas.DataFrame or sequence
        One entry per song: a list of ``(tag, count)`` pairs, a list of
        ``{"tag": ..., "count": ...}`` records or a ``{tag: count}`` mapping.
        A DataFrame must have a ``tags`` column.  ``None`` means no tags.
    mood_sets : {"binary", "four"} or mapping of mood -> list of tags
        The mood sets (see :mod:`musemood.schema`).
    k : int, default=5
        Condition (a): the mood's top tag must rank among the song's ``k``
        most used tags.  Tags tied with the k-th count rank within the top k.
    epsilon : float, default=0.1
        Condition (b): the leading mood must beat every other mood by at least
        ``epsilon`` (as a fraction of ``denominator``).
    denominator : {"total", "mood"}, default="total"
        ``"total"`` divides by the song's tag total (after the rare-tag
        filter), ``"mood"`` by the leading mood's top-tag count ``c_M``.
    min_tags : int, default=11
        Songs with fewer tags (after the rare-tag filter) are rejected.
    min_tag_count : float, default=3
        With raw counts, tags applied fewer times are dropped first.
    min_tag_weight : float, default=1
        With Last.fm weights, tags of lower weight are dropped first (weights
        are whole numbers, so weight 0 marks a tag used around 1% as often as
        the top tag, or less).
    counts : {"auto", "raw", "relative"} or sequence of them, default="auto"
        How to read the counts.  ``"auto"`` takes them as Last.fm weights when
        every tagged song's top count is exactly 100 and no count exceeds 100.
        A sequence (or Series aligned with ``tags``) of ``"raw"`` and ``"relative"``
        gives each song's own, for a table whose tags come from several sources
        (a WASABI dump's raw counts and the Last.fm API's weights).  With ``"auto"``,
        a DataFrame with a ``tags_source`` column (a dataset built from a scrape
        store) is read per source: the test is made on each source's songs apart.
    show_progress_bar : bool, default=False
        A bar over the songs as their tags are read (most of the time on a large table: about
        3 s per 100,000 songs, measured).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``tags``, with columns ``label`` (the mood, or ``<NA>``
        when rejected), ``candidate`` (the leading mood, if any), ``mood_tag``
        (the candidate's top tag), ``margin`` (its dominance ratio),
        ``n_tags`` (tags left after the rare-tag filter) and ``reason`` (one
        of :data:`REASONS` for a rejected song, else ``<NA>``).  The count
        convention used is in ``result.attrs["counts"]`` (``"mixed"`` when
        songs were read both ways); ``result.attrs["unused_moods"]`` names the
        mood sets none of whose tags a song has (see :func:`unused_moods`).
    """
    series = _tag_series(tags)
    moods = schema.resolve_mood_sets(mood_sets)
    _check_params(k, epsilon, denominator, min_tags, counts)

    long = explode_tags(series, show_progress_bar=show_progress_bar)
    used = set(long["tag"].unique())  # before the rare-tag filter: the tags the songs have at all
    n_songs = len(series)
    sources = tags[schema.TAGS_SOURCE] if isinstance(tags, pd.DataFrame) and schema.TAGS_SOURCE in tags else None
    relative, scale = _relative_songs(counts, series, long, sources)  # per song: read as Last.fm weights
    over = relative[long["song"].to_numpy()] & (long["count"].to_numpy() > 100)
    if over.any():
        over = long[over].iloc[0]
        raise ValueError(f"counts='relative' reads Last.fm weights (0 to 100), but song {series.index[over['song']]!r} "
                         f"has the count {over['count']:g} for {over['tag']!r}: these look like raw counts; use "
                         "counts='raw' or 'auto' (--counts raw or auto)")
    threshold = np.where(relative, min_tag_weight, min_tag_count)
    long = long[long["count"].to_numpy() >= threshold[long["song"].to_numpy()]]

    song = long["song"].to_numpy()
    n_tags = np.bincount(song, minlength=n_songs)
    total = np.bincount(song, weights=long["count"].to_numpy(), minlength=n_songs)
    mood_names = list(moods)
    c, top_rank, top_tag = _top_mood_tags(long, moods, n_songs)

    leader = np.argmax(c, axis=1)
    everyone = np.arange(n_songs)
    c_lead = c[everyone, leader]
    if len(mood_names) > 1:
        c_second = np.sort(c, axis=1)[:, -2]
    else:  # pragma: no cover - resolve_mood_sets requires two sets
        c_second = np.zeros(n_songs)
    denom = total if denominator == "total" else c_lead
    with np.errstate(divide="ignore", invalid="ignore"):
        margin = np.where(denom > 0, (c_lead - c_second) / denom, np.nan)

    has_mood = c_lead > 0
    reason = np.full(n_songs, None, dtype=object)
    in_top_k = top_rank[everyone, leader] <= k
    dominant = (c_lead > c_second) & (margin >= epsilon - 1e-12)
    # Checked in order; the first failing condition is the reason.
    reason[~dominant] = NOT_DOMINANT
    reason[~in_top_k] = NOT_IN_TOP_K
    reason[~has_mood] = NO_MOOD_TAG
    reason[n_tags < min_tags] = TOO_FEW_TAGS

    names = np.array(mood_names, dtype=object)
    has_candidate = has_mood & (n_tags >= min_tags)
    candidate = np.where(has_candidate, names[leader], None)
    label = np.where(pd.isna(reason), candidate, None)
    text = "string"  # pandas' string dtype: <NA> where there is no value
    result = pd.DataFrame(
        {
            "label": pd.array(label, dtype=text),
            "candidate": pd.array(candidate, dtype=text),
            "mood_tag": pd.array(np.where(has_candidate, top_tag[everyone, leader], None), dtype=text),
            "margin": np.where(has_candidate, margin, np.nan),
            "n_tags": n_tags,
            "reason": pd.array(reason, dtype=text),
        },
        index=series.index,
    )
    result.attrs["counts"] = scale
    result.attrs["moods"] = tuple(mood_names)
    result.attrs["unused_moods"] = unused_moods(moods, used)
    return result


def unused_moods(moods, used):
    """The mood sets none of whose tags is among ``used`` (the tags the songs have, normalised), each with
    the used tags closest to its own: a misspelt tag ("melancholly") leaves its mood without a song.
    ``{mood: (close tags, ...)}``, empty when every set has a tag in use, or when no song has a tag at all
    (then no set is to blame)."""
    from rapidfuzz import fuzz, process

    if not used:
        return {}
    choices = sorted(used)
    out = {}
    for mood, tags in moods.items():
        if not used.intersection(tags):
            close = {match for tag in tags for match, score, _ in
                     process.extract(tag, choices, scorer=fuzz.ratio, limit=3, score_cutoff=70)}
            out[mood] = tuple(sorted(close))
    return out


def _top_mood_tags(long, moods, n_songs):
    """Per song and mood set: the set's most used tag's count, its rank among the song's tags, and the tag.

    Three (n_songs, n_moods) arrays; a set the song has no tag of counts 0 at rank infinity.
    """
    song = long["song"].to_numpy()
    count = long["count"].to_numpy()
    # Rank of each tag within its song, 1 = most used; ties share the best rank.
    rank = long.groupby("song")["count"].rank(method="min", ascending=False).to_numpy()
    mood_names = list(moods)
    tag_to_mood = {tag: i for i, mood in enumerate(mood_names) for tag in moods[mood]}
    mood_index = long["tag"].map(tag_to_mood)
    is_mood = mood_index.notna().to_numpy()
    mood_rows = pd.DataFrame(
        {
            "song": song[is_mood],
            "mood": mood_index[is_mood].astype(np.int64).to_numpy(),
            "tag": long["tag"].to_numpy()[is_mood],
            "count": count[is_mood],
            "rank": rank[is_mood],
        }
    )
    # Each set's single most used tag per song (ties broken by tag name).
    top = mood_rows.sort_values(["song", "mood", "count", "tag"], ascending=[True, True, False, True])
    top = top.drop_duplicates(["song", "mood"])
    c = np.zeros((n_songs, len(mood_names)))
    top_rank = np.full((n_songs, len(mood_names)), np.inf)
    top_tag = np.full((n_songs, len(mood_names)), None, dtype=object)
    rows, cols = top["song"].to_numpy(), top["mood"].to_numpy()
    c[rows, cols] = top["count"].to_numpy()
    top_rank[rows, cols] = top["rank"].to_numpy()
    top_tag[rows, cols] = top["tag"].to_numpy()
    return c, top_rank, top_tag


def label_songs(df, **params):
    """Return a copy of ``df`` with the rule's ``label`` and ``label_reason`` columns.

    ``params`` are those of :func:`assign_moods`.  ``label_reason`` is ``<NA>``
    for a labelled song and one of :data:`REASONS` for a rejected one.
    """
    return attach_labels(df, assign_moods(df, **params))


def attach_labels(df, result, *, split=False, random_state=0):
    """A copy of ``df`` with ``label`` and ``label_reason`` from an :func:`assign_moods` result.

    The one labelling path of musemood (the demo, ``musemood label``, ``build-dataset``).
    With ``split=True`` a frame without a ``split`` column also gets one, by
    :func:`musemood.datasets.assign_splits` over all its songs (labelled or not, copies of
    a song kept together), so every path splits by the same rule before any filtering
    (the demo corpus comes with its splits).
    """
    if len(result) != len(df) or not result.index.equals(df.index):
        raise ValueError(f"the label result has {len(result)} songs for a table of {len(df)} (or another index): "
                         "pass the result of assign_moods on this same table")
    out = df.copy()
    out[schema.LABEL] = result["label"]
    out[schema.LABEL_REASON] = result["reason"]
    if split and schema.SPLIT not in out.columns:
        from .datasets import assign_splits

        out[schema.SPLIT] = assign_splits(out, random_state=random_state) if len(out) else pd.Series(dtype=object)
    out.attrs.update(result.attrs)
    return out


def summarize(result):
    """Count labels and rejections in the output of :func:`assign_moods`.

    Returns a dict with ``n_songs``, ``labelled`` (``{mood: count}`` over all
    moods, zeros included), ``rejected`` (``{reason: count}`` over every
    reason), ``counts`` (the count convention used) and ``unused_moods`` (the
    mood sets whose tags no song has, with the closest tags the songs have).
    """
    moods = result.attrs.get("moods") or tuple(sorted(result["label"].dropna().unique()))
    labelled = result["label"].value_counts()
    rejected = result["reason"].value_counts()
    return {
        "n_songs": len(result),
        "labelled": {m: int(labelled.get(m, 0)) for m in moods},
        "rejected": {r: int(rejected.get(r, 0)) for r in REASONS},
        "counts": result.attrs.get("counts"),
        "unused_moods": dict(result.attrs.get("unused_moods", {})),
    }


def explode_tags(tags, *, show_progress_bar=False):
    """Flatten per-song tag lists into a long table ``song, tag, count``.

    ``song`` is the song's position (0..n-1).  Tags are normalised with
    :func:`musemood.schema.normalize_tag`; a tag listed twice on one song keeps
    its highest count.  Raises ``ValueError`` on a negative or non-numeric count,
    naming the song.
    """
    from tqdm.auto import tqdm

    series = _tag_series(tags)
    entries = tqdm(series, desc="Reading tags", unit="song", disable=not show_progress_bar, dynamic_ncols=True,
                   mininterval=0.5)
    pairs = [_pairs(entry, pos, series.index[pos]) for pos, entry in enumerate(entries)]
    lengths = np.fromiter((len(p) for p in pairs), dtype=np.int64, count=len(pairs))
    flat = list(itertools.chain.from_iterable(pairs))
    song = np.repeat(np.arange(len(pairs), dtype=np.int64), lengths)
    # two comprehensions, not zip(*flat): unpacking millions of pairs as arguments took 5 s at 100k songs
    tag_col = [tag for tag, _ in flat]
    count_col = np.fromiter((count for _, count in flat), dtype=float, count=len(flat))
    folded = {tag: schema.normalize_tag(tag) for tag in set(tag_col)}  # a few thousand tags, each used often
    long = pd.DataFrame({"song": song, "tag": [folded[t] for t in tag_col], "count": count_col})
    bad = ~np.isfinite(long["count"].to_numpy()) | (long["count"].to_numpy() < 0)
    if bad.any():
        pos = int(long["song"].to_numpy()[bad][0])
        raise ValueError(
            f"song at index {series.index[pos]!r} has a negative or missing tag count; "
            "counts must be numbers >= 0 (raw counts or Last.fm weights 0-100)"
        )
    long = long.sort_values(["song", "count"], ascending=[True, False], kind="stable")
    return long.drop_duplicates(["song", "tag"]).reset_index(drop=True)


def detect_count_scale(long):
    """Return ``"relative"`` for Last.fm-style weights, else ``"raw"``.

    ``long`` is the output of :func:`explode_tags`.  Weights are recognised
    when every tagged song's top count is exactly 100 and none exceeds 100.
    """
    return scale_of_top_counts(long.groupby("song")["count"].max().to_numpy())


#: Each count convention in words (``result.attrs["counts"]`` of :func:`assign_moods`).
COUNT_CONVENTIONS = {RAW: "raw counts", RELATIVE: "Last.fm weights (top tag 100)",
                     "mixed": "each tag source's own (raw counts and Last.fm weights)"}


def conventions_by_source(sources, tops):
    """How to read each song's tag counts when they come from several sources: ``counts="auto"``'s test
    made on each source's songs apart (the Last.fm API gives weights, a WASABI dump raw counts).

    ``sources`` holds each song's source (missing: a source of its own), ``tops`` each song's highest
    count (NaN or None without tags).  One name when every source reads alike, else a list with each
    song's.
    """
    keys = ["" if pd.isna(s) else str(s) for s in sources]
    by_source = {}
    for key, top in zip(keys, tops):
        if top is not None and not pd.isna(top):
            by_source.setdefault(key, []).append(top)
    read = {key: scale_of_top_counts(source_tops) for key, source_tops in by_source.items()}
    if len(set(read.values())) <= 1:  # a song without tags reads either way
        return next(iter(read.values()), RAW)
    return [read.get(key, RAW) for key in keys]


def scale_of_top_counts(tops):
    """``"relative"`` when there is a top count and every one is exactly 100 (each tagged song's
    highest count: Last.fm weights), else ``"raw"``."""
    tops = np.asarray(tops)
    return RELATIVE if len(tops) and np.all(tops == 100) else RAW


def _pairs(entry, pos, label):
    if entry is None or (isinstance(entry, float) and np.isnan(entry)):
        return []
    if isinstance(entry, (str, bytes, int, float, np.number, bool)):
        raise ValueError(
            f"song at index {label!r} has tags {entry!r}: tags must be a list of (tag, count) pairs, "
            "{tag: count} or [{'tag': ..., 'count': ...}] (a CSV cell may hold them as JSON)"
        )
    out = []  # (tag, count) made in the same pass that reads each entry: a second pass took a tenth of the time
    for item in entry.items() if isinstance(entry, Mapping) else entry:
        kind = type(item)
        if (kind is tuple or kind is list) and len(item) == 2:  # the common case, without ABC checks
            tag, count = item[0], item[1]
        elif isinstance(item, Mapping) and {"tag", "count"} <= set(item):
            tag, count = item["tag"], item["count"]
        elif not isinstance(item, (str, bytes, Mapping)) and _is_pair(item):
            tag, count = item
        else:
            raise ValueError(
                f"song at index {label!r} has a tag entry {item!r} that is not a (tag, count) pair "
                "or a {'tag': ..., 'count': ...} record"
            )
        try:
            out.append((str(tag), float(count)))
        except (TypeError, ValueError):
            raise ValueError(
                f"song at index {label!r} has a tag count that is not a number: tag {tag!r}, count {count!r}"
            ) from None
    return out


def _is_pair(item):
    try:
        return len(item) == 2
    except TypeError:
        return False


def _tag_series(tags):
    if isinstance(tags, pd.DataFrame):
        if schema.TAGS not in tags.columns:
            raise KeyError(
                f"the table has no {schema.TAGS!r} column; columns are {list(tags.columns)}. "
                f"{headerless_hint(tags.columns)}".rstrip()
            )
        check_unique_columns(tags, [schema.TAGS], "the table")
        return tags[schema.TAGS]
    if isinstance(tags, pd.Series):
        return tags
    return pd.Series(list(tags), dtype=object)


def _relative_songs(counts, series, long, sources=None):
    """Which songs' counts are Last.fm weights, a boolean array (``counts`` for all, detected on the
    whole table with ``"auto"``, or on each of ``sources``' songs apart, or given per song), and the
    name of the convention read."""
    if isinstance(counts, str) and counts == "auto" and sources is not None:
        tops = long.groupby("song")["count"].max().reindex(range(len(series))).to_numpy()
        counts = conventions_by_source(sources.to_numpy(), tops)
    if isinstance(counts, str):
        scale = detect_count_scale(long) if counts == "auto" else counts
        return np.full(len(series), scale == RELATIVE), scale
    per_song = counts.reindex(series.index) if isinstance(counts, pd.Series) else pd.Series(list(counts))
    if len(per_song) != len(series):
        raise ValueError(f"counts gives {len(per_song)} conventions for {len(series)} songs: give one per song")
    wrong = ~per_song.isin([RAW, RELATIVE]).to_numpy()
    if wrong.any():
        position = int(np.flatnonzero(wrong)[0])
        raise ValueError(f"counts for song {series.index[position]!r} is {per_song.iloc[position]!r}: each song's "
                         "convention is 'raw' or 'relative'")
    relative = (per_song == RELATIVE).to_numpy()
    return relative, (RELATIVE if relative.all() else RAW if not relative.any() else "mixed") if len(relative) else RAW


def _check_params(k, epsilon, denominator, min_tags, counts):
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if not 0 <= epsilon <= 1:
        raise ValueError(f"epsilon must be between 0 and 1, got {epsilon!r}")
    if denominator not in ("total", "mood"):
        raise ValueError(f"denominator must be 'total' or 'mood', got {denominator!r}")
    if min_tags < 0:
        raise ValueError(f"min_tags must be >= 0, got {min_tags!r}")
    if isinstance(counts, str) and counts not in ("auto", RAW, RELATIVE):
        raise ValueError(f"counts must be 'auto', 'raw' or 'relative', got {counts!r}")
    if not isinstance(counts, str) and not isinstance(counts, (pd.Series, np.ndarray, list, tuple)):
        raise ValueError(f"counts must be 'auto', 'raw', 'relative' or one of those per song, got {counts!r}")
