# The short run of the SmolLM2 persona-pair recipes (DPO, ORPO, SimPO, KTO, reward model):
# cosine_iters with a LoRA learning rate, 20 micro-batches of 4 pairs
# and frequent logs, sized to finish in a few minutes on a 2-core CPU. Import last.
from mmengine.config import read_base

with read_base():
    from .cosine_iters import *

lr = 1e-3
max_iters = 20                      # 4 pairs each: ~1 epoch of the 68 train pairs
warmup_iters = 2
log_interval = 5
save_steps = 20
evaluation_inputs = ['Who are you?']
evaluation_max_new_tokens = 40
