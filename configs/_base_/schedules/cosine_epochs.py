# AdamW, gradient clipping, linear warm-up then cosine decay, counted in epochs.
from mmengine.optim import CosineAnnealingLR, LinearLR, OptimWrapper
from torch.optim import AdamW

from xtuner_like.engine import TrainLoop
from xtuner_like.engine.optim_constructor import FusedOptimWrapperConstructor

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

param_scheduler = [
    dict(type=LinearLR, start_factor=1e-5, by_epoch=True, begin=0,
         end='${warmup_ratio * max_epochs}', convert_to_iter_based=True),
    dict(type=CosineAnnealingLR, eta_min=0.0, by_epoch=True,
         begin='${warmup_ratio * max_epochs}', end='${max_epochs}',
         convert_to_iter_based=True),
]

train_cfg = dict(type=TrainLoop, max_epochs='${max_epochs}')
