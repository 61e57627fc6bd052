"""Models: locating, preparing and building the language models that recipes name.

Submodules are imported on use (``xtuner_like.model.resolve``,
``xtuner_like.model.gguf``, a package) so that importing this package stays cheap.
"""
from .load import load_causal_lm, load_tokenizer
from .preference import PreferenceFinetune
from .reward import RewardModel
from .sft import SupervisedFinetune

__all__ = ['PreferenceFinetune', 'RewardModel', 'SupervisedFinetune', 'load_causal_lm', 'load_tokenizer']
