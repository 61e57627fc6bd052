# AdamW, gradient clipping, linear warm-up then cosine decay, counted in iterations.
from mmengine.optim import CosineAnnealingLR, LinearLR, OptimWrapper
from torch.optim import AdamW

from xtuner_like.engine import TrainLoop
from xtuner_like.engine.optim_constructor import FusedOptimWrapperConstructor

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

param_scheduler = [
    dict(type=LinearLR, start_factor=1e-5, by_epoch=False, begin=0, end='${warmup_iters}'),
    dict(type=CosineAnnealingLR, eta_min=0.0, by_epoch=False, begin='${warmup_iters}',
         end='${max_iters}'),
]

train_cfg = dict(type=TrainLoop, max_iters='${max_iters}')
