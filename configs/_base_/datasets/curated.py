# Curated data: raw files -> `xtuner-like curate` stages (cached) -> the train split for
# training, the eval split for the validation loss (ValLossHook, added by the recipe).
from mmengine.dataset import DefaultSampler

from xtuner_like.curate import build_curated_dataset
from xtuner_like.dataset import sft_collate_fn

data_files = None                   # raw files in any readable format ...
curate = dict(split=dict(eval_ratio=0.05))  # ... curated with these changes to the defaults
curated_dir = None                  # or a folder written by `xtuner-like curate` (curate=None)
system = None
max_length = 2048
pack_to_max_length = True
max_rows = None
dataset_num_proc = 1
batch_size = 1
dataloader_num_workers = 0
val_interval = 50                   # validation loss every N iterations (and at the end)
val_batch_size = 4
save_best_val = False               # keep best_val.pth, the lowest validation loss

_curated = dict(type=build_curated_dataset, tokenizer='${tokenizer}',
                data_files='${data_files}', curate='${curate}', curated_dir='${curated_dir}',
                prompt_template='${prompt_template}', system='${system}',
                max_length='${max_length}', pack_to_max_length='${pack_to_max_length}',
                max_rows='${max_rows}', num_proc='${dataset_num_proc}')
train_dataloader = dict(
    batch_size='${batch_size}',
    num_workers='${dataloader_num_workers}',
    dataset=dict(**_curated, split='train'),
    sampler=dict(type=DefaultSampler, shuffle=True),
    collate_fn=dict(type=sft_collate_fn, packed='${pack_to_max_length}'))
val_dataset = dict(**_curated, split='eval')
