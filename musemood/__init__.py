"""musemood: the mood of a song from its lyrics, audio features and listeners' tags.

Heavy dependencies (torch, transformers, pandas) load only when a name that
needs them is first used, so ``import musemood`` and ``musemood --help`` are fast.
"""

from importlib import import_module

from ._version import __version__

# public name -> module that defines it
_LAZY = {
    "SimpleBertClassifier": "musemood.classifiers",
    "FineTunedBertClassifier": "musemood.classifiers",
    "TBertClassifier": "musemood.classifiers",
    "LdaTopics": "musemood.topics",
    "AudioFeatureEncoder": "musemood.features",
    "BertEncoder": "musemood.encoders",
    "assign_moods": "musemood.labels",
    "label_songs": "musemood.labels",
    "clean_lyrics": "musemood.text",
    "load_demo": "musemood.datasets",
    "load_dataset": "musemood.datasets",
    "save_dataset": "musemood.datasets",
    "recommend": "musemood.recommender",
    "Recommender": "musemood.recommender",
    "SongMap": "musemood.clustering",
    "SongVectorizer": "musemood.vectors",
    "LexicalIndex": "musemood.retrieval",
    "VectorIndex": "musemood.retrieval",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'musemood' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
