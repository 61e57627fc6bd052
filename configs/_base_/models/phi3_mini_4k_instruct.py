# Phi-3-mini-4k-instruct (Phi-3.5: phi3_5_chat, same layout).
from mmengine.config import read_base

with read_base():
    from .hf_causal_lm import *

pretrained_model_name_or_path = 'microsoft/Phi-3-mini-4k-instruct'
prompt_template = 'phi3_chat'
