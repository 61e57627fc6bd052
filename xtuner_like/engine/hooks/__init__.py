"""Training hooks: each does one thing (STYLE.md 12)."""
from .checkpoint_hook import SafeCheckpointHook
from .curve_hook import CurveHook
from .dataset_info_hook import DatasetInfoHook
from .divergence_hook import DivergenceHook
from .ema_hook import EMAHook
from .evaluate_chat_hook import EvaluateChatHook
from .hf_export_hook import HFExportHook
from .progress_hook import ProgressHook
from .run_record_hook import RunRecordHook
from .precompute_reference_hook import PrecomputeReferenceHook
from .preference_eval_hook import PreferenceEvalHook
from .throughput_hook import ThroughputHook
from .train_logger_hook import TrainLoggerHook
from .val_loss_hook import ValLossHook

__all__ = ['CurveHook', 'DatasetInfoHook', 'DivergenceHook', 'EMAHook', 'EvaluateChatHook',
           'HFExportHook', 'PrecomputeReferenceHook', 'PreferenceEvalHook', 'ProgressHook',
           'RunRecordHook', 'SafeCheckpointHook', 'ThroughputHook', 'TrainLoggerHook',
           'ValLossHook']
