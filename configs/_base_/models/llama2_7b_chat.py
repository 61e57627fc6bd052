# Llama-2-7B-chat (gated on the hub: accept the licence, then `huggingface-cli login`).
from mmengine.config import read_base

with read_base():
    from .hf_causal_lm import *

pretrained_model_name_or_path = 'meta-llama/Llama-2-7b-chat-hf'
prompt_template = 'llama2_chat'
