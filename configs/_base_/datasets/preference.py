# The preference data pipeline: load -> dataset_map_fn -> prompt rendered with the template ->
# two sequences per pair (prompt + chosen, prompt + rejected); only the replies are scored.
# Packed (as SFT), whole pairs fill rows of up to 2 * max_length tokens; a micro-batch of
# `batch_size` rows is concatenated into one row without padding; each sequence attends only
# to itself (position_ids restart per sequence).
from mmengine.dataset import DefaultSampler

from xtuner_like.dataset import build_preference_dataset, preference_collate_fn

data_files = None                   # local json/jsonl/parquet file(s) ...
data_path = None                    # ... or a hub dataset id
data_split = 'train'                # the hub dataset's split
dataset_map_fn = 'sharegpt_preference'  # or 'openai_preference', 'plain_preference', 'kto'
row_type = 'preference'             # 'kto' for unpaired rows {prompt, completion, label}
system = None                       # system-template name or literal text
max_length = 1024                   # per sequence (prompt + one reply)
pack_to_max_length = True           # whole pairs packed into rows of 2 * max_length tokens
max_rows = None                     # use only the first N rows
dataset_num_proc = 1
on_bad_row = 'error'                # or 'skip' (the count is logged)
batch_size = 1                      # packed rows (unpacked: pairs) per micro-batch
dataloader_num_workers = 0
eval_dataset = None                 # held-out pairs (a build_preference_dataset spec), scored
                                    # by PreferenceEvalHook (runtime/preference.py)

train_dataloader = dict(
    batch_size='${batch_size}',
    num_workers='${dataloader_num_workers}',
    dataset=dict(type=build_preference_dataset, tokenizer='${tokenizer}',
                 data_files='${data_files}', path='${data_path}', split='${data_split}',
                 dataset_map_fn='${dataset_map_fn}', prompt_template='${prompt_template}',
                 system='${system}', max_length='${max_length}', row_type='${row_type}',
                 pack_to_max_length='${pack_to_max_length}',
                 max_rows='${max_rows}', num_proc='${dataset_num_proc}',
                 on_bad_row='${on_bad_row}'),
    sampler=dict(type=DefaultSampler, shuffle=True),
    collate_fn=dict(type=preference_collate_fn))
