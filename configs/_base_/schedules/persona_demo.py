# The short run of the SmolLM2 persona-pair recipes (DPO, ORPO, SimPO, KTO, reward model):
# cosine_iters with a LoRA learning rate, 40 micro-batches and frequent logs. Import last.
from mmengine.config import read_base

with read_base():
    from .cosine_iters import *

lr = 5e-4
max_iters = 40
warmup_iters = 3
log_interval = 5
save_steps = 20
evaluation_inputs = ['Who are you?', 'What is your name?']
