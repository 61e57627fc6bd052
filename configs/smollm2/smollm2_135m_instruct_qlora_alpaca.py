# SmolLM2-135M-Instruct, QLoRA (4-bit NF4 base + LoRA), Alpaca; runs on the CPU too.
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.alpaca import *
    from .._base_.models.smollm2_135m_instruct import *
    from .._base_.models.qlora import *
    from .._base_.runtime.default import *
    from .._base_.schedules.cosine_epochs import *
