# GRPO with LoRA on SmolLM2-135M-Instruct: answer small additions as <answer>N</answer>
# (generated rows, no download; rewards: the exact sum + the tag). Small enough for a CPU:
#   xtuner-like train smollm2_135m_instruct_lora_grpo
# The other policy-gradient losses on the same task:
#   --cfg-options loss.type=DAPOLoss | loss.type=BNPOLoss | loss.type=RLOOLoss loss.beta=0.0
#   (or the _dr_grpo recipe). A KL term to the base: loss.beta=0.04 (adapters off = reference).
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.prompts_addition import *
    from .._base_.models.smollm2_135m_instruct import *
    from .._base_.models.lora import *
    from .._base_.models.grpo import *
    from .._base_.runtime.rl import *
    from .._base_.schedules.cosine_iters import *

lora_r = 16
lora_alpha = 32
lr = 5e-4
# Sized for the CPU demo (docs/rl.md: reward and accuracy before/after, ~10 min on 2 cores):
# 4 prompts x 8 completions per update; an answer "<answer>N</answer>" is ~8 tokens, so 16
# are enough, and the one solved example in each prompt (addition_shots) makes the tag
# appear in ~30% of the first samples.
max_iters = 60                      # policy updates
warmup_iters = 5
batch_size = 4                      # prompts per batch (x group_size completions)
group_size = 8
max_completion_length = 16
temperature = 0.8
log_interval = 1
save_steps = 30
completions_every = 10
evaluation_inputs = ['What is 7 + 5? Put only the number inside <answer></answer>.']
evaluation_max_new_tokens = 24
train_cfg = dict(type=RLTrainLoop, max_iters='${max_iters}',
                 completions_every='${completions_every}',
                 log_completions='${log_completions}',
                 sampling_streams='${sampling_streams}')
