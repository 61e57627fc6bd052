"""Export a PromptTemplate as a Hugging Face ``chat_template`` (Jinja).

The exported template is the template's fields, as ``set`` statements, before one generic
body (``chat_template.jinja``) that renders messages exactly as ``render_conversation``
renders the conversation the map_fns make of them: an optional leading ``system`` message
(or the default system text), ``tools=`` (the tools block of ``tools.py``), ``user`` and
``assistant`` messages, an assistant's ``tool_calls`` and ``reasoning_content`` (or a
``<think>`` block in its content), and ``tool`` messages (consecutive ones form one turn),
in the template's tool style (``tools.TOOL_STYLES``).
A conversation ending with a user or tool turn renders the generation prompt, whatever
``add_generation_prompt`` says, because our instruction ends with the assistant's header.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from ..errors import ConfigError
from .prompt import PromptTemplate
from .tools import (LLAMA_PREAMBLE, LLAMA_REPLY_HEADER, LLAMA_RESULT_CLOSE, LLAMA_RESULT_OPEN,
                    TOOL_STYLES, TOOLS_FOOTER, TOOLS_HEADER)

BODY = Path(__file__).with_name('chat_template.jinja')
# The constant texts of each tool style (tools.py) the body writes.
STYLE_TEXTS = {
    'hermes': {'tools_header': TOOLS_HEADER, 'tools_footer': TOOLS_FOOTER},
    'llama3_1': {'tools_preamble': LLAMA_PREAMBLE, 'result_open': LLAMA_RESULT_OPEN,
                 'result_close': LLAMA_RESULT_CLOSE, 'reply_header': LLAMA_REPLY_HEADER},
    'mistral': {},
}


@lru_cache(maxsize=1)
def _body() -> str:
    # Drop the leading comment: it is for readers of this package, not of the tokenizer.
    text = BODY.read_text(encoding='utf-8')
    return text[text.index('#}') + 2:].lstrip('-').lstrip() if text.startswith('{#') else text


def to_chat_template(template: PromptTemplate, default_system: str | None = None) -> str:
    """Return a Jinja chat_template that renders like ``template``.

    Args:
        template: The prompt template the model was trained with.
        default_system: System text used when the messages hold no system message (the
            config's ``system``); without it, the template's own ``default_system``.
    """
    if default_system and not template.system:
        raise ConfigError(f'prompt template {template.name!r} has no system part; '
                          'it cannot take a default_system')
    head, _, tail = template.instruction.partition('{input}')
    values = {
        'template_name': template.name, 'prefix': template.prefix,
        'has_system': bool(template.system), 'system_block': template.system,
        'default_system': default_system or template.default_system,
        'system_always': template.system_always, 'system_inline': template.system_inline,
        'system_last': template.system_last, 'instruction_head': head,
        'instruction_tail': tail, 'reply_prefix': template.reply_prefix,
        'suffix': template.suffix, 'separator': template.separator, 'trim': template.trim,
        'thinking': template.thinking, 'keep_thinking': template.keep_thinking,
        'tool_style': template.tool_style, 'tool_env': TOOL_STYLES[template.tool_style].env,
        **STYLE_TEXTS[template.tool_style],
    }
    sets = ''.join(f'{{%- set {k} = {_literal(v)} -%}}\n' for k, v in values.items())
    return sets + _body()


def _literal(value: str | bool) -> str:
    if isinstance(value, bool):
        return 'true' if value else 'false'
    # Jinja decodes string literals with Python's unicode-escape, which reads JSON's
    # escapes; non-ASCII stays raw so characters beyond the BMP survive.
    return json.dumps(value, ensure_ascii=False)
