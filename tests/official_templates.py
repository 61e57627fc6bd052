"""The families' official chat templates, written out for the tests (no hub at test time).

Each is the ``chat_template`` of the family's ``tokenizer_config.json`` as published with the
model named beside it, transcribed by hand or from the public copy named above it (tool
branches that our Hermes-style tool text does not follow are left out, and said so).
Families without a Jinja template (Vicuna/WizardLM, ChatGLM2, Baichuan, InternLM v1,
WizardCoder) have their official prompt builders written as functions. Not found, so
compared with a sibling: CodeLlama-Instruct's own string (Llama-2-chat's, which its card
gives) and InternLM2.5's (InternLM2's). No official template exists for 'default' (Alpaca
text) and 'moss_sft' (MOSS-003's markers live in its data).
"""
from __future__ import annotations

# HuggingFaceTB/SmolLM2-135M-Instruct (also what the embedded GGUF carries).
SMOLLM2 = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}")

# Qwen/Qwen2-7B-Instruct.
QWEN2 = SMOLLM2.replace('You are a helpful AI assistant named SmolLM, trained by Hugging Face',
                        'You are a helpful assistant.')

# The tool list both Qwen templates write (identical in Qwen2.5 and Qwen3).
QWEN_TOOL_LIST = r"""    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
"""

# Qwen/Qwen2.5-7B-Instruct (complete, tools included).
QWEN2_5 = r"""{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
""" + QWEN_TOOL_LIST + r"""{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
"""

# Qwen/Qwen3-8B (complete, tools and thinking included).
QWEN3 = r"""{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\n\n' }}
    {%- endif %}
    {{- "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
""" + QWEN_TOOL_LIST + r"""{%- else %}
    {%- if messages[0].role == 'system' %}
        {{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and message.content is string and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.content is string %}
        {%- set content = message.content %}
    {%- else %}
        {%- set content = '' %}
    {%- endif %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\n' + content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is string %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- else %}
            {%- if '</think>' in content %}
                {%- set reasoning_content = content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
                {%- set content = content.split('</think>')[-1].lstrip('\n') %}
            {%- endif %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<|im_start|>' + message.role + '\n<think>\n' + reasoning_content.strip('\n') + '\n</think>\n\n' + content.lstrip('\n') }}
            {%- else %}
                {{- '<|im_start|>' + message.role + '\n' + content }}
            {%- endif %}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\n' + content }}
        {%- endif %}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and content) or (not loop.first) %}
                    {{- '\n' }}
                {%- endif %}
                {%- if tool_call.function %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '<tool_call>\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments | tojson }}
                {%- endif %}
                {{- '}\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- endif %}
{%- endif %}"""

# meta-llama/Meta-Llama-3-8B-Instruct.
LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | "
    "trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}"
    "{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")

# meta-llama/Llama-3.1-8B-Instruct (complete, tools included; as quoted in
# microsoft/onnxruntime-extensions shared/api/chat_template.cc, LLAMA3_3_CHAT_TEMPLATE, which
# Llama-3.1 and 3.3 share). Its tools are JSON in the first user turn, calls are a bare JSON
# reply and results an ipython turn: not the Hermes-style text we train (see test_official).
LLAMA3_1 = r"""{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message + builtin tools #}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\n\n"}}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{#- Custom tools are passed in a user message with some extra guidance #}
{%- if tools_in_user_message and not tools is none %}
    {#- Extract the first user message so we can plug it in here #}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
{%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\n\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {{- "with its proper arguments that best answers the given prompt.\n\n" }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {%- if builtin_tools is defined and tool_call.name in builtin_tools %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
            {{- "<|python_tag|>" + tool_call.name + ".call(" }}
            {%- for arg_name, arg_val in tool_call.arguments | items %}
                {{- arg_name + '="' + arg_val + '"' }}
                {%- if not loop.last %}
                    {{- ", " }}
                {%- endif %}
                {%- endfor %}
            {{- ")" }}
        {%- else  %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
            {{- '{"name": "' + tool_call.name + '", ' }}
            {{- '"parameters": ' }}
            {{- tool_call.arguments | tojson }}
            {{- "}" }}
        {%- endif %}
        {%- if builtin_tools is defined %}
            {#- This means we're in ipython mode #}
            {{- "<|eom_id|>" }}
        {%- else %}
            {{- "<|eot_id|>" }}
        {%- endif %}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
"""

