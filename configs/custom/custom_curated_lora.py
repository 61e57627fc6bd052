# Curate your raw data, fine-tune on it and watch the validation loss of a held-out split.
#
#   xtuner-like train custom_curated_lora --cfg-options "data_files=[a.json,b.jsonl]"
#
# The files (any format the pipeline reads) go through `xtuner-like curate`'s stages with
# the changes in `curate` (cached: a second run starts at once); the train split is trained,
# and the eval split's loss and perplexity on trained tokens are logged (and in TensorBoard)
# every `val_interval` iterations and at the end. Or curate first and train on the folder:
#
#   xtuner-like curate a.json b.jsonl -o OUT
#   xtuner-like train custom_curated_lora --cfg-options curated_dir=OUT curate=None
from mmengine.config import read_base

with read_base():
    from .._base_.models.smollm2_135m_instruct import *
    from .._base_.models.lora import *
    from .._base_.runtime.default import *
    from .._base_.schedules.cosine_epochs import *
    from .._base_.datasets.curated import *

from xtuner_like.engine.hooks import ValLossHook

data_files = 'data/my_data.jsonl'
curate = dict(split=dict(eval_ratio=0.05))
max_length = 2048
max_epochs = 3
custom_hooks.append(dict(type=ValLossHook, dataset='${val_dataset}',
                         every_n_iters='${val_interval}', batch_size='${val_batch_size}',
                         save_best='${save_best_val}'))
