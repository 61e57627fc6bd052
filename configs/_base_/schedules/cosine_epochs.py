# AdamW, gradient clipping, linear warm-up then cosine decay, counted in epochs.
from mmengine.optim import OptimWrapper
from torch.optim import AdamW

from xtuner_like.engine import TrainLoop
from xtuner_like.engine.optim_constructor import FusedOptimWrapperConstructor
from xtuner_like.engine.schedule import WarmupCosineLR

lr = 2e-4
weight_decay = 0.0
betas = (0.9, 0.999)
max_norm = 1.0                      # gradient clipping by norm
accumulative_counts = 16            # micro-batches per optimizer step
max_epochs = 3
warmup_ratio = 0.03

optim_wrapper = dict(
    type=OptimWrapper,
    constructor=FusedOptimWrapperConstructor,    # fused AdamW kernel where torch has one
    optimizer=dict(type=AdamW, lr='${lr}', betas='${betas}', weight_decay='${weight_decay}'),
    clip_grad=dict(max_norm='${max_norm}', error_if_nonfinite=False),
    accumulative_counts='${accumulative_counts}')

# Warm-up and decay in optimizer steps, fitted to the run once its length is known (after
# packing, accumulation and any train_cfg.max_iters cap); see xtuner_like/engine/schedule.py.
param_scheduler = [dict(type=WarmupCosineLR, warmup_ratio='${warmup_ratio}', eta_min=0.0)]

# max_iters=N caps the run at N micro-batches (e.g. --cfg-options train_cfg.max_iters=6).
train_cfg = dict(type=TrainLoop, max_epochs='${max_epochs}', max_iters=None)