# meta-llama/Llama-2-7b-chat-hf.
LLAMA2 = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set "
    "system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if "
    "(message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation "
    "roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == "
    "0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + "
    "'\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}"
    "{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + "
    "' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + "
    "eos_token }}{% endif %}{% endfor %}")

# mistralai/Mistral-7B-Instruct-v0.3 (complete, tools included; the "v3" template as quoted
# in ggml-org/llama.cpp tests/test-chat-template.cpp). Its system text sits in the last user
# turn only when that turn is the last message (a generation prompt). Tools are
# [AVAILABLE_TOOLS] before the last user turn, calls [TOOL_CALLS] with 9-character ids,
# results [TOOL_RESULTS] (our 'mistral' tool style, compared in test_official).
MISTRAL_V03 = r"""{%- if messages[0]["role"] == "system" %}
    {%- set system_message = messages[0]["content"] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}
{%- set user_messages = loop_messages | selectattr("role", "equalto", "user") | list %}

{#- This block checks for alternating user/assistant messages, skipping tool calling messages #}
{%- set ns = namespace() %}
{%- set ns.index = 0 %}
{%- for message in loop_messages %}
    {%- if not (message.role == "tool" or message.role == "tool_results" or (message.tool_calls is defined and message.tool_calls is not none)) %}
        {%- if (message["role"] == "user") != (ns.index % 2 == 0) %}
            {{- raise_exception("After the optional system message, conversation roles must alternate user/assistant/user/assistant/...") }}
        {%- endif %}
        {%- set ns.index = ns.index + 1 %}
    {%- endif %}
{%- endfor %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if message["role"] == "user" %}
        {%- if tools is not none and (message == user_messages[-1]) %}
            {{- "[AVAILABLE_TOOLS] [" }}
            {%- for tool in tools %}
                {%- set tool = tool.function %}
                {{- '{"type": "function", "function": {' }}
                {%- for key, val in tool.items() if key != "return" %}
                    {%- if val is string %}
                        {{- '"' + key + '": "' + val + '"' }}
                    {%- else %}
                        {{- '"' + key + '": ' + val|tojson }}
                    {%- endif %}
                    {%- if not loop.last %}
                        {{- ", " }}
                    {%- endif %}
                {%- endfor %}
                {{- "}}" }}
                {%- if not loop.last %}
                    {{- ", " }}
                {%- else %}
                    {{- "]" }}
                {%- endif %}
            {%- endfor %}
            {{- "[/AVAILABLE_TOOLS]" }}
            {%- endif %}
        {%- if loop.last and system_message is defined %}
            {{- "[INST] " + system_message + "\n\n" + message["content"] + "[/INST]" }}
        {%- else %}
            {{- "[INST] " + message["content"] + "[/INST]" }}
        {%- endif %}
    {%- elif message.tool_calls is defined and message.tool_calls is not none %}
        {{- "[TOOL_CALLS] [" }}
        {%- for tool_call in message.tool_calls %}
            {%- set out = tool_call.function|tojson %}
            {{- out[:-1] }}
            {%- if not tool_call.id is defined or tool_call.id|length != 9 %}
                {{- raise_exception("Tool call IDs should be alphanumeric strings with length 9!") }}
            {%- endif %}
            {{- ', "id": "' + tool_call.id + '"}' }}
            {%- if not loop.last %}
                {{- ", " }}
            {%- else %}
                {{- "]" + eos_token }}
            {%- endif %}
        {%- endfor %}
    {%- elif message["role"] == "assistant" %}
        {{- " " + message["content"]|trim + eos_token}}
    {%- elif message["role"] == "tool_results" or message["role"] == "tool" %}
        {%- if message.content is defined and message.content.content is defined %}
            {%- set content = message.content.content %}
        {%- else %}
            {%- set content = message.content %}
        {%- endif %}
        {{- '[TOOL_RESULTS] {"content": ' + content|string + ", " }}
        {%- if not message.tool_call_id is defined or message.tool_call_id|length != 9 %}
            {{- raise_exception("Tool call IDs should be alphanumeric strings with length 9!") }}
        {%- endif %}
        {{- '"call_id": "' + message.tool_call_id + '"}[/TOOL_RESULTS]' }}
    {%- else %}
        {{- raise_exception("Only user and assistant roles are supported, with the exception of an initial optional system message!") }}
    {%- endif %}
{%- endfor %}"""

