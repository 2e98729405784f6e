"""The three mood models of the study, with the scikit-learn estimator contract.

- :class:`SimpleBertClassifier`: frozen encoder + MLP.
- :class:`FineTunedBertClassifier`: encoder fine-tuned (full or LoRA) with a head.
- :class:`TBertClassifier`: fine-tuned encoder ⊕ LDA topics ⊕ audio features -> hidden -> softmax.
"""

from .finetuned import FineTunedBertClassifier
from .simple import SimpleBertClassifier
from .tbert import TBertClassifier

__all__ = ["FineTunedBertClassifier", "SimpleBertClassifier", "TBertClassifier"]
