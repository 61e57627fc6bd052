# Llama-2-7B-chat, QLoRA (4-bit NF4 base + LoRA), OpenAssistant Guanaco.
from mmengine.config import read_base

with read_base():
    from .._base_.models.llama2_7b_chat import *
    from .._base_.models.qlora import *
    from .._base_.runtime.default import *
    from .._base_.schedules.cosine_epochs import *
    from .._base_.datasets.oasst1 import *
