# AdamW, gradient clipping, linear warm-up then cosine decay, counted in iterations.
from mmengine.optim import OptimWrapper
from torch.optim import AdamW

from xtuner_like.engine import TrainLoop
from xtuner_like.engine.optim_constructor import FusedOptimWrapperConstructor
from xtuner_like.engine.schedule import WarmupCosineLR

lr = 2e-4
weight_decay = 0.0
betas = (0.9, 0.999)
max_norm = 1.0
accumulative_counts = 1
max_iters = 100                     # micro-batches
warmup_iters = 5

optim_wrapper = dict(
    type=OptimWrapper,
    constructor=FusedOptimWrapperConstructor,    # fused AdamW kernel where torch has one
    optimizer=dict(type=AdamW, lr='${lr}', betas='${betas}', weight_decay='${weight_decay}'),
    clip_grad=dict(max_norm='${max_norm}', error_if_nonfinite=False),
    accumulative_counts='${accumulative_counts}')

# Warm-up and decay in optimizer steps, fitted to the run (xtuner_like/engine/schedule.py):
# warmup_iters micro-batches become ceil(warmup_iters / accumulative_counts) steps, clipped
# to the run with a note in the log.
param_scheduler = [dict(type=WarmupCosineLR, warmup_iters='${warmup_iters}', eta_min=0.0)]

train_cfg = dict(type=TrainLoop, max_iters='${max_iters}')
