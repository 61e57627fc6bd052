# Alpaca (instruction, input, output). Offline, point data_files at a local copy:
#   --cfg-options data_files=path/to/alpaca.json
from mmengine.config import read_base
with read_base():
    from .sft import *

data_path = 'tatsu-lab/alpaca'
dataset_map_fn = 'alpaca'
system = 'alpaca'
max_length = 512
