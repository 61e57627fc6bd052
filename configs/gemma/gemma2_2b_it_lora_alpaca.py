# Gemma-2-2B-it, LoRA r64 on all linear layers, Alpaca.
from mmengine.config import read_base

with read_base():
    from .._base_.models.gemma2_2b_it import *
    from .._base_.models.lora import *
    from .._base_.runtime.default import *
    from .._base_.schedules.cosine_epochs import *
    from .._base_.datasets.alpaca import *
