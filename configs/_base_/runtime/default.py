# Logging, checkpoints, TensorBoard, seeds and the training hooks.
from mmengine.hooks import DistSamplerSeedHook, IterTimerHook, ParamSchedulerHook

from xtuner_like.engine.hooks import (CurveHook, DatasetInfoHook, DivergenceHook, EMAHook,
                                     EvaluateChatHook, HFExportHook, ProgressHook,
                                     RunRecordHook, SafeCheckpointHook, ThroughputHook,
                                     TrainLoggerHook)
from xtuner_like.engine.tracking_backends import TrackingVisualizer
from xtuner_like.eval.eval_tasks_hook import EvalTasksHook

log_interval = 10                   # iterations between log lines (and always the first/last)
save_steps = 500                    # iterations between checkpoints
save_total_limit = 2                # checkpoints kept (-1: all)
save_optimizer = True               # False: weights only (no --resume of AdamW); 'latest':
                                    # optimizer state in the newest checkpoint only
seed = 0
deterministic = False
evaluation_inputs = ['Who are you?', 'Give three tips for staying healthy.']
evaluation_freq = None              # also chat every N iterations (None: before/after only)
evaluation_max_new_tokens = 64
export_hf = True                    # write <work_dir>/hf (adapter or model + tokenizer) at the end
disabled_fast_paths = []            # e.g. ['sdpa_packed', 'fused_lora', 'rust_tokenizer']
max_skipped_steps = 0               # NaN/inf gradient: stop (0) or skip up to N optimizer steps
loss_spike_factor = 5.0             # warn when a loss exceeds N x the recent median (None: off)
loss_spike_stop_factor = 10.0       # stop when 3 losses in a row exceed N x it (None: off)
collapse_grad_norm = 1e-4           # stop when the loss is at/above ln(vocab) (uniform guessing)
                                    # and the gradient norm at most this (None: off)
eval_tasks = []                     # lm-eval tasks run during training, e.g. ['arc_easy']
eval_task_files = []                # your own rows as tasks: 'FILE[:mc|qa|chat|loss]'
eval_interval = None                # also evaluate every N iterations (None: at the end only)
eval_limit = None                   # samples per task (N, or a share below 1)
save_best = None                    # '<task>/<metric>': keep best_eval.pth at its best value
report_to = ['tensorboard']         # + 'mlflow', 'wandb' (or train --report-to ...); see
                                    # docs/tracking.md. scalars.json is always written
ema = None                          # dict(decay=0.999, every=1): an EMA of the trained weights,
                                    # saved in each checkpoint (convert pth_to_hf --ema)

default_hooks = dict(
    timer=dict(type=IterTimerHook),
    logger=dict(type=TrainLoggerHook, interval='${log_interval}', log_metric_by_epoch=False),
    param_scheduler=dict(type=ParamSchedulerHook),
    checkpoint=dict(type=SafeCheckpointHook, by_epoch=False, interval='${save_steps}',
                    max_keep_ckpts='${save_total_limit}', save_last=True,
                    save_optimizer='${save_optimizer}'),
    sampler_seed=dict(type=DistSamplerSeedHook))

custom_hooks = [
    dict(type=DivergenceHook, max_skipped_steps='${max_skipped_steps}',
         spike_factor='${loss_spike_factor}', spike_stop_factor='${loss_spike_stop_factor}',
         collapse_grad_norm='${collapse_grad_norm}'),
    dict(type=EMAHook, ema='${ema}'),
    dict(type=DatasetInfoHook),
    dict(type=ThroughputHook),
    dict(type=EvaluateChatHook, evaluation_inputs='${evaluation_inputs}',
         every_n_iters='${evaluation_freq}',
         max_new_tokens='${evaluation_max_new_tokens}'),
    dict(type=EvalTasksHook, tasks='${eval_tasks}', task_files='${eval_task_files}',
         interval='${eval_interval}', limit='${eval_limit}', save_best='${save_best}'),
    dict(type=HFExportHook, enabled='${export_hf}'),
    dict(type=ProgressHook),        # a live bar on a terminal; the log lines elsewhere
    dict(type=CurveHook),           # <work_dir>/curves.png at every checkpoint and the end
    dict(type=RunRecordHook),       # <work_dir>/run.json: status, wall time (xtuner-like runs)
]

# backend_args: e.g. {'mlflow': {'tracking_uri': 'http://host:5000'}}
visualizer = dict(type=TrackingVisualizer, report_to='${report_to}', backend_args={})
log_processor = dict(by_epoch=False, window_size='${log_interval}')
log_level = 'INFO'
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork'),
               dist_cfg=dict(backend='nccl'))
randomness = dict(seed='${seed}', deterministic='${deterministic}')
load_from = None
resume = False
