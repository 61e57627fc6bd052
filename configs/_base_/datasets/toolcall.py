# Function calling in ShareGPT form (Glaive v2 as converted by LLaMA-Factory): human, gpt,
# function_call (trained, rendered as <tool_call> JSON) and observation (not trained,
# rendered as <tool_response>) turns, with each row's `tools` in the system text.
# Offline: --cfg-options data_files=path/to/glaive_toolcall_en_demo.json
from mmengine.config import read_base
with read_base():
    from .sft import *

data_path = 'llamafactory/glaive_toolcall_en'
dataset_map_fn = 'sharegpt'
max_length = 2048
