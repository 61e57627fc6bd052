# SimPO with LoRA on SmolLM2-135M-Instruct: no reference model; length-normalised rewards and
# a target margin gamma. Persona pairs (generated, no download); your own pairs
# (LLaMA-Factory format):
#   xtuner-like train smollm2_135m_instruct_lora_simpo \
#       --cfg-options data_files=dpo_en_demo.json dataset_map_fn=sharegpt_preference max_length=1024
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.persona_pairs import *
    from .._base_.models.smollm2_135m_instruct import *
    from .._base_.models.lora import *
    from .._base_.models.preference import *
    from .._base_.runtime.preference import *
    from .._base_.schedules.persona_demo import *

loss = dict(type='SimPOLoss', beta=2.0, gamma=0.5)
