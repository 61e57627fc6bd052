"""Training hooks: each does one thing (STYLE.md 12)."""
from .dataset_info_hook import DatasetInfoHook
from .evaluate_chat_hook import EvaluateChatHook
from .hf_export_hook import HFExportHook
from .precompute_reference_hook import PrecomputeReferenceHook
from .preference_eval_hook import PreferenceEvalHook
from .throughput_hook import ThroughputHook

__all__ = ['DatasetInfoHook', 'EvaluateChatHook', 'HFExportHook', 'PrecomputeReferenceHook', 'PreferenceEvalHook',
           'ThroughputHook']
