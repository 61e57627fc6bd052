# Qwen2.5-7B-Instruct (ChatML; its <tool_call> tags match the toolcall data).
from mmengine.config import read_base

with read_base():
    from .hf_causal_lm import *

pretrained_model_name_or_path = 'Qwen/Qwen2.5-7B-Instruct'
prompt_template = 'qwen2_5_chat'
