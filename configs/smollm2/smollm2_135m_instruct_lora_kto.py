# KTO with LoRA on SmolLM2-135M-Instruct: unpaired rows {prompt, completion, label} (the
# persona pairs split into desirable and undesirable replies, generated, no download); your
# own rows:
#   xtuner-like train smollm2_135m_instruct_lora_kto \
#       --cfg-options data_files=kto_rows.jsonl   # {"prompt", "completion", "label": true|false}
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.persona_pairs import *
    from .._base_.models.smollm2_135m_instruct import *
    from .._base_.models.lora import *
    from .._base_.models.preference import *
    from .._base_.runtime.preference import *
    from .._base_.schedules.persona_demo import *

loss = dict(type='KTOLoss', beta=0.1, desirable_weight=1.0, undesirable_weight=1.0)
row_type = 'kto'
dataset_map_fn = 'kto'
