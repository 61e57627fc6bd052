# Any Hugging Face causal LM: family bases set pretrained_model_name_or_path (a hub id, for
# online users; or a local folder) and the prompt_template the model was trained with.
from xtuner_like.model import SupervisedFinetune, load_causal_lm, load_tokenizer

pretrained_model_name_or_path = None
prompt_template = None
trust_remote_code = False           # True only for families whose code lives on the hub
dtype = 'auto'                      # bf16 on CUDA, fp32 on the CPU
attn_implementation = 'auto'        # flash_attention_2 when available, else sdpa
lora = None                         # full fine-tune unless an adapter base sets it
quantization = None                 # QLoRA bases set a 4-bit BitsAndBytesConfig
use_gradient_checkpointing = True   # 7B-class models: trade compute for memory
llm_head = 'causal_lm'              # the reward base sets 'reward' (a scalar score head)

tokenizer = dict(type=load_tokenizer,
                 pretrained_model_name_or_path='${pretrained_model_name_or_path}',
                 trust_remote_code='${trust_remote_code}')

# The language model, written once: every model base (SFT here, preference, reward) takes it
# as llm='${llm}' and changes it through the knobs above.
llm = dict(type=load_causal_lm,
           pretrained_model_name_or_path='${pretrained_model_name_or_path}',
           dtype='${dtype}',
           attn_implementation='${attn_implementation}',
           quantization='${quantization}',
           trust_remote_code='${trust_remote_code}',
           head='${llm_head}')

model = dict(
    type=SupervisedFinetune,
    llm='${llm}',
    lora='${lora}',
    use_gradient_checkpointing='${use_gradient_checkpointing}',
    # for the memory estimate logged at build (and for use_gradient_checkpointing='auto')
    max_tokens_per_batch='${max_length * batch_size}')
