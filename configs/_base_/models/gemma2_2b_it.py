# Gemma-2-2B-it (gated on the hub); Gemma 2 is trained with eager attention.
from mmengine.config import read_base

with read_base():
    from .hf_causal_lm import *

pretrained_model_name_or_path = 'google/gemma-2-2b-it'
prompt_template = 'gemma2'
attn_implementation = 'eager'
