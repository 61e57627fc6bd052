"""Training hooks: each does one thing (STYLE.md 12)."""
from .dataset_info_hook import DatasetInfoHook
from .evaluate_chat_hook import EvaluateChatHook
from .hf_export_hook import HFExportHook
from .throughput_hook import ThroughputHook
from .val_loss_hook import ValLossHook

__all__ = ['DatasetInfoHook', 'EvaluateChatHook', 'HFExportHook', 'ThroughputHook',
           'ValLossHook']
