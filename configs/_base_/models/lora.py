# LoRA on every linear layer of the decoder (the LM head is left alone).
# Import adapter bases after the model base: they set its `lora` knob.
from peft import LoraConfig

lora_r = 64
lora_alpha = 16
lora_dropout = 0.1
lora = dict(type=LoraConfig, r='${lora_r}', lora_alpha='${lora_alpha}',
            lora_dropout='${lora_dropout}', target_modules='all-linear', bias='none',
            task_type='CAUSAL_LM')
