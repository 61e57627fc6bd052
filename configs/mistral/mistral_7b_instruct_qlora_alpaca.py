# Mistral-7B-Instruct-v0.3, QLoRA (4-bit NF4 base + LoRA), Alpaca.
from mmengine.config import read_base

with read_base():
    from .._base_.models.mistral_7b_instruct import *
    from .._base_.models.qlora import *
    from .._base_.runtime.default import *
    from .._base_.schedules.cosine_epochs import *
    from .._base_.datasets.alpaca import *
