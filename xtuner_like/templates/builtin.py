"""Built-in prompt templates, each following its model family's official chat format.

To add one: ``register_template(PromptTemplate(name=..., instruction=..., ...))``.
Where a family's reply starts after a space (``[/INST] reply``), the space is the reply's
``reply_prefix``: the generation prompt ends at ``[/INST]`` as the official template's does,
and the tokenizer merges the space into the reply's first token, which is trained.
tests/official_templates.py holds the families' official templates these are checked against.
"""
from __future__ import annotations

from dataclasses import replace

from ..registry import Registry
from .prompt import PromptTemplate

TEMPLATES: Registry[PromptTemplate] = Registry('prompt template')


def register_template(template: PromptTemplate) -> PromptTemplate:
    """Register ``template`` under its own name and return it."""
    return TEMPLATES.register(template.name, template)


# Alpaca-style plain text; works with any tokenizer.
register_template(PromptTemplate(
    name='default',
    system='{system}\n',
    instruction='### Instruction:\n{input}\n\n### Response:\n',
    suffix='{eos}',
    separator='\n\n',
))

# ---- ChatML and its families ---------------------------------------------------------
# ChatML: SmolLM2, Qwen, OpenHermes ...
CHATML = register_template(PromptTemplate(
    name='chatml',
    system='<|im_start|>system\n{system}<|im_end|>\n',
    instruction='<|im_start|>user\n{input}<|im_end|>\n<|im_start|>assistant\n',
    suffix='<|im_end|>',
    separator='\n',
    stop_words=('<|im_end|>', '<|endoftext|>'),
))
# Qwen1.5 / Qwen2 and Qwen2.5: ChatML with the family's default system text.
register_template(replace(CHATML, name='qwen_chat', default_system='You are a helpful assistant.'))
register_template(replace(CHATML, name='qwen2_5_chat', default_system=(
    'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.')))
# Qwen3: ChatML, no default system; the reply opens with <think>...</think> (trained), and
# replies before the last user query drop their reasoning, as Qwen3's template does.
QWEN3 = register_template(replace(CHATML, name='qwen3_chat', thinking='reply'))
register_template(replace(QWEN3, name='qwen3_chat_keep_thinking', keep_thinking=True))
# SmolLM2-Instruct: ChatML with its default system text.
register_template(replace(CHATML, name='smollm2_chat', default_system=(
    'You are a helpful AI assistant named SmolLM, trained by Hugging Face')))
# MiniCPM3-4B: ChatML.
register_template(replace(CHATML, name='minicpm3'))
# InternLM2 / 2.5 chat: ChatML after the bos.
register_template(replace(CHATML, name='internlm2_chat', prefix='<s>',
                          stop_words=('<|im_end|>',)))
register_template(replace(CHATML, name='internlm2_5_chat', prefix='<s>',
                          stop_words=('<|im_end|>',)))

# Phi-4: ChatML with <|im_sep|> after the role and no newlines.
register_template(PromptTemplate(
    name='phi4_chat',
    system='<|im_start|>system<|im_sep|>{system}<|im_end|>',
    instruction='<|im_start|>user<|im_sep|>{input}<|im_end|><|im_start|>assistant<|im_sep|>',
    suffix='<|im_end|>',
    stop_words=('<|im_end|>', '<|endoftext|>'),
))

# ---- Llama and Mistral ---------------------------------------------------------------
# Llama-2-chat: every turn opens with the bos; the system sits in the first [INST];
# messages are stripped.
LLAMA2 = register_template(PromptTemplate(
    name='llama2_chat',
    system='<<SYS>>\n{system}\n<</SYS>>\n\n',
    instruction='<s>[INST] {system}{input} [/INST]',
    reply_prefix=' ',
    suffix=' {eos}',
    trim='all',
    stop_words=('</s>',),
))
# Code Llama - Instruct uses the Llama-2-chat format.
register_template(replace(LLAMA2, name='code_llama_chat'))

# Llama-3 instruct: messages are trimmed.
LLAMA3 = register_template(PromptTemplate(
    name='llama3_chat',
    prefix='<|begin_of_text|>',
    system='<|start_header_id|>system<|end_header_id|>\n\n{system}<|eot_id|>',
    instruction=('<|start_header_id|>user<|end_header_id|>\n\n{input}<|eot_id|>'
                 '<|start_header_id|>assistant<|end_header_id|>\n\n'),
    suffix='<|eot_id|>',
    trim='all',
    stop_words=('<|eot_id|>', '<|end_of_text|>', '<|eom_id|>'),
))
# Llama-3.1: a system block always, opening with the knowledge and (fixed) today dates; its own
# tool format (tools.py: 'Environment: ipython', tools in the first user turn, ipython results).
register_template(replace(
    LLAMA3, name='llama3_1_chat', system_always=True, tool_style='llama3_1',
    system=('<|start_header_id|>system<|end_header_id|>\n\n{tool_env}Cutting Knowledge Date: '
            'December 2023\nToday Date: 26 Jul 2024\n\n{system}<|eot_id|>')))

