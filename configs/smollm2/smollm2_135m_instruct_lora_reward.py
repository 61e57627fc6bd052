# A reward model from SmolLM2-135M-Instruct with LoRA (+ a new score head): it learns to score
# replies that keep the persona above those that do not; held-out pair accuracy is logged
# before and after. Your own pairs (LLaMA-Factory format):
#   xtuner-like train smollm2_135m_instruct_lora_reward \
#       --cfg-options data_files=dpo_en_demo.json dataset_map_fn=sharegpt_preference max_length=1024
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.persona_pairs import *
    from .._base_.models.smollm2_135m_instruct import *
    from .._base_.models.lora import *
    from .._base_.models.reward import *
    from .._base_.runtime.preference import *
    from .._base_.schedules.persona_demo import *

evaluation_inputs = []              # a reward model scores, it does not chat
