"""Training hooks: each does one thing (STYLE.md 12)."""
from .curve_hook import CurveHook
from .dataset_info_hook import DatasetInfoHook
from .evaluate_chat_hook import EvaluateChatHook
from .hf_export_hook import HFExportHook
from .progress_hook import ProgressHook
from .throughput_hook import ThroughputHook

__all__ = ['CurveHook', 'DatasetInfoHook', 'EvaluateChatHook', 'HFExportHook', 'ProgressHook',
           'ThroughputHook']
