# MOSS-003 SFT conversations (with and without plugins). Download the jsonl files of
# fnlp/moss-003-sft-data and point data_files at them:
#   --cfg-options data_files=path/to/moss-003-sft-data.jsonl
# The texts carry MOSS's own markers (<|Human|>: ...<eoh>), so recipes must use
# prompt_template = 'moss_sft' (it adds none); meta_instruction is each row's system text.
from mmengine.config import read_base
with read_base():
    from .sft import *

data_path = 'fnlp/moss-003-sft-data'
dataset_map_fn = 'moss_sft'
max_length = 2048
evaluation_inputs = ['<|Human|>: 你好，请介绍一下你自己。<eoh>\n',
                     '<|Human|>: What is 2 + 3 * 4?<eoh>\n']
