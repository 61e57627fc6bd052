# Qwen2.5-7B-Instruct, GRPO with QLoRA (4-bit NF4 base + LoRA) on GSM8K-style rows
# {question, answer '... #### N'} (the reward reads N). For GPU users; give the rows:
#   xtuner-like train qwen2_5_7b_instruct_qlora_grpo_gsm8k --cfg-options data_files=gsm8k.jsonl
# With beta > 0 the reference is the same weights with the adapters off (no second copy).
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.prompts import *
    from .._base_.models.qwen2_5_7b_instruct import *
    from .._base_.models.qlora import *
    from .._base_.models.grpo import *
    from .._base_.runtime.rl import *
    from .._base_.schedules.cosine_iters import *

system = ('Solve the problem step by step, then give the final number as '
          '<answer>N</answer>.')
qlora_compute_dtype = 'bfloat16'
loss = dict(type='GRPOLoss', beta=0.04, epsilon=0.2)
rewards = [dict(type='exact_answer', weight=1.0),
           dict(type='format', pattern=r'<answer>.*?</answer>', weight=0.1)]
lr = 1e-5
max_iters = 500
warmup_iters = 20
batch_size = 8
group_size = 8
max_length = 512
max_completion_length = 512
micro_batch_size = 16
num_iterations = 1
save_steps = 100
evaluation_inputs = ['Natalia sold clips to 48 of her friends in April, and then she sold '
                     'half as many clips in May. How many clips did she sell altogether?']
evaluation_max_new_tokens = 256
train_cfg = dict(type=RLTrainLoop, max_iters='${max_iters}',
                 completions_every='${completions_every}',
                 log_completions='${log_completions}',
                 sampling_streams='${sampling_streams}')
