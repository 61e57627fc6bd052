# Qwen3-8B (ChatML; <think>...</think> stays part of the reply text).
from mmengine.config import read_base

with read_base():
    from .hf_causal_lm import *

pretrained_model_name_or_path = 'Qwen/Qwen3-8B'
prompt_template = 'qwen3_chat'
