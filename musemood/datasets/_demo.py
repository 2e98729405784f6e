"""Generator of the embedded demo corpus (CC0; see docs/demo-corpus.md).

Each song has a latent mood (happy, sad, calm, energetic) and a theme (love,
loss, night, road, home, party, faith).  The mood shapes three things
separately, each with its own noise, as in real data:

* lyrics: a per-song share of mood-coloured lines (some songs say little about
  their mood, some sing against it), the rest themed or generic lines;
* tags: crowd tags with Zipf-like counts, where listeners agree with the
  latent mood most of the time but not always, with genre and noise tags,
  neighbouring and opposing mood tags, and songs with too few tags;
* audio features: mood-conditional, overlapping distributions in Spotify's
  ranges, with some songs missing them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .. import schema
from . import _phrases as P

MOOD_PRIOR = np.array([0.32, 0.32, 0.18, 0.18])  # happy, sad, calm, energetic
# Listeners who tag a song with another mood than the one its lyrics carry.
TAG_DISAGREEMENT = 0.12
# Mood-coloured share of a song's lines ~ Beta(a, b): mean 0.33, wide spread.
CUE_SHARE = (1.3, 2.7)
# Share of lines taken from a contrasting mood.
CONTRAST_SHARE = 0.12
NEIGHBOUR = {"happy": "energetic", "energetic": "happy", "sad": "calm", "calm": "sad"}
OPPOSITE = {"happy": "sad", "sad": "happy", "calm": "energetic", "energetic": "calm"}

# (a, b) of Beta distributions, or (mean, sd) of normals, per mood.
AUDIO_PARAMS = {
    "happy": dict(valence=(4, 2.8), energy=(4, 2.5), danceability=(5, 3), acousticness=(1.5, 4),
                  mode=0.75, tempo=(122, 22), loudness=(-6.5, 2.5)),
    "sad": dict(valence=(2.5, 4), energy=(2.2, 3.5), danceability=(3, 4), acousticness=(2.5, 2.5),
                mode=0.5, tempo=(105, 25), loudness=(-9.5, 3.5)),
    "calm": dict(valence=(3, 3.5), energy=(1.6, 4.5), danceability=(3, 4), acousticness=(4, 2),
                 mode=0.6, tempo=(98, 20), loudness=(-12, 4)),
    "energetic": dict(valence=(3.5, 2.5), energy=(6, 1.8), danceability=(4.5, 2.5),
                      acousticness=(1, 6), mode=0.6, tempo=(132, 22), loudness=(-5, 2)),
}
MISSING_AUDIO_SHARE = 0.05  # songs with no audio features at all (no Spotify match)
MISSING_FEATURE_SHARE = 0.01  # songs missing a single feature
DUPLICATE_SHARE = 0.03  # songs re-released on a second album
TOO_FEW_TAGS_SHARE = 0.10
#: Columns of the generator's hidden truth, kept for evaluation.
LATENT_MOOD = "latent_mood"
THEME = "theme"


def generate(n_songs, random_state, tag_counts="raw", show_progress_bar=False):
    rng = np.random.default_rng(random_state)
    n_original = n_songs - int(round(n_songs * DUPLICATE_SHARE))
    artists = _make_artists(rng, max(4, n_original // 8))
    moods = np.array(P.MOODS)
    rows = []
    used_titles = set()
    songs = tqdm(range(n_original), desc="Generating songs", unit="song", disable=not show_progress_bar)
    for _ in songs:
        artist = artists[rng.integers(len(artists))]
        mood = moods[rng.choice(4, p=artist["mood_pref"])]
        theme = P.THEMES[rng.choice(len(P.THEMES), p=artist["theme_pref"])]
        lyrics, hook = _make_lyrics(rng, mood, theme)
        title = _make_title(rng, theme, hook, artist["name"], used_titles)
        tag_mood = mood if rng.random() > TAG_DISAGREEMENT else _other_mood(rng, mood)
        row = {
            schema.TITLE: title,
            schema.ARTIST: artist["name"],
            schema.ALBUM: artist["albums"][rng.integers(len(artist["albums"]))],
            schema.LYRICS: lyrics,
            schema.TAGS: _make_tags(rng, tag_mood, tag_counts),
            LATENT_MOOD: mood,
            THEME: theme,
        }
        row.update(_make_audio(rng, mood))
        rows.append(row)
    for _ in range(n_songs - n_original):
        rows.append(_rerelease(rng, rows[rng.integers(n_original)]))
    order = rng.permutation(len(rows))
    df = pd.DataFrame([rows[i] for i in order])
    df.insert(0, schema.SONG_ID, [f"demo-{i:05d}" for i in range(len(df))])
    _blank_audio(rng, df)
    return df


#: Artist names drawn in a row that were all taken before a name takes a numeral ("... II"): the three name
#: forms give 1,220 names, fewer than a corpus of 10,000 songs needs (one artist per 8 songs).  Below about
#: 8,000 songs a run of 100 is practically never reached, so those corpora are as they always were.
MAX_NAME_DRAWS = 100
NUMERALS = ("II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


def _make_artists(rng, n):
    names, artists, streak = set(), [], 0
    while len(artists) < n:
        form = rng.integers(3)
        if form == 0:
            name = f"The {_pick(rng, P.TITLE_WORDS).title()} {_pick(rng, P.ARTIST_NOUNS).title()}"
        elif form == 1:
            name = f"{_pick(rng, P.FIRST_NAMES)} {_pick(rng, P.LAST_NAMES)}"
        else:
            name = f"{_pick(rng, P.FIRST_NAMES)} and the {_pick(rng, P.ARTIST_NOUNS).title()}"
        if name in names:
            streak += 1
            if streak < MAX_NAME_DRAWS:
                continue
            name = next((f"{name} {r}" for r in NUMERALS if f"{name} {r}" not in names),
                        f"{name} {len(names)}")  # past X: a number, still unique
        streak = 0
        names.add(name)
        n_albums = int(rng.integers(1, 4))
        albums = tuple(dict.fromkeys(_pick(rng, P.ALBUM_WORDS) for _ in range(n_albums)))
        artists.append(
            {
                "name": name,
                "albums": albums,
                "mood_pref": rng.dirichlet(MOOD_PRIOR * 6),
                "theme_pref": rng.dirichlet(np.full(len(P.THEMES), 0.8)),
            }
        )
    return artists


def _make_lyrics(rng, mood, theme):
    cue = rng.beta(*CUE_SHARE)

    def line():
        u = rng.random()
        if u < cue:
            return _mood_line(rng, mood, theme)
        if u < cue + CONTRAST_SHARE:
            return _mood_line(rng, _other_mood(rng, mood), theme)
        v = rng.random()
        if v < 0.55:
            return _pick(rng, P.NEUTRAL[theme])
        if v < 0.7:
            return _pick(rng, P.NEUTRAL[_pick(rng, P.THEMES)])
        return _pick(rng, P.GENERIC)

    chorus = [line() for _ in range(int(rng.integers(2, 5)))]
    if rng.random() < 0.5:
        chorus.insert(int(rng.integers(len(chorus) + 1)), _pick(rng, P.FILLERS))
    verses = [[line() for _ in range(int(rng.integers(3, 7)))] for _ in range(int(rng.integers(2, 4)))]
    sections = []
    for n, verse in enumerate(verses, start=1):
        sections.append((f"[Verse {n}]", verse))
        sections.append(("[Chorus]", chorus))
    if rng.random() < 0.4:
        sections.insert(-1, ("[Bridge]", [line() for _ in range(int(rng.integers(2, 4)))]))
    if rng.random() < 0.3:
        sections.append(("[Outro]", [chorus[0], chorus[0]]))
    text = _render(sections)
    # Keep every song within 80-300 words: add a verse or drop the last section.
    while _words(text) < 80:
        sections.insert(-1, (f"[Verse {len(verses) + 1}]", [line() for _ in range(4)]))
        verses.append(None)
        text = _render(sections)
    while _words(text) > 300:
        sections.pop()
        text = _render(sections)
    return text, chorus[0] if chorus[0] not in P.FILLERS else chorus[-1]


def _mood_line(rng, mood, theme):
    if rng.random() < 0.65:
        return _pick(rng, P.THEMED[(theme, mood)])
    return _pick(rng, P.TEMPLATES[mood]).format(noun=_pick(rng, P.THEME_NOUNS[theme]))


def _render(sections):
    return "\n\n".join(header + "\n" + "\n".join(_capitalise(x) for x in lines) for header, lines in sections)


def _make_title(rng, theme, hook, artist, used):
    for _ in range(20):
        u = rng.random()
        if u < 0.3:
            words = hook.split()
            title = " ".join(words[: int(rng.integers(2, min(5, len(words)) + 1))]).title()
        elif u < 0.7:
            title = f"{_pick(rng, P.TITLE_WORDS)} {_pick(rng, P.THEME_NOUNS[theme])}".title()
        else:
            title = f"{_pick(rng, P.TITLE_WORDS)} {_pick(rng, P.ARTIST_NOUNS)}".title()
        if (title, artist) not in used:
            used.add((title, artist))
            return title
    return title  # pragma: no cover - a rare repeated title is allowed


def _make_tags(rng, mood, tag_counts):
    """Crowd tags with Zipf-like counts, ordered by count."""
    few = rng.random() < TOO_FEW_TAGS_SHARE
    n = int(rng.integers(3, 11)) if few else int(rng.integers(12, 41))
    tags = list(rng.choice(P.NOISE_TAGS, size=min(n, len(P.NOISE_TAGS)), replace=False))
    genres = list(rng.choice(P.GENRE_TAGS, size=int(rng.integers(1, 4)), replace=False))
    for g in genres:
        tags.insert(int(rng.integers(0, min(6, len(tags) + 1))), g)
    # The listeners' mood: 1-3 synonyms, the first placed near the top.
    synonyms = list(rng.choice(_mood_tags(mood), size=int(rng.integers(1, 4)), replace=False))
    rank = int(rng.choice(8, p=[0.45, 0.25, 0.12, 0.07, 0.05, 0.03, 0.02, 0.01]))
    tags.insert(rank, synonyms[0])
    for s in synonyms[1:]:
        tags.insert(rank + int(rng.integers(1, 12)), s)
    if rng.random() < 0.45:  # a neighbouring mood, lower down
        tags.insert(rank + int(rng.integers(1, 10)), _pick(rng, _mood_tags(NEIGHBOUR[mood])))
    if rng.random() < 0.12:  # an opposing mood close behind: an ambiguous song
        tags.insert(rank + int(rng.integers(1, 3)), _pick(rng, _mood_tags(OPPOSITE[mood])))
    tags = list(dict.fromkeys(tags))[: n if few else n + 4]
    top = np.exp(rng.normal(5.3, 0.9))  # the top tag's raw count, ~200 (30-1200)
    alpha = rng.uniform(0.8, 1.4)
    counts = top * np.arange(1, len(tags) + 1) ** -alpha * np.exp(rng.normal(0, 0.15, len(tags)))
    counts = np.maximum(np.sort(counts)[::-1].round(), 1).astype(int)
    if tag_counts == "lastfm":
        counts = np.round(100 * counts / counts[0]).astype(int)
    return [(str(t), int(c)) for t, c in zip(tags, counts)]


def _make_audio(rng, mood):
    p = AUDIO_PARAMS[mood]
    return {
        schema.ACOUSTICNESS: round(rng.beta(*p["acousticness"]), 4),
        schema.DANCEABILITY: round(rng.beta(*p["danceability"]), 3),
        schema.ENERGY: round(rng.beta(*p["energy"]), 3),
        schema.INSTRUMENTALNESS: round(
            rng.beta(0.3, 30) if rng.random() < 0.8 else rng.beta(0.8, 3), 6
        ),
        schema.KEY: float(rng.integers(12)),
        schema.LIVENESS: round(rng.beta(2, 9), 4),
        schema.LOUDNESS: round(float(np.clip(rng.normal(*p["loudness"]), -40, 0)), 3),
        schema.MODE: float(rng.random() < p["mode"]),
        schema.SPEECHINESS: round(rng.beta(1.6, 25), 4),
        schema.TEMPO: round(float(np.clip(rng.normal(*p["tempo"]), 50, 220)), 3),
        schema.TIME_SIGNATURE: float(rng.choice([3, 4, 5], p=[0.08, 0.9, 0.02])),
        schema.VALENCE: round(rng.beta(*p["valence"]), 3),
    }


def _rerelease(rng, row):
    """The same recording on a compilation or live album (a duplicate to drop)."""
    copy = dict(row)
    copy[schema.TAGS] = list(row[schema.TAGS])
    album = _pick(rng, P.RERELEASES)
    copy[schema.ALBUM] = album
    jitter = {f: row[f] for f in schema.AUDIO_FEATURES}
    for f in (schema.ENERGY, schema.DANCEABILITY, schema.VALENCE):
        jitter[f] = round(float(np.clip(row[f] + rng.normal(0, 0.02), 0, 1)), 3)
    if album.startswith("Live"):
        jitter[schema.LIVENESS] = round(rng.uniform(0.7, 0.95), 4)
    copy.update(jitter)
    return copy


def _blank_audio(rng, df):
    n = len(df)
    missing = rng.random(n) < MISSING_AUDIO_SHARE
    df.loc[missing, list(schema.AUDIO_FEATURES)] = np.nan
    one = (rng.random(n) < MISSING_FEATURE_SHARE) & ~missing
    for i in np.flatnonzero(one):
        df.iat[i, df.columns.get_loc(_pick(rng, schema.AUDIO_FEATURES))] = np.nan


def _mood_tags(mood):
    return schema.FOUR_MOODS[mood]


def _other_mood(rng, mood):
    return _pick(rng, [m for m in P.MOODS if m != mood])


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def _capitalise(line):
    return line[:1].upper() + line[1:]


def _words(text):
    return sum(len(line.split()) for line in text.split("\n") if not line.startswith("["))
