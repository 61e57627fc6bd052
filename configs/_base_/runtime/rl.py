# The default runtime for online RL: the RL loop (one iteration = one policy update), the
# sampled completions in <work_dir>/completions.jsonl every `completions_every` updates, and
# the hooks that apply to generated batches (no dataset preview or packed-row throughput:
# the loop logs generation and training tokens/s itself).
from mmengine.config import read_base

from xtuner_like.engine.hooks import (CurveHook, DivergenceHook, EMAHook, EvaluateChatHook,
                                     HFExportHook, ProgressHook, RunRecordHook)
from xtuner_like.engine.rl_loop import RLTrainLoop
from xtuner_like.eval.eval_tasks_hook import EvalTasksHook

with read_base():
    from .default import *

completions_every = 10
log_completions = 2
sampling_streams = 1                # generators per process (train_cfg; engine/rl_loop.py):
                                    # 1 process with N draws the samples of N processes
loss_spike_factor = None            # RL losses change sign: no spike warnings or stops
loss_spike_stop_factor = None
collapse_grad_norm = None           # not a token cross-entropy: ln(vocab) means nothing here
lora_dropout = 0.0                  # rollouts and updates see the same policy

custom_hooks = [
    dict(type=DivergenceHook, max_skipped_steps='${max_skipped_steps}',
         spike_factor='${loss_spike_factor}', spike_stop_factor='${loss_spike_stop_factor}',
         collapse_grad_norm='${collapse_grad_norm}'),
    dict(type=EMAHook, ema='${ema}'),
    dict(type=EvaluateChatHook, evaluation_inputs='${evaluation_inputs}',
         every_n_iters='${evaluation_freq}',
         max_new_tokens='${evaluation_max_new_tokens}'),
    dict(type=EvalTasksHook, tasks='${eval_tasks}', task_files='${eval_task_files}',
         interval='${eval_interval}', limit='${eval_limit}', save_best='${save_best}'),
    dict(type=HFExportHook, enabled='${export_hf}'),
    dict(type=ProgressHook),
    dict(type=CurveHook),
    dict(type=RunRecordHook),
]
