# Qwen3-8B, QLoRA (4-bit NF4 base + LoRA), Alpaca.
from mmengine.config import read_base

with read_base():
    from .._base_.models.qwen3_8b import *
    from .._base_.models.qlora import *
    from .._base_.runtime.default import *
    from .._base_.schedules.cosine_epochs import *
    from .._base_.datasets.alpaca import *