# Mistral-7B-Instruct-v0.3: <s>[INST] q[/INST] a</s>[INST] q2[/INST] a2</s>; the system
# text opens the last [INST] block and replies are trimmed (v0.3's template); tools, calls
# and results in v0.3's format ([AVAILABLE_TOOLS], [TOOL_CALLS], [TOOL_RESULTS], see tools.py).
register_template(PromptTemplate(
    name='mistral',
    prefix='<s>',
    system='{system}\n\n',
    system_last=True,
    instruction='[INST] {system}{input}[/INST]',
    reply_prefix=' ',
    suffix='{eos}',
    trim='reply',
    stop_words=('</s>',),
    tool_style='mistral',
))
# Mixtral-8x7B-Instruct-v0.1: <s>[INST] q [/INST]a</s>; a system text (its template has
# none) opens the first [INST] block.
register_template(PromptTemplate(
    name='mixtral',
    prefix='<s>',
    system='{system}\n\n',
    instruction='[INST] {system}{input} [/INST]',
    suffix='{eos}',
    stop_words=('</s>',),
))

# ---- Other families ------------------------------------------------------------------
# Zephyr: every message ends with the eos and a newline.
register_template(PromptTemplate(
    name='zephyr',
    system='<|system|>\n{system}{eos}\n',
    instruction='<|user|>\n{input}{eos}\n<|assistant|>\n',
    suffix='{eos}',
    separator='\n',
    stop_words=('</s>',),
))

# Vicuna v1.1 (FastChat): "SYSTEM USER: q ASSISTANT: a</s>USER: ..."; the prompt ends
# at "ASSISTANT:"; FastChat's default system text.
VICUNA = register_template(PromptTemplate(
    name='vicuna',
    system='{system} ',
    default_system=('A chat between a curious user and an artificial intelligence assistant. '
                    "The assistant gives helpful, detailed, and polite answers to the user's "
                    'questions.'),
    instruction='USER: {input} ASSISTANT:',
    reply_prefix=' ',
    suffix='{eos}',
    stop_words=('</s>',),
))
# WizardLM 1.2+ uses the Vicuna layout.
register_template(replace(VICUNA, name='wizardlm'))

# WizardCoder (its model card's prompt): the Alpaca preamble as the default system text, and
# the reply right after "### Response:" (its training appends the output there directly).
register_template(PromptTemplate(
    name='wizardcoder',
    system='{system}\n\n',
    default_system=('Below is an instruction that describes a task. Write a response that '
                    'appropriately completes the request.'),
    instruction='### Instruction:\n{input}\n\n### Response:',
    suffix='{eos}',
    separator='\n\n',
    stop_words=('</s>',),
))

# InternLM (v1) chat: <s><|User|>:q<eoh>\n<|Bot|>:a<eoa>\n
register_template(PromptTemplate(
    name='internlm_chat',
    prefix='<s>',
    system='<|System|>:{system}\n',
    instruction='<|User|>:{input}<eoh>\n<|Bot|>:',
    suffix='<eoa>',
    separator='\n',
    stop_words=('<eoa>',),
))

# MOSS-003: the data carries MOSS's own markers (<|Human|>: ...<eoh>, <|MOSS|>: ...<eom>),
# see the moss_sft map_fn, so the template adds none. Chat inputs must carry them too.
register_template(PromptTemplate(
    name='moss_sft',
    system='{system}',
    instruction='{input}',
    stop_words=('<eoc>', '<eom>'),
))

# ChatGLM2: "[Round 1]\n\n问：q\n\n答：a", rounds counted from 1 (its build_prompt), after
# the "[gMASK]sop" its tokenizer prepends. The eos ends a trained reply (its history in
# build_prompt has none; its fine-tuning trains one after the answer).
register_template(PromptTemplate(
    name='chatglm2',
    prefix='[gMASK]sop',
    system='{system}\n\n',
    instruction='[Round {round}]\n\n问：{input}\n\n答：',
    suffix='{eos}',
    separator='\n\n',
    stop_words=('</s>',),
))

# ChatGLM3: role tokens; a message is "<|role|>" + "\n" + " text" (its tokenizer's
# build_single_message; the space is SentencePiece's prefix). The generation prompt ends at
# "<|assistant|>" (build_chat_input), so "\n " opens the trained reply. The eos ends a
# trained reply (the official template writes none; ChatGLM3 stops at the next role token).
register_template(PromptTemplate(
    name='chatglm3',
    prefix='[gMASK]sop',
    system='<|system|>\n {system}',
    instruction='<|user|>\n {input}<|assistant|>',
    reply_prefix='\n ',
    suffix='{eos}',
    stop_words=('<|user|>', '<|observation|>'),
))

