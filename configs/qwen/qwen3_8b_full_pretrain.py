# Qwen3-8B, full fine-tune, plain text.
from mmengine.config import read_base

with read_base():
    from .._base_.models.qwen3_8b import *
    from .._base_.runtime.default import *
    from .._base_.schedules.cosine_epochs import *
    from .._base_.datasets.pretrain import *

prompt_template = None  # plain text, every token trained
pretrained_model_name_or_path = 'Qwen/Qwen3-8B-Base'
lr = 2e-5
