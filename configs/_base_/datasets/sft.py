# The SFT data pipeline: load -> dataset_map_fn -> template -> tokenize -> pack.
from mmengine.dataset import DefaultSampler

from xtuner_like.dataset import build_sft_dataset, sft_collate_fn

data_files = None                   # local json/jsonl/parquet file(s) ...
data_path = None                    # ... or a hub dataset id
dataset_map_fn = None               # 'alpaca', 'openai', 'pretrain', or a function
system = None                       # system-template name or literal text
max_length = 2048
pack_to_max_length = True
max_rows = None                     # use only the first N rows
dataset_num_proc = 1
on_bad_row = 'error'                # or 'skip' (the count is logged)
batch_size = 1                      # packed: rows of max_length per step
dataloader_num_workers = 0

train_dataloader = dict(
    batch_size='${batch_size}',
    num_workers='${dataloader_num_workers}',
    dataset=dict(type=build_sft_dataset, tokenizer='${tokenizer}',
                 data_files='${data_files}', path='${data_path}',
                 dataset_map_fn='${dataset_map_fn}', prompt_template='${prompt_template}',
                 system='${system}', max_length='${max_length}',
                 pack_to_max_length='${pack_to_max_length}', max_rows='${max_rows}',
                 num_proc='${dataset_num_proc}', on_bad_row='${on_bad_row}'),
    sampler=dict(type=DefaultSampler, shuffle=True),
    collate_fn=dict(type=sft_collate_fn, packed='${pack_to_max_length}'))
