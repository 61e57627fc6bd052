# The one dataset dict of every recipe: load -> dataset_map_fn -> template -> tokenize -> pack,
# for any row kind (`row_type`: 'sft', 'preference', 'kto', 'prompt'), from one source or several.
# Every option is declared once, with its default and check, in xtuner_like/dataset/spec.py;
# the knobs below are the ones recipes and `--cfg-options name=value` set by name. An option
# without a knob is set as `--cfg-options train_dataloader.dataset.<option>=value`.
from mmengine.dataset import DefaultSampler

from xtuner_like.dataset import build_dataset, collate_rows

data_files = None                   # local json/jsonl/parquet/csv/txt file(s) or a folder ...
data_path = None                    # ... or a hub dataset id
data_split = 'train'                # the hub dataset's split
dataset_map_fn = None               # 'alpaca', 'openai', 'sharegpt_preference', ... or None
row_type = 'sft'                    # the row kind; its collator follows it
system = None                       # system-template name or literal text
max_length = 2048                   # tokens per sequence
pack_to_max_length = True           # whole samples packed into rows of max_length
max_rows = None                     # use only the first N rows
dataset_num_proc = 1
on_bad_row = 'error'                # or 'skip' (the count is logged)
holdout = 0                         # rows held out for evaluation (a share, or a count)
eval_data_files = None              # or evaluate on these files (then every row is trained)
sources = None                      # several sources: [dict(data_files=..., ratio=...), ...]
mix_seed = 0                        # seed of the sources' ratio sampling
batch_size = 1                      # packed: rows of max_length per step
dataloader_num_workers = 0

train_dataloader = dict(
    batch_size='${batch_size}',
    num_workers='${dataloader_num_workers}',
    dataset=dict(type=build_dataset, tokenizer='${tokenizer}', sources='${sources}',
                 data_files='${data_files}', path='${data_path}', split='${data_split}',
                 dataset_map_fn='${dataset_map_fn}', row_type='${row_type}',
                 prompt_template='${prompt_template}', system='${system}',
                 max_length='${max_length}', pack_to_max_length='${pack_to_max_length}',
                 max_rows='${max_rows}', num_proc='${dataset_num_proc}',
                 on_bad_row='${on_bad_row}', holdout='${holdout}',
                 eval_data_files='${eval_data_files}', seed='${mix_seed}'),
    sampler=dict(type=DefaultSampler, shuffle=True),
    collate_fn=dict(type=collate_rows, row_type='${row_type}', packed='${pack_to_max_length}'))
