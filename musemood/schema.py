"""Column names, audio features and mood sets shared by every musemood module.

Every other module refers to these names instead of string literals, so a
dataset that follows this schema works everywhere in the library.  A dataset is
a :class:`pandas.DataFrame` with one row per song, saved as Parquet with
:func:`musemood.datasets.save_dataset`.
"""

from __future__ import annotations

from types import MappingProxyType

# --- identity and text -------------------------------------------------------
SONG_ID = "song_id"
TITLE = "title"
ARTIST = "artist"
ALBUM = "album"  # optional
LYRICS = "lyrics"

# --- crowd tags: a list of (tag, count) pairs per song ------------------------
TAGS = "tags"

# --- the 12 Spotify audio features, in Spotify's alphabetical order ----------
ACOUSTICNESS = "acousticness"
DANCEABILITY = "danceability"
ENERGY = "energy"
INSTRUMENTALNESS = "instrumentalness"
KEY = "key"
LIVENESS = "liveness"
LOUDNESS = "loudness"
MODE = "mode"
SPEECHINESS = "speechiness"
TEMPO = "tempo"
TIME_SIGNATURE = "time_signature"
VALENCE = "valence"

AUDIO_FEATURES = (
    ACOUSTICNESS,
    DANCEABILITY,
    ENERGY,
    INSTRUMENTALNESS,
    KEY,
    LIVENESS,
    LOUDNESS,
    MODE,
    SPEECHINESS,
    TEMPO,
    TIME_SIGNATURE,
    VALENCE,
)
#: Audio features that are categories (one-hot encoded by the models).
CATEGORICAL_AUDIO_FEATURES = (KEY, MODE, TIME_SIGNATURE)
#: Audio features that are measurements (standardised by the models).
CONTINUOUS_AUDIO_FEATURES = tuple(f for f in AUDIO_FEATURES if f not in CATEGORICAL_AUDIO_FEATURES)

#: Valid range of each audio feature, as documented by Spotify's Web API
#: (inclusive bounds).  Loudness is in dB (typically -60 to 0), tempo in BPM.
AUDIO_FEATURE_RANGES = MappingProxyType(
    {
        ACOUSTICNESS: (0.0, 1.0),
        DANCEABILITY: (0.0, 1.0),
        ENERGY: (0.0, 1.0),
        INSTRUMENTALNESS: (0.0, 1.0),
        KEY: (0, 11),
        LIVENESS: (0.0, 1.0),
        LOUDNESS: (-60.0, 5.0),
        MODE: (0, 1),
        SPEECHINESS: (0.0, 1.0),
        TEMPO: (0.0, 250.0),
        TIME_SIGNATURE: (3, 7),
        VALENCE: (0.0, 1.0),
    }
)

# --- labels and splits --------------------------------------------------------
LABEL = "label"
#: Why the k/epsilon rule gave a song no label (one of musemood.labels.REASONS; missing for a labelled song).
LABEL_REASON = "label_reason"
SPLIT = "split"
SPLITS = ("train", "valid", "test")

# --- external identifiers (optional, filled by the scrapers) ----------------
SPOTIFY_ID = "spotify_id"
LASTFM_URL = "lastfm_url"
MBID = "mbid"
#: Where a song's tags came from (``lastfm``: the Last.fm API's weights; ``dump``, ``msd``: raw counts).
TAGS_SOURCE = "tags_source"

#: Columns every dataset has (the audio features may be NaN).
REQUIRED_COLUMNS = (SONG_ID, TITLE, ARTIST, LYRICS, TAGS, *AUDIO_FEATURES)
#: The schema's columns in their canonical order.
COLUMNS = (SONG_ID, TITLE, ARTIST, ALBUM, LYRICS, TAGS, *AUDIO_FEATURES, LABEL, SPLIT)