# deepseek-ai/deepseek-llm-7b-chat (and DeepSeek-V2-Chat).
DEEPSEEK_LLM = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}"
    "{% endif %}{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
    "{{ 'User: ' + message['content'] + '\n\n' }}{% elif message['role'] == 'assistant' %}"
    "{{ 'Assistant: ' + message['content'] + eos_token }}{% elif message['role'] == 'system' %}"
    "{{ message['content'] + '\n\n' }}{% endif %}{% endfor %}{% if add_generation_prompt %}"
    "{{ 'Assistant:' }}{% endif %}")

# deepseek-ai/DeepSeek-R1, its path without tools: reasoning is dropped from every reply.
DEEPSEEK_R1 = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}"
    "{% endif %}{% set ns = namespace(system_prompt='', is_first_sp=true) %}{%- for message in "
    "messages %}{%- if message['role'] == 'system' %}{%- if ns.is_first_sp %}{% set "
    "ns.system_prompt = ns.system_prompt + message['content'] %}{% set ns.is_first_sp = false "
    "%}{%- else %}{% set ns.system_prompt = ns.system_prompt + '\\n\\n' + message['content'] %}"
    "{%- endif %}{%- endif %}{%- endfor %}{{ bos_token }}{{ ns.system_prompt }}{%- for message "
    "in messages %}{%- if message['role'] == 'user' %}{{'<｜User｜>' + message['content']}}"
    "{%- endif %}{%- if message['role'] == 'assistant' and message['content'] is not none %}"
    "{% set content = message['content'] %}{% if '</think>' in content %}{% set content = "
    "content.split('</think>')[-1] %}{% endif %}{{'<｜Assistant｜>' + content + "
    "'<｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor %}{% if add_generation_prompt %}"
    "{{'<｜Assistant｜><think>\\n'}}{% endif %}")

# google/gemma-2-2b-it (no system role).
GEMMA2 = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role "
    "not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == "
    "'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must "
    "alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == "
    "'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif "
    "%}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}")

# HuggingFaceH4/zephyr-7b-beta.
ZEPHYR = (
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + "
    "message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ "
    "'<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == "
    "'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n"
    "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n"
    "{% endfor %}")

# microsoft/Phi-3-mini-4k-instruct: it appends the eos after a full conversation (not
# trained as such by anyone), so only its generation prompts are compared.
PHI3 = (
    "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + "
    "message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' + "
    "message['content'] + '<|end|>\n'}}{% elif message['role'] == 'assistant' %}"
    "{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}{% if "
    "add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}")


def vicuna_v1_1(messages: list[dict], add_generation_prompt: bool = False, **_) -> str:
    """FastChat's ``vicuna_v1.1``: sep ' ', sep2 '</s>', roles USER / ASSISTANT."""
    system = ("A chat between a curious user and an artificial intelligence assistant. "
              "The assistant gives helpful, detailed, and polite answers to the user's "
              "questions.")
    if messages and messages[0]['role'] == 'system':
        system, messages = messages[0]['content'], messages[1:]
    text = system + ' '
    for m in messages:
        if m['role'] == 'user':
            text += 'USER: ' + m['content'] + ' '
        else:
            text += 'ASSISTANT: ' + m['content'] + '</s>'
    return text + ('ASSISTANT:' if add_generation_prompt else '')


