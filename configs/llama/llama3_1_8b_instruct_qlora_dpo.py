# Llama-3.1-8B-Instruct, DPO with QLoRA (4-bit NF4 base + LoRA; the reference is the same model
# with its adapters off, so there is no second copy) on UltraFeedback pairs. For GPU users;
# offline, point it at a local file: --cfg-options data_files=prefs.parquet data_path=None
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.ultrafeedback import *
    from .._base_.models.llama3_1_8b_instruct import *
    from .._base_.models.qlora import *
    from .._base_.models.preference import *
    from .._base_.runtime.preference import *
    from .._base_.schedules.dpo_qlora import *
