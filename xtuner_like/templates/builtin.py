"""Built-in prompt templates, each following its model family's official chat format.

To add one: ``register_template(PromptTemplate(name=..., instruction=..., ...))``.
Where a family's assistant reply starts after a space (``[/INST] reply``), the space
ends the instruction, so prompts used in training and in chat agree token by token.
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

# ChatML: SmolLM2, Qwen, OpenHermes ...
CHATML = register_template(PromptTemplate(
    name='chatml',
    system='<|im_start|>system\n{system}<|im_end|>\n',
    instruction='<|im_start|>user\n{input}<|im_end|>\n<|im_start|>assistant\n',
    suffix='<|im_end|>',
    separator='\n',
    stop_words=('<|im_end|>', '<|endoftext|>'),
))

register_template(replace(CHATML, name='qwen_chat'))

# InternLM2-chat: ChatML after the bos.
register_template(replace(CHATML, name='internlm2_chat', prefix='<s>',
                          stop_words=('<|im_end|>',)))

# Llama-2-chat: every turn opens with the bos; the system sits in the first [INST].
register_template(PromptTemplate(
    name='llama2_chat',
    system='<<SYS>>\n{system}\n<</SYS>>\n\n',
    instruction='<s>[INST] {system}{input} [/INST] ',
    suffix=' {eos}',
    stop_words=('</s>',),
))

# Llama-3 / 3.1 / 3.2 instruct.
register_template(PromptTemplate(
    name='llama3_chat',
    prefix='<|begin_of_text|>',
    system='<|start_header_id|>system<|end_header_id|>\n\n{system}<|eot_id|>',
    instruction=('<|start_header_id|>user<|end_header_id|>\n\n{input}<|eot_id|>'
                 '<|start_header_id|>assistant<|end_header_id|>\n\n'),
    suffix='<|eot_id|>',
    stop_words=('<|eot_id|>', '<|end_of_text|>'),
))

# Mistral-7B-Instruct: <s>[INST] q [/INST] a</s>[INST] q2 [/INST] a2</s>;
# a system text opens the first [INST] block (as Mistral's v0.2 template does).
register_template(PromptTemplate(
    name='mistral',
    prefix='<s>',
    system='{system}\n\n',
    instruction='[INST] {system}{input} [/INST] ',
    suffix='{eos}',
    stop_words=('</s>',),
))

# Zephyr: every message ends with the eos and a newline.
register_template(PromptTemplate(
    name='zephyr',
    system='<|system|>\n{system}{eos}\n',
    instruction='<|user|>\n{input}{eos}\n<|assistant|>\n',
    suffix='{eos}',
    separator='\n',
    stop_words=('</s>',),
))

# Vicuna v1.1 (FastChat): "SYSTEM USER: q ASSISTANT: a</s>USER: ...".
register_template(PromptTemplate(
    name='vicuna',
    system='{system} ',
    instruction='USER: {input} ASSISTANT: ',
    suffix='{eos}',
    stop_words=('</s>',),
))