# ---- The other shipped families. Source named above each; "(llama.cpp test)" means the
# template as quoted, with its model's name, in ggml-org/llama.cpp tests/test-chat-template.cpp;
# "(BFCL)" means as quoted from the model's tokenizer_config.json in ShishirPatil/gorilla
# berkeley-function-call-leaderboard/bfcl_eval/model_handler/local_inference/<file>.

# teknium/OpenHermes-2.5-Mistral-7B (llama.cpp test): plain ChatML, no default system.
# openbmb/MiniCPM3-4B ships the same string (BFCL minicpm.py).
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] "
    "+ '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' "
    "}}{% endif %}")

# internlm/internlm2-chat-7b tokenizer_config.json (as vendored with InternVL2's InternLM2
# tokenizer): ChatML after the bos. internlm2_5-7b-chat is compared against the same string.
INTERNLM2 = "{{ bos_token }}" + CHATML

# microsoft/phi-4 (BFCL phi.py).
PHI4 = (
    "{% for message in messages %}{% if (message['role'] == 'system') %}{{'<|im_start|>system"
    "<|im_sep|>' + message['content'] + '<|im_end|>'}}{% elif (message['role'] == 'user') %}"
    "{{'<|im_start|>user<|im_sep|>' + message['content'] + '<|im_end|>'}}{% elif "
    "(message['role'] == 'assistant') %}{{'<|im_start|>assistant<|im_sep|>' + message['content'] "
    "+ '<|im_end|>'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>"
    "assistant<|im_sep|>' }}{% endif %}")

# microsoft/Phi-3.5-mini-instruct (microsoft/onnxruntime-extensions
# operators/tokenizer/tokenizer_impl.cc, PHI3_5_CHAT_TEMPLATE): like Phi-3, and it too
# appends the eos after a full conversation, so only generation prompts are compared.
PHI3_5 = PHI3.replace("message['role'] == 'system' %}",
                      "message['role'] == 'system' and message['content'] %}")

# google/gemma-7b-it (llama.cpp test): Gemma-2's template without the bos, which its
# tokenizer adds ('add-bos' below).
GEMMA = GEMMA2.replace("{{ bos_token }}", "", 1)

# google/gemma-3-*-it (BFCL gemma.py, quoting tokenizer_config.json): the system text opens
# the first user turn.
GEMMA3 = r"""{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'image' -%}
                {{ '<start_of_image>' }}
            {%- elif item['type'] == 'text' -%}
                {{ item['text'] | trim }}
            {%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\n'}}
{%- endif -%}
"""

# CohereForAI/c4ai-command-r-plus (llama.cpp test), its default template (the tool_use and
# rag templates are separate): messages stripped, no default preamble.
COHERE = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% elif false == true %}{% set "
    "loop_messages = messages %}{% set system_message = 'You are Command-R, a brilliant, "
    "sophisticated, AI-assistant trained to assist human users by providing thorough responses. "
    "You are trained by Cohere.' %}{% else %}{% set loop_messages = messages %}{% set "
    "system_message = false %}{% endif %}{% if system_message != false %}{{ "
    "'<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>' + system_message + '<|END_OF_TURN_TOKEN|>' }}"
    "{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != "
    "(loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate "
    "user/assistant/user/assistant/...') }}{% endif %}{% set content = message['content'] %}"
    "{% if message['role'] == 'user' %}{{ '<|START_OF_TURN_TOKEN|><|USER_TOKEN|>' + "
    "content.strip() + '<|END_OF_TURN_TOKEN|>' }}{% elif message['role'] == 'assistant' %}{{ "
    "'<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>'  + content.strip() + '<|END_OF_TURN_TOKEN|>' }}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>' }}{% endif %}")

# THUDM/chatglm3-6b (llama.cpp test). It writes no end of reply (ChatGLM3 stops at the next
# role token; its fine-tuning script trains an eos there), so full conversations, which hold
# our trained eos, are not compared; generation prompts after a history are not either.
CHATGLM3 = (
    "{% for message in messages %}{% if loop.first %}[gMASK]sop<|{{ message['role'] }}|>\n "
    "{{ message['content'] }}{% else %}<|{{ message['role'] }}|>\n {{ message['content'] }}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}")

