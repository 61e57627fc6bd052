# Several datasets in one recipe, each with its own format, mixed by ratio and packed
# together. Each source is processed (and cached) on its own; `ratio` keeps that share of
# its samples (0.5: a seeded random half, 2: every sample twice).
#   xtuner-like train custom_multi_source_lora \
#       --cfg-options alpaca_files=alpaca.json chat_files=chats.jsonl
from mmengine.config import read_base

with read_base():
    from .._base_.models.smollm2_135m_instruct import *
    from .._base_.models.lora import *
    from .._base_.runtime.default import *
    from .._base_.schedules.cosine_epochs import *
    from .._base_.datasets.multi_source import *

alpaca_files = 'data/alpaca.json'
chat_files = 'data/my_conversations.jsonl'
alpaca_ratio = 0.5
max_length = 2048
sources = [
    dict(data_files='${alpaca_files}', dataset_map_fn='alpaca', system='alpaca',
         ratio='${alpaca_ratio}'),
    dict(data_files='${chat_files}', dataset_map_fn='openai'),
]
