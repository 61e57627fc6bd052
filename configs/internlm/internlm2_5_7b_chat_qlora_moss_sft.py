# InternLM2.5-7B-chat, QLoRA (4-bit NF4 base + LoRA), MOSS-003 SFT.
from mmengine.config import read_base

with read_base():
    from .._base_.models.internlm2_5_7b_chat import *
    from .._base_.models.qlora import *
    from .._base_.runtime.default import *
    from .._base_.schedules.cosine_epochs import *
    from .._base_.datasets.moss_sft import *

prompt_template = 'moss_sft'  # MOSS's data carries its own markers