# deepseek-ai/deepseek-coder-33b-instruct (llama.cpp test): a default system text.
DEEPSEEK_CODER = (
    "{% if not add_generation_prompt is defined %}\n{% set add_generation_prompt = false %}\n"
    "{% endif %}\n{%- set ns = namespace(found=false) -%}\n{%- for message in messages -%}\n"
    "    {%- if message['role'] == 'system' -%}\n        {%- set ns.found = true -%}\n"
    "    {%- endif -%}\n{%- endfor -%}\n{{bos_token}}{%- if not ns.found -%}\n{{'You are an AI "
    "programming assistant, utilizing the Deepseek Coder model, developed by Deepseek Company, "
    "and you only answer questions related to computer science. For politically sensitive "
    "questions, security and privacy issues, and other non-computer science questions, you "
    "will refuse to answer\\n'}}\n{%- endif %}\n{%- for message in messages %}\n    {%- if "
    "message['role'] == 'system' %}\n{{ message['content'] }}\n    {%- else %}\n        {%- if "
    "message['role'] == 'user' %}\n{{'### Instruction:\\n' + message['content'] + '\\n'}}\n"
    "        {%- else %}\n{{'### Response:\\n' + message['content'] + '\\n<|EOT|>\\n'}}\n"
    "        {%- endif %}\n    {%- endif %}\n{%- endfor %}\n{% if add_generation_prompt %}\n"
    "{{'### Response:'}}\n{% endif %}")

# deepseek-ai/DeepSeek-Coder-V2-Instruct (BFCL deepseek_coder.py, history; the quote
# indents between tags, that whitespace is dropped here, and its tool-call branch is left
# out): the <｜User｜>/<｜Assistant｜> text DeepSeek-V3 also writes on these tool-free paths.
DEEPSEEK_V3 = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}"
    "{% endif %}{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, "
    "system_prompt='') %}{%- for message in messages %}{%- if message['role'] == 'system' %}"
    "{% set ns.system_prompt = message['content'] %}{%- endif %}{%- endfor %}"
    "{{bos_token}}{{ns.system_prompt}}{%- for message in messages %}{%- if message['role'] "
    "== 'user' %}{%- set ns.is_tool = false -%}{{'<｜User｜>' + message['content']}}"
    "{%- endif %}{%- if message['role'] == 'assistant' and message['content'] is not none %}"
    "{%- if ns.is_tool %}{{'<｜tool▁outputs▁end｜>' + message['content'] + "
    "'<｜end▁of▁sentence｜>'}}{%- set ns.is_tool = false -%}{%- else %}"
    "{{'<｜Assistant｜>' + message['content'] + '<｜end▁of▁sentence｜>'}}{%- endif %}"
    "{%- endif %}{%- endfor -%}{% if ns.is_tool %}{{'<｜tool▁outputs▁end｜>'}}{% endif %}"
    "{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜>'}}{% endif %}")

# openbmb/MiniCPM-2B-sft-bf16 (llama.cpp test, under a MiniCPM GGUF's name): messages
# stripped, no bos in the text (its tokenizer adds it: 'add-bos'), and no end of reply
# (MiniCPM's fine-tuning appends the eos we train), so only first-turn prompts compare.
MINICPM = (
    "{% for message in messages %}{% if message['role'] == 'user' %}{{'<用户>' + "
    "message['content'].strip() + '<AI>'}}{% else %}{{message['content'].strip()}}{% endif %}"
    "{% endfor %}")

# mistralai/Mixtral-8x7B-Instruct-v0.1 as released (llama.cpp test, the same string under
# Mistral-7B-Instruct-v0.2's "old pre-v1" name): no system role. (Mistral later replaced it
# with the "v1" template, ' [INST] ' with a leading space and a system text; not followed.)
MIXTRAL = (
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != "
    "(loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate "
    "user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ "
    "'[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
    "{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant "
    "roles are supported!') }}{% endif %}{% endfor %}")


