# Qwen2.5-7B-Instruct, full fine-tune, Alpaca.
from mmengine.config import read_base

with read_base():
    from .._base_.models.qwen2_5_7b_instruct import *
    from .._base_.runtime.default import *
    from .._base_.schedules.cosine_epochs import *
    from .._base_.datasets.alpaca import *

lr = 2e-5
