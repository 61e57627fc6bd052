# Llama-3.1-8B-Instruct (gated on the hub). Llama 3.2 / 3.3 use the same template.
from mmengine.config import read_base

with read_base():
    from .hf_causal_lm import *

pretrained_model_name_or_path = 'meta-llama/Llama-3.1-8B-Instruct'
prompt_template = 'llama3_1_chat'
