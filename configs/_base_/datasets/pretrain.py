# Incremental pre-training on plain text: every token is trained, no chat template.
# Local .txt files (one document per line) or .jsonl files with a 'text' field:
#   --cfg-options data_files=path/to/corpus.txt
from mmengine.config import read_base
with read_base():
    from .sft import *

data_path = 'roneneldan/TinyStories'
dataset_map_fn = 'pretrain'
max_length = 2048
evaluation_inputs = []              # no chat template to ask questions with
