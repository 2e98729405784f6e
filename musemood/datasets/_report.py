"""Every problem of a dataset at once: what training, labelling and the recommender would each stop at
(or quietly get wrong), found in one pass instead of one error per run."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import schema
from .._validation import MISSING_IN_WORDS, row_of

OK, WARNING, ERROR = "ok", "warning", "error"
#: Column names that likely hold the song ids under another name (lower case, spaces as underscores).
ID_LIKE = ("id", "songid", "track_id", "trackid", "song", "wasabi_id", "_id")


def dataset_report(df, *, text_column=schema.LYRICS, label_column=schema.LABEL, show_progress_bar=False):
    """What would stop or mislead musemood in ``df``, all at once.

    Returns a list of ``(level, topic, message)``: ``level`` is ``"error"`` where training, labelling or
    the recommender refuses the table as it is, ``"warning"`` where it runs but likely not as meant,
    ``"ok"`` for what was checked and found fine.  Topics: text, labels, song ids, titles, split, audio, tags.
    ``show_progress_bar`` shows the two long steps of a large table (about 45 s a million songs each here):
    cleaning every lyric, and reading the tags with the label rule.
    """
    findings = []

    def add(level, topic, message):
        findings.append((level, topic, message))

    _texts(df, text_column, add, show_progress_bar)
    _labels(df, label_column, add)
    _song_ids(df, add)
    _titles(df, add)
    _split(df, add)
    _audio(df, add)
    _tags(df, add, show_progress_bar)
    return findings


def _split(df, add):
    if schema.SPLIT not in df.columns:
        return
    counts = df[schema.SPLIT].dropna().astype(str).value_counts()
    other = counts[~counts.index.isin(schema.SPLITS)]
    if len(other):
        shown = ", ".join(f"{value!r} ({_many(int(n), 'song', 'songs')})" for value, n in other.head(5).items())
        add(WARNING, "split", f"{schema.SPLIT!r} holds values other than {', '.join(schema.SPLITS[:-1])} and "
                              f"{schema.SPLITS[-1]}: {shown}; train and tune hold out only the 'valid' and 'test' "
                              "songs, and the recommender tunes on the 'valid' ones and evaluates on the 'test' ones "
                              "(else on random halves): rename them")
    elif len(counts):
        shown = ", ".join(f"{int(counts.get(name, 0)):,} {name}" for name in schema.SPLITS)
        add(OK, "split", f"{shown}: train and tune learn from the 'train' songs (--all-splits: from all), evaluate "
                         "scores the others, and the recommender tunes on the 'valid' songs and evaluates on the "
                         "'test' ones")


def _texts(df, column, add, show_progress_bar=False):
    if column not in df.columns:
        add(ERROR, "text", f"no column {column!r} (columns: {list(df.columns)}); name the lyrics column with "
                           "--text-column (text_column=)")
        return
    texts = df[column]
    empty = texts.isna() | texts.astype(str).str.strip().eq("")
    if empty.any():
        add(ERROR, "text", f"{_of(int(empty.sum()), len(df), 'has')} no text in {column!r}, the first at "
                           f"{row_of(df, empty)}; "
                           "training and the recommender refuse them: fill them, or leave them out with --drop-missing")
    else:
        add(OK, "text", f"every song has a text in {column!r}")
    from tqdm.auto import tqdm

    from ..text import is_instrumental

    bar = tqdm(texts, desc="Reading lyrics", unit="song", disable=not show_progress_bar, dynamic_ncols=True,
               mininterval=0.5)
    wordless = ~empty.to_numpy() & np.fromiter(
        (isinstance(text, str) and is_instrumental(text) for text in bar), dtype=bool, count=len(texts))
    if wordless.any():  # "[Instrumental]": a text, which training takes, but no words for the models
        add(WARNING, "text", f"{_of(int(wordless.sum()), len(df), 'has')} no words once their lyrics are "
                             f"cleaned (the first at {row_of(df, wordless)}: {texts[wordless].iloc[0]!r}): the models "
                             "read them as empty texts and the recommender refuses them (musemood map "
                             "--drop-missing leaves them out); leave them out, or give their lyrics")


def _labels(df, column, add):
    from .._validation import check_label_variants, imbalance_note, looks_like_regression, rule_rejected

    if column not in df.columns:
        add(WARNING, "labels", f"no column {column!r}: training needs one (--label-column), `musemood label` "
                               "makes one from the tags")
        return
    labels = df[column]
    missing = labels.isna()
    if missing.all():
        add(ERROR, "labels", f"{column!r} holds no label; `musemood label` makes them from the tags")
        return
    rejected = rule_rejected(df, column)
    if rejected is not None and rejected.any():  # as `musemood label --out` writes them
        add(OK, "labels", f"{_of(int(rejected.sum()), len(df), 'was')} not labelled by the k/epsilon rule "
                          f"({schema.LABEL_REASON!r} says why): training and evaluation leave them out")
        missing = missing & ~rejected
    if missing.any():
        add(ERROR, "labels", f"{_of(int(missing.sum()), len(df), 'has')} no label in {column!r} "
                             f"({MISSING_IN_WORDS}), the first at {row_of(df, missing)}; "
                             "training refuses them: leave them out with --drop-missing")
    try:
        check_label_variants(labels, f"{column!r}")
    except ValueError as exc:
        add(ERROR, "labels", str(exc))
    labels = labels.dropna()
    counts = labels.value_counts()
    if looks_like_regression(labels):  # as fit decides
        add(OK, "labels", f"{counts.size} different numbers in {column!r}: a regression target "
                          "(--objective regression)")
        return
    shown = ", ".join(f"{label} {n}" for label, n in counts.head(10).items())
    add(OK if counts.size >= 2 else ERROR, "labels",
        f"{counts.size} classes: {shown}{' ...' if counts.size > 10 else ''}"
        + ("" if counts.size >= 2 else "; a classifier needs two or more"))
    note = imbalance_note(labels) if counts.size >= 2 else None
    if note:
        add(WARNING, "labels", note)
    single = counts[counts < 2]
    if len(single):
        add(ERROR, "labels", f"classes with a single song, which cannot be split into training and test songs: "
                             f"{', '.join(map(repr, single.index[:5]))}; give each at least 2 or drop them")


def _song_ids(df, add):
    if schema.SONG_ID not in df.columns:
        like = [str(c) for c in df.columns if str(c).lower().replace(" ", "_") in ID_LIKE]
        add(WARNING, "song ids", f"no {schema.SONG_ID!r} column: the recommender and the map name songs by it"
                                 + (f"; rename {like[0]!r} to {schema.SONG_ID!r} if it holds them" if like else ""))
        return
    twice = df[schema.SONG_ID].duplicated(keep=False) & df[schema.SONG_ID].notna()
    if twice.any():
        ids = list(dict.fromkeys(df.loc[twice, schema.SONG_ID]))
        shown = ", ".join(map(repr, ids[:5])) + (" ..." if len(ids) > 5 else "")
        add(ERROR, "song ids", f"{_many(len(ids), 'id is', 'ids are')} given to more than one row ({shown}); "
                               "the recommender refuses a song twice: "
                               "drop the copies or give them ids of their own")
    else:
        add(OK, "song ids", f"{_many(len(df), 'song', 'songs')}, each id once")


def _titles(df, add):
    from ..text import normalize_title

    absent = [column for column in (schema.TITLE, schema.ARTIST) if column not in df.columns]
    if absent:
        add(WARNING, "titles", f"no {' or '.join(map(repr, absent))} column: the recommender and the map (`musemood "
                               "map`) find songs by title and artist; training does not need them")
        return
    titles = df[schema.TITLE].astype(object).map(normalize_title)  # a category column maps to a category
    untitled = (titles == "").to_numpy()
    if untitled.any():
        add(WARNING, "titles", f"{_many(int(untitled.sum()), 'song has', 'songs have')} no title (the first at "
                               f"{row_of(df, untitled)}): the recommender recommends them but cannot find them by "
                               "name")
    unnamed = int(df[schema.ARTIST].isna().sum())
    if unnamed:
        add(OK, "titles", f"{_many(unnamed, 'song has', 'songs have')} no artist: named by the title alone")
    keys = (titles + "\0" + df[schema.ARTIST].astype(object).map(normalize_title))[~untitled]
    copies = int(keys.duplicated().sum())
    if copies:
        add(OK, "titles", f"{_many(copies, 'song is', 'songs are')} another's copy by title and artist (a "
                          "re-release, a live version): a song's recommendations leave its copies out")


def _audio(df, add):
    present = [f for f in schema.AUDIO_FEATURES if f in df.columns]
    if not present:
        add(WARNING, "audio", "no audio-feature column: tBERT then trains on the lyrics and topics "
                              "(audio_columns=None)")
        return
    absent = [f for f in schema.AUDIO_FEATURES if f not in df.columns]
    if absent:
        add(WARNING, "audio", f"audio features {absent} are absent: name them as the schema does, or train "
                              f"with audio_columns={present}")
    problems = 0
    for feature in present:
        values = pd.to_numeric(df[feature], errors="coerce")
        text = values.isna() & df[feature].notna()
        if text.any():
            problems += 1
            many = _many(int(text.sum()), "value that is not a number", "values that are not numbers")
            add(ERROR, "audio", f"{feature!r} holds {many}, the first {df[feature][text].iloc[0]!r} at "
                                f"{row_of(df, text)}; fix or empty them")
        low, high = schema.AUDIO_FEATURE_RANGES[feature]
        low = -1 if feature == schema.KEY else low  # Spotify's key -1: no key detected
        outside = (values < low) | (values > high)
        if outside.any():
            problems += 1
            add(WARNING, "audio", f"{feature!r} has {_many(int(outside.sum()), 'value', 'values')} outside {low:g} "
                                  f"to {high:g}, "
                                  f"the first {values[outside].iloc[0]:g} at {row_of(df, outside)}: another scale?")
    missing = int(df[present].isna().all(axis=1).sum())
    if not problems:
        none = f"; {_many(missing, 'song has', 'songs have')} none (the models impute them)" if missing else ""
        add(OK, "audio", f"{len(present)} audio features, numbers in their ranges{none}")


def _tags(df, add, show_progress_bar=False):
    from ..labels import COUNT_CONVENTIONS, assign_moods
    from . import read_tag_cells

    if schema.TAGS not in df.columns:
        add(OK, "tags", "no tags column: nothing for `musemood label`")
        return
    tags, problems = read_tag_cells(df[schema.TAGS], show_progress_bar=show_progress_bar)
    if problems:
        bad = np.zeros(len(df), dtype=bool)
        bad[[position for position, _ in problems]] = True
        add(ERROR, "tags", f"{_of(len(problems), len(df), 'has')} tags that cannot be read, the first at "
                           f"{row_of(df, bad)}: {problems[0][1]}")
    try:
        result = assign_moods(df.assign(**{schema.TAGS: tags}),  # the others' labels all the same
                              show_progress_bar=show_progress_bar)
    except (ValueError, TypeError) as exc:
        add(ERROR, "tags", str(exc))
        return
    tagged = int((result["n_tags"] > 0).sum())
    add(OK, "tags", f"{_many(tagged, 'song has', 'songs have')} tags (after the rare-tag filter), read as "
                    f"{COUNT_CONVENTIONS[result.attrs['counts']]}; the k/epsilon rule (its defaults) labels "
                    f"{int(result['label'].notna().sum())}")


def _many(n, one, many):
    """``1 id is``, ``3 ids are``: ``n`` and the words that go with it."""
    return f"{n:,} {one if n == 1 else many}"


def _of(n, total, verb):
    """``1 of 2,000 songs has``, ``3 of 2,000 songs have`` (``verb``: "has" or "was")."""
    return f"{n:,} of {total:,} songs {verb if n == 1 else {'has': 'have', 'was': 'were'}[verb]}"
