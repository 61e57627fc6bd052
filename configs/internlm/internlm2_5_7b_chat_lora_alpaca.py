# InternLM2.5-7B-chat, LoRA r64 on all linear layers, Alpaca.
from mmengine.config import read_base

with read_base():
    from .._base_.models.internlm2_5_7b_chat import *
    from .._base_.models.lora import *
    from .._base_.runtime.default import *
    from .._base_.schedules.cosine_epochs import *
    from .._base_.datasets.alpaca import *