# ---- Families without a Jinja template: their official prompt builders, as functions.

def _split_system(messages: list[dict]) -> tuple[str, list[dict]]:
    if messages and messages[0]['role'] == 'system':
        return messages[0]['content'], messages[1:]
    return '', messages


def _pairs(messages: list[dict]) -> tuple[list[tuple[str, str]], str | None]:
    """(history of (query, reply), the last unanswered query or None)."""
    history, query = [], None
    for m in messages:
        if m['role'] == 'user':
            query = m['content']
        else:
            history.append((query, m['content']))
            query = None
    return history, query


def chatglm2(messages: list[dict], add_generation_prompt: bool = False, **_) -> str:
    """THUDM/chatglm2-6b tokenization_chatglm.py ``build_prompt`` (rounds counted from 1),
    after the ``[gMASK]sop`` its tokenizer prepends. It takes no system text."""
    _, messages = _split_system(messages)
    history, query = _pairs(messages)
    text = '[gMASK]sop' + ''.join(f'[Round {i + 1}]\n\n问：{q}\n\n答：{a}\n\n'
                                  for i, (q, a) in enumerate(history))
    if add_generation_prompt:
        text += f'[Round {len(history) + 1}]\n\n问：{query}\n\n答：'
    return text


def _baichuan(user: str, assistant: str):
    def build(messages: list[dict], add_generation_prompt: bool = False, **_) -> str:
        """Baichuan's generation_utils.py ``build_chat_input`` as text: the system text,
        then each message after its role token; the assistant token opens the reply."""
        system, messages = _split_system(messages)
        text = system + ''.join((user if m['role'] == 'user' else assistant) + m['content']
                                for m in messages)
        return text + (assistant if add_generation_prompt else '')
    return build


# baichuan-inc/Baichuan-13B-Chat (user_token_id 195, assistant 196) and Baichuan2-*-Chat
# (reserved_106 / reserved_107). Their history carries no eos, which their fine-tuning
# trains after every reply (as we do), so only first-turn prompts compare.
baichuan = _baichuan('<reserved_102>', '<reserved_103>')
baichuan2 = _baichuan('<reserved_106>', '<reserved_107>')


def internlm_v1(messages: list[dict], add_generation_prompt: bool = False, **_) -> str:
    """internlm/internlm-chat-7b modeling_internlm.py ``build_inputs`` (every history
    record opens with <s>; the first query does when there is no history)."""
    _, messages = _split_system(messages)
    history, query = _pairs(messages)
    text = ''.join(f'<s><|User|>:{q}<eoh>\n<|Bot|>:{a}<eoa>\n' for q, a in history) or '<s>'
    return text + (f'<|User|>:{query}<eoh>\n<|Bot|>:' if add_generation_prompt else '')


def wizardcoder(messages: list[dict], add_generation_prompt: bool = False, **_) -> str:
    """WizardLM/WizardCoder-15B-V1.0 README: the Alpaca preamble and one instruction (the
    model card defines no system text and no multi-turn form)."""
    _, messages = _split_system(messages)
    return ('Below is an instruction that describes a task. Write a response that '
            'appropriately completes the request.\n\n### Instruction:\n'
            f'{messages[0]["content"]}\n\n### Response:')


