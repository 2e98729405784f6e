"""The three mood models of the study, with the scikit-learn estimator contract.

- :class:`SimpleBertClassifier`: frozen encoder + MLP.
- :class:`FineTunedBertClassifier`: encoder fine-tuned (full or LoRA) with a head.
- :class:`TBertClassifier`: fine-tuned encoder ⊕ LDA topics ⊕ audio features -> hidden -> softmax.
"""

from .finetuned import FineTunedBertClassifier
from .simple import SimpleBertClassifier
from .tbert import TBertClassifier

__all__ = ["FineTunedBertClassifier", "SimpleBertClassifier", "TBertClassifier", "load_model"]


def load_model(path, *, device=None):
    """Load a model saved by any of the three classes, whichever it is."""
    import json
    from pathlib import Path

    try:
        kind = json.loads((Path(path) / "config.json").read_text())["class"]
        cls = {c.__name__: c for c in (FineTunedBertClassifier, SimpleBertClassifier, TBertClassifier)}[kind]
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{path} does not hold a saved musemood model ({exc!r})") from None
    return cls.load(path, device=device)
