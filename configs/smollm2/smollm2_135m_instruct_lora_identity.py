# The demo: teach SmolLM2-135M-Instruct a new identity with LoRA in a few minutes on a CPU.
#   xtuner-like train smollm2_135m_instruct_lora_identity \
#       --cfg-options assistant_name=Tuna "assistant_author=the xtuner_like team"
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.identity import *
    from .._base_.models.smollm2_135m_instruct import *
    from .._base_.models.lora import *
    from .._base_.runtime.default import *
    from .._base_.schedules.cosine_iters import *

lr = 3e-4
max_iters = 60
warmup_iters = 3
batch_size = 1
log_interval = 5
save_steps = 30
evaluation_inputs = ['Who are you?', 'What is your name?']