# Baichuan-13B-Chat and Baichuan2-Chat: reserved tokens mark the user and the assistant;
# a system text is plain text before the first user token.
register_template(PromptTemplate(
    name='baichuan_chat',
    system='{system}',
    instruction='<reserved_102>{input}<reserved_103>',
    suffix='{eos}',
    stop_words=('</s>',),
))
register_template(PromptTemplate(
    name='baichuan2_chat',
    system='{system}',
    instruction='<reserved_106>{input}<reserved_107>',
    suffix='{eos}',
    stop_words=('</s>',),
))

# DeepSeek-Coder-Instruct: the system text right before the first "### Instruction:" (its
# default ends with a newline; a given one is written as is), then
# "### Instruction:\nq\n### Response:\na\n<|EOT|>\n".
register_template(PromptTemplate(
    name='deepseek_coder',
    prefix='<｜begin▁of▁sentence｜>',
    system='{system}',
    default_system=('You are an AI programming assistant, utilizing the Deepseek Coder model, '
                    'developed by Deepseek Company, and you only answer questions related to '
                    'computer science. For politically sensitive questions, security and '
                    'privacy issues, and other non-computer science questions, you will refuse '
                    'to answer\n'),
    instruction='### Instruction:\n{input}\n### Response:\n',
    suffix='\n<|EOT|>',
    separator='\n',
    stop_words=('<|EOT|>',),
))

# DeepSeek LLM / MoE / V2 chat: "User: q\n\nAssistant: a<｜end▁of▁sentence｜>"; the
# generation prompt ends at "Assistant:".
DEEPSEEK = register_template(PromptTemplate(
    name='deepseek_moe',
    prefix='<｜begin▁of▁sentence｜>',
    system='{system}\n\n',
    instruction='User: {input}\n\nAssistant:',
    reply_prefix=' ',
    suffix='{eos}',
    stop_words=('<｜end▁of▁sentence｜>',),
))
register_template(replace(DEEPSEEK, name='deepseek_v2'))

# DeepSeek-V3: role tokens with full-width bars, no newlines.
DEEPSEEK_V3 = register_template(PromptTemplate(
    name='deepseek_v3',
    prefix='<｜begin▁of▁sentence｜>',
    system='{system}',
    instruction='<｜User｜>{input}<｜Assistant｜>',
    suffix='{eos}',
    stop_words=('<｜end▁of▁sentence｜>',),
))
# DeepSeek-R1: V3's layout; the last turn's prompt opens "<think>\n" and the reply is
# "reasoning\n</think>\n\nanswer" (trained); earlier replies lose their reasoning.
register_template(replace(DEEPSEEK_V3, name='deepseek_r1', thinking='prompt'))

# MiniCPM-2B-sft: "<用户>q<AI>a"; a system text is plain text before the first "<用户>".
register_template(PromptTemplate(
    name='minicpm',
    prefix='<s>',
    system='{system}',
    instruction='<用户>{input}<AI>',
    suffix='{eos}',
    stop_words=('</s>',),
))

# Gemma 1/2/3: no system role; the system text opens the first user turn, as is (as Gemma
# 3's template does; user and model turns are trimmed). The model's turns are "model".
GEMMA = register_template(PromptTemplate(
    name='gemma',
    prefix='<bos>',
    system='{system}\n\n',
    instruction='<start_of_turn>user\n{system}{input}<end_of_turn>\n<start_of_turn>model\n',
    suffix='<end_of_turn>',
    separator='\n',
    trim='turns',
    stop_words=('<end_of_turn>', '<eos>'),
))
register_template(replace(GEMMA, name='gemma2'))
register_template(replace(GEMMA, name='gemma3'))

# Cohere Command-R: user and chatbot turns stripped, the system text as is.
register_template(PromptTemplate(
    name='cohere_chat',
    prefix='<BOS_TOKEN>',
    system='<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>{system}<|END_OF_TURN_TOKEN|>',
    instruction=('<|START_OF_TURN_TOKEN|><|USER_TOKEN|>{input}<|END_OF_TURN_TOKEN|>'
                 '<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>'),
    suffix='<|END_OF_TURN_TOKEN|>',
    trim='turns',
    stop_words=('<|END_OF_TURN_TOKEN|>',),
))

# Phi-3 / Phi-3.5: "<|user|>\nq<|end|>\n<|assistant|>\na<|end|>\n".
PHI3 = register_template(PromptTemplate(
    name='phi3_chat',
    system='<|system|>\n{system}<|end|>\n',
    instruction='<|user|>\n{input}<|end|>\n<|assistant|>\n',
    suffix='<|end|>',
    separator='\n',
    stop_words=('<|end|>', '<|endoftext|>'),
))
register_template(replace(PHI3, name='phi3_5_chat'))
