# OpenAssistant Guanaco: '### Human: ... ### Assistant: ...' text, multi-turn.
# Offline: --cfg-options data_files=path/to/openassistant_best_replies_train.jsonl
from mmengine.config import read_base
with read_base():
    from .sft import *

data_path = 'timdettmers/openassistant-guanaco'
dataset_map_fn = 'oasst1'
max_length = 2048
