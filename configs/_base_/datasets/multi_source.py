# Several datasets in one recipe: `sources` lists them, each with its own data and
# dataset_map_fn (and optionally system, max_rows and a sampling `ratio`); they are built
# one by one, sampled by ratio, concatenated and packed together.
from mmengine.dataset import DefaultSampler

from xtuner_like.dataset import sft_collate_fn
from xtuner_like.dataset.concat import build_concat_dataset

sources = []                        # [dict(data_files=..., dataset_map_fn=..., ratio=1.0), ...]
system = None                       # default system text (a source's own `system` wins)
max_length = 2048
pack_to_max_length = True
dataset_num_proc = 1
on_bad_row = 'error'                # or 'skip' (the count is logged)
mix_seed = 0                        # seed of the ratio sampling
batch_size = 1
dataloader_num_workers = 0

train_dataloader = dict(
    batch_size='${batch_size}',
    num_workers='${dataloader_num_workers}',
    dataset=dict(type=build_concat_dataset, tokenizer='${tokenizer}', sources='${sources}',
                 prompt_template='${prompt_template}', system='${system}',
                 max_length='${max_length}', pack_to_max_length='${pack_to_max_length}',
                 num_proc='${dataset_num_proc}', on_bad_row='${on_bad_row}',
                 seed='${mix_seed}'),
    sampler=dict(type=DefaultSampler, shuffle=True),
    collate_fn=dict(type=sft_collate_fn, packed='${pack_to_max_length}'))