# our template name -> (official template, bos, eos, what is compared)
# 'full': whole conversations (what we train on); 'prompt': generation prompts;
# '-no-system' / 'no-system': only conversations without a system message (the template
# writes none, or the family has no system text); 'no-padded-system': not the system text
# with outer whitespace; 'prompt-first': only the
# first turn's generation prompt; 'add-bos': the official text lacks the bos its tokenizer
# adds, so the bos is prepended to it.
OFFICIAL = {
    'smollm2_chat': (SMOLLM2, '<|im_start|>', '<|im_end|>', {'full', 'prompt'}),
    'qwen_chat': (QWEN2, '', '<|im_end|>', {'full', 'prompt'}),
    'qwen2_5_chat': (QWEN2_5, '', '<|im_end|>', {'full', 'prompt', 'tools'}),
    'qwen3_chat': (QWEN3, '', '<|im_end|>', {'full', 'prompt', 'tools', 'thinking'}),
    'llama3_chat': (LLAMA3, '<|begin_of_text|>', '<|eot_id|>', {'full', 'prompt'}),
    'llama3_1_chat': (LLAMA3_1, '<|begin_of_text|>', '<|eot_id|>', {'full', 'prompt'}),
    # Llama-2 strips the system block and the first user text as one string
    # ('<<SYS>>\n' + system + ... + user).strip(); we strip each: they differ only on a system
    # text with outer whitespace.
    'llama2_chat': (LLAMA2, '<s>', '</s>', {'full', 'prompt', 'no-padded-system'}),
    'mistral': (MISTRAL_V03, '<s>', '</s>', {'full-no-system', 'prompt'}),
    'deepseek_moe': (DEEPSEEK_LLM, '<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>',
                     {'full', 'prompt'}),
    'deepseek_r1': (DEEPSEEK_R1, '<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>',
                    {'prompt', 'thinking-prompt'}),
    'gemma2': (GEMMA2, '<bos>', '<eos>', {'full-no-system', 'prompt-no-system'}),
    'zephyr': (ZEPHYR, '', '</s>', {'full', 'prompt'}),
    'phi3_chat': (PHI3, '', '<|endoftext|>', {'prompt'}),
    'vicuna': (vicuna_v1_1, '', '</s>', {'full', 'prompt'}),
    # Families compared in this second pass.
    'chatml': (CHATML, '', '<|im_end|>', {'full', 'prompt'}),
    'minicpm3': (CHATML, '<s>', '<|im_end|>', {'full', 'prompt'}),
    'internlm2_chat': (INTERNLM2, '<s>', '</s>', {'full', 'prompt'}),
    'internlm2_5_chat': (INTERNLM2, '<s>', '</s>', {'full', 'prompt'}),
    'phi4_chat': (PHI4, '<|endoftext|>', '<|im_end|>', {'full', 'prompt'}),
    'phi3_5_chat': (PHI3_5, '<s>', '<|endoftext|>', {'prompt'}),
    'code_llama_chat': (LLAMA2, '<s>', '</s>', {'full', 'prompt', 'no-padded-system'}),
    'mixtral': (MIXTRAL, '<s>', '</s>', {'full-no-system', 'prompt-no-system'}),
    'gemma': (GEMMA, '<bos>', '<eos>', {'full-no-system', 'prompt-no-system', 'add-bos'}),
    'gemma3': (GEMMA3, '<bos>', '<eos>', {'full', 'prompt'}),
    'cohere_chat': (COHERE, '<BOS_TOKEN>', '<|END_OF_TURN_TOKEN|>', {'full', 'prompt'}),
    'chatglm3': (CHATGLM3, '', '</s>', {'prompt-first'}),
    'chatglm2': (chatglm2, '', '</s>', {'prompt-first', 'no-system'}),
    'deepseek_coder': (DEEPSEEK_CODER, '<｜begin▁of▁sentence｜>', '<|EOT|>', {'full', 'prompt'}),
    'deepseek_v2': (DEEPSEEK_LLM, '<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>',
                    {'full', 'prompt'}),
    'deepseek_v3': (DEEPSEEK_V3, '<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>',
                    {'full', 'prompt'}),
    'minicpm': (MINICPM, '<s>', '</s>', {'prompt-first', 'add-bos'}),
    'baichuan_chat': (baichuan, '', '</s>', {'prompt-first'}),
    'baichuan2_chat': (baichuan2, '', '</s>', {'prompt-first'}),
    'internlm_chat': (internlm_v1, '', '</s>', {'prompt-no-system'}),
    'wizardlm': (vicuna_v1_1, '', '</s>', {'full', 'prompt'}),
    'wizardcoder': (wizardcoder, '', '</s>', {'prompt-first', 'no-system'}),
    'qwen3_chat_keep_thinking': (QWEN3, '', '<|im_end|>', {'full', 'prompt', 'tools'}),
}
