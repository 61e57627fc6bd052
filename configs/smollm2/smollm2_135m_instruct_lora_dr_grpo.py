# Dr. GRPO (no length or std normalisation) on the addition task of the GRPO recipe.
from mmengine.config import read_base

with read_base():
    from .smollm2_135m_instruct_lora_grpo import *

loss = dict(type='DrGRPOLoss', max_completion_length='${max_completion_length}', beta=0.0)
