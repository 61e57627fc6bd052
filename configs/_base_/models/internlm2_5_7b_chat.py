# InternLM2.5-7B-chat (its modelling code lives on the hub).
from mmengine.config import read_base

with read_base():
    from .hf_causal_lm import *

pretrained_model_name_or_path = 'internlm/internlm2_5-7b-chat'
prompt_template = 'internlm2_5_chat'
trust_remote_code = True
