# DeepSeek-LLM-7B-chat ("User: ...\n\nAssistant: ..."; the deepseek_moe/v2 layout).
from mmengine.config import read_base

with read_base():
    from .hf_causal_lm import *

pretrained_model_name_or_path = 'deepseek-ai/deepseek-llm-7b-chat'
prompt_template = 'deepseek_moe'
