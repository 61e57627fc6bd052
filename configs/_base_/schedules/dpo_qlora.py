# DPO with QLoRA on a 7-8B model (GPU recipes): a LoRA learning rate, 8 micro-batches of
# pairs per update, 1000 micro-batches.
from mmengine.config import read_base

with read_base():
    from .cosine_iters import *

qlora_compute_dtype = 'bfloat16'
lr = 5e-5
max_iters = 1000
warmup_iters = 100
accumulative_counts = 8