# --- mood sets ---------------------------------------------------------------
# Each mood set lists crowd tags that name the same mood.  The label rule takes
# the set's single most used tag on a song; synonyms are never summed.
HAPPY_TAGS = (
    "happy",
    "happiness",
    "cheerful",
    "joyful",
    "joy",
    "feel good",
    "feelgood",
    "uplifting",
    "fun",
    "glad",
    "sunny",
)
SAD_TAGS = (
    "sad",
    "sadness",
    "melancholy",
    "melancholic",
    "depressing",
    "depressed",
    "sorrow",
    "heartbreak",
    "heartbroken",
    "gloomy",
    "tearjerker",
)
CALM_TAGS = (
    "calm",
    "mellow",
    "chill",
    "chillout",
    "relaxing",
    "relax",
    "peaceful",
    "soothing",
    "tranquil",
    "serene",
)
ENERGETIC_TAGS = (
    "energetic",
    "energy",
    "upbeat",
    "high energy",
    "pumped up",
    "adrenaline",
    "lively",
    "hype",
)

#: The study's binary task: happy vs sad.
BINARY_MOODS = MappingProxyType({"happy": HAPPY_TAGS, "sad": SAD_TAGS})
#: A four-mood task (Russell's quadrants: valence x arousal).
FOUR_MOODS = MappingProxyType(
    {"happy": HAPPY_TAGS, "sad": SAD_TAGS, "calm": CALM_TAGS, "energetic": ENERGETIC_TAGS}
)
#: Named mood-set collections accepted wherever ``mood_sets`` is a string.
MOOD_SETS = MappingProxyType({"binary": BINARY_MOODS, "four": FOUR_MOODS})


def resolve_mood_sets(mood_sets):
    """Return ``{mood: tuple_of_tags}`` for a name (``"binary"``, ``"four"``) or a mapping.

    Tags are normalised with :func:`normalize_tag`.  A tag may belong to one
    mood only.
    """
    if mood_sets is None:
        mood_sets = BINARY_MOODS
    if isinstance(mood_sets, str):
        try:
            mood_sets = MOOD_SETS[mood_sets]
        except KeyError:
            raise ValueError(
                f"unknown mood sets {mood_sets!r}; use one of {sorted(MOOD_SETS)} "
                "or a mapping such as {'happy': ['happy', 'cheerful'], 'sad': ['sad']}"
            ) from None
    resolved = {}
    owner = {}
    for mood, tags in mood_sets.items():
        if isinstance(tags, str):
            raise TypeError(f"mood set {mood!r} must be a list of tags, not the string {tags!r}")
        normalised = tuple(dict.fromkeys(normalize_tag(t) for t in tags))
        if not normalised:
            raise ValueError(f"mood set {mood!r} has no tags")
        for tag in normalised:
            if tag in owner and owner[tag] != mood:
                raise ValueError(f"tag {tag!r} is in both mood sets {owner[tag]!r} and {mood!r}")
            owner[tag] = mood
        resolved[str(mood)] = normalised
    if len(resolved) < 2:
        raise ValueError("the label rule needs at least two mood sets")
    return resolved


def normalize_tag(tag):
    """Lower-case a tag and fold ``-``/``_`` and repeated spaces to one space.

    >>> normalize_tag("  Feel-Good ")
    'feel good'
    """
    return " ".join(str(tag).lower().replace("-", " ").replace("_", " ").split())

#: The models of Table 1 by name, in the study's sequence: two baselines, then simple BERT,
#: fine-tuned BERT and tBERT (see :func:`musemood.classifiers.make_model`).
STUDY_MODELS = ("majority", "tfidf", "simple", "finetuned", "tbert")
#: Every model :func:`musemood.classifiers.make_model` builds, in the order tables list them: the
#: baselines (majority, TF-IDF + logistic regression, a DNN on TF-IDF, a BiLSTM, audio-only MLP and
#: gradient boosting), then the study's models with tBERT's ablations (text + topics, text + audio)
#: before the full tBERT.
MODELS = ("majority", "tfidf", "dnn", "lstm", "audio_mlp", "audio_gb", "simple", "finetuned", "tbert_topics",
          "tbert_audio", "tbert")
#: The models that read audio features only or in part.
AUDIO_MODELS = ("audio_mlp", "audio_gb", "tbert_audio")

#: How a song map's k sweep picks k (see :mod:`musemood.clustering`).
K_RULES = ("finest", "elbow", "silhouette")

#: The vectors a recommender's song map is drawn from (``Recommender(map_on=)``).
MAP_ON = ("auto", "lyrics", "song")

#: Where ``musemood embed`` runs (:func:`musemood.embed.embed_dataset`).
EMBED_ENGINES = ("local", "ray")
