# Fine-tune on YOUR OWN data: a JSONL file with one conversation per line, in the OpenAI
# chat format (the format most tools export):
#
#   {"messages": [{"role": "system", "content": "You are a helpful assistant."},
#                 {"role": "user", "content": "What is the capital of France?"},
#                 {"role": "assistant", "content": "Paris."}]}
#
# - "system" is optional; "user" and "assistant" alternate; only the assistant's words are
#   trained (the loss falls on them and on the end-of-turn token).
# - Tool use works too: an assistant message with "tool_calls" (trained) followed by
#   {"role": "tool", "content": "..."} messages (not trained), then the assistant's reply;
#   a row's "tools" list is rendered after the system text (see `xtuner-like list-dataset-format -v`).
# - "content" may be a list of typed parts ({"type": "text", "text": ...}, reasoning, tool
#   calls); an empty assistant reply is a bad row; DPO/KTO rows are refused (not SFT data).
#
# Before training, check every row and see what will be trained:
#   xtuner-like check-custom-dataset custom_openai_jsonl_lora --cfg-options data_files=my.jsonl
#   xtuner-like log-dataset custom_openai_jsonl_lora --show 3 --cfg-options data_files=my.jsonl
# Then train:
#   xtuner-like train custom_openai_jsonl_lora --cfg-options data_files=my.jsonl
#
# Several files: data_files=[a.jsonl,b.jsonl]. Another model: copy this file and import a
# different base from configs/_base_/models (its prompt_template comes with it).
from mmengine.config import read_base

with read_base():
    from .._base_.models.smollm2_135m_instruct import *
    from .._base_.models.lora import *
    from .._base_.runtime.default import *
    from .._base_.schedules.cosine_epochs import *
    from .._base_.datasets.sft import *

data_files = 'data/my_conversations.jsonl'  # your file (relative to where you run)
dataset_map_fn = 'openai'
system = None                       # default system text for rows without one
max_length = 2048                   # longer conversations keep whole turns (counted)
on_bad_row = 'error'                # 'skip' drops bad rows (and logs how many)
max_epochs = 3
