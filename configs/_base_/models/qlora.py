# QLoRA: the base model in 4-bit NF4 with double quantisation, LoRA adapters on top.
from mmengine.config import read_base
from transformers import BitsAndBytesConfig

with read_base():
    from .lora import *

qlora_compute_dtype = 'float32'     # 'bfloat16' on GPUs that support it
quantization = dict(type=BitsAndBytesConfig, load_in_4bit=True, bnb_4bit_quant_type='nf4',
                    bnb_4bit_use_double_quant=True,
                    bnb_4bit_compute_dtype='${qlora_compute_dtype}')
