# Mistral-7B-Instruct-v0.3 (Mixtral-8x7B-Instruct: prompt_template = 'mixtral').
from mmengine.config import read_base

with read_base():
    from .hf_causal_lm import *

pretrained_model_name_or_path = 'mistralai/Mistral-7B-Instruct-v0.3'
prompt_template = 'mistral'
