# SmolLM2-135M-Instruct, full fine-tune, Alpaca, packed to 512 tokens.
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.alpaca import *
    from .._base_.models.smollm2_135m_instruct import *
    from .._base_.runtime.default import *
    from .._base_.schedules.cosine_epochs import *

lr = 2e-5
