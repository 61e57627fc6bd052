# SFT data: load -> dataset_map_fn -> template -> tokenize -> pack (the dict: common.py).
from mmengine.config import read_base

with read_base():
    from .common import *

row_type = 'sft'
dataset_map_fn = None               # 'alpaca', 'openai', 'pretrain', or a function
