# Prompt-only rows for online RL (xtuner_like/dataset/prompts.py): OpenAI messages ending in a
# user turn, {prompt, answer} rows, or GSM8K {question, answer '... #### N'}; rendered with
# the recipe's prompt_template and its generation prompt. Every column goes to the rewards.
# A micro-batch is `batch_size` prompts; the model answers each `group_size` times.
from mmengine.dataset import DefaultSampler

from xtuner_like.dataset.prompts import build_prompt_dataset, prompt_collate_fn

data_files = None                   # local json/jsonl rows (or a spec that writes them)
dataset_map_fn = None               # None: the three shapes above; or a registered map_fn
system = None                       # system-template name or literal text
max_length = 512                    # prompt tokens at most (longer: an error naming the row)
on_long_prompt = 'error'            # or 'skip' (the count is logged)
max_rows = None
batch_size = 4                      # prompts per generation batch
dataloader_num_workers = 0

train_dataloader = dict(
    batch_size='${batch_size}',
    num_workers='${dataloader_num_workers}',
    dataset=dict(type=build_prompt_dataset, tokenizer='${tokenizer}',
                 data_files='${data_files}', dataset_map_fn='${dataset_map_fn}',
                 prompt_template='${prompt_template}', system='${system}',
                 max_length='${max_length}', max_rows='${max_rows}',
                 on_long_prompt='${on_long_prompt}'),
    sampler=dict(type=DefaultSampler, shuffle=True),
    collate_fn=dict(type=prompt_collate_fn))
