# Prompt-only rows for online RL: the one dataset dict (common.py) with row_type='prompt'
# (xtuner_like/dataset/prompts.py): OpenAI messages ending in a user turn, {prompt, answer}
# rows, GSM8K {question, answer '... #### N'}, or any registered dataset_map_fn; rendered with
# the recipe's prompt_template and its generation prompt. Every column goes to the rewards.
# Hub datasets (data_path), several sources, holdout and the cache work as for SFT rows.
# A micro-batch is `batch_size` prompts; the model answers each `group_size` times.
from mmengine.config import read_base

with read_base():
    from .common import *

row_type = 'prompt'
max_length = 512                    # prompt tokens at most (longer: a bad row, named)
pack_to_max_length = False          # prompts are never packed
batch_size = 4                      # prompts per generation batch
