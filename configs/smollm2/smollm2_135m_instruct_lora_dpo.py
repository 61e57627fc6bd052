# DPO with LoRA on SmolLM2-135M-Instruct: prefer replies that keep the assistant's persona
# (generated pairs, no download). Your own pairs (LLaMA-Factory format):
#   xtuner-like train smollm2_135m_instruct_lora_dpo \
#       --cfg-options data_files=dpo_en_demo.json dataset_map_fn=sharegpt_preference max_length=1024
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.persona_pairs import *
    from .._base_.models.smollm2_135m_instruct import *
    from .._base_.models.lora import *
    from .._base_.models.preference import *
    from .._base_.runtime.preference import *
    from .._base_.schedules.persona_demo import *

# DPO + an NLL term on the chosen replies (RPO): with it a 20-step run also learns to *say*
# the persona, not only to score it higher; rpo_alpha=None is plain DPO.
loss = dict(type='DPOLoss', beta=0.1, label_smoothing=0.0, rpo_alpha=1.0)
