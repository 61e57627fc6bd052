"""Export a PromptTemplate as a Hugging Face ``chat_template`` (Jinja).

The exported template renders exactly the text of ``render_conversation`` (joined)
and, for a conversation ending with a user message, exactly ``render_prompt``.
Our instruction already ends with the assistant's header, so a trailing user
message always renders as a generation prompt, whatever ``add_generation_prompt``
says. Messages: an optional leading ``system`` message, then ``user`` and
``assistant`` messages; ``{eos}`` becomes the ``eos_token`` that HF passes in.
"""
from __future__ import annotations

import json

from ..errors import ConfigError
from .prompt import PLACEHOLDER, PromptTemplate

_VARIABLES = {'eos': 'eos_token', 'input': "message['content']", 'system': 'ns.system'}


def to_chat_template(template: PromptTemplate, default_system: str | None = None) -> str:
    """Return a Jinja chat_template that renders like ``template``.

    Args:
        template: The prompt template the model was trained with.
        default_system: System text used when the messages hold no system message.
    """
    if default_system and not template.system:
        raise ConfigError(f'prompt template {template.name!r} has no system part; '
                          'it cannot take a default_system')
    system_block = _expr(template.system) if template.system else "''"
    if template.system_inline:
        head = _expr(template.prefix)
        instruction = _expr(template.instruction, system='block')
    else:
        head = f'{_expr(template.prefix)} ~ block'
        instruction = _expr(template.instruction)
    message = _literal(f'prompt template {template.name!r} has no system part')
    no_system = ('' if template.system else
                 f'{{%- if ns.system -%}}{{{{- raise_exception({message}) -}}}}{{%- endif -%}}')
    return ''.join([
        f'{{%- set ns = namespace(system={_literal(default_system)}, messages=messages) -%}}',
        "{%- if messages and messages[0]['role'] == 'system' -%}",
        "{%- set ns.system = messages[0]['content'] -%}",
        '{%- set ns.messages = messages[1:] -%}',
        '{%- endif -%}',
        no_system,
        '{%- for message in ns.messages -%}',
        "{%- if message['role'] == 'user' -%}",
        f"{{%- set block = ({system_block}) if (loop.first and ns.system) else '' -%}}",
        f'{{{{- ({head}) if loop.first else ({_expr(template.separator)}) -}}}}',
        f'{{{{- {instruction} -}}}}',
        "{%- elif message['role'] == 'assistant' -%}",
        f"{{{{- message['content'] ~ {_expr(template.suffix)} -}}}}",
        '{%- else -%}',
        "{{- raise_exception('only system, user and assistant messages are supported') -}}",
        '{%- endif -%}',
        '{%- endfor -%}',
    ])


def _expr(text: str, **names: str) -> str:
    """A Jinja expression joining the literal parts of ``text`` and its placeholders."""
    variables = {**_VARIABLES, **names}
    parts, pos = [], 0
    for match in PLACEHOLDER.finditer(text):
        if match.start() > pos:
            parts.append(_literal(text[pos:match.start()]))
        parts.append(variables[match.group(1)])
        pos = match.end()
    if pos < len(text):
        parts.append(_literal(text[pos:]))
    return ' ~ '.join(parts) or "''"


def _literal(text: str | None) -> str:
    # Jinja decodes string literals with Python's unicode-escape, which reads JSON's
    # escapes; non-ASCII stays raw so characters beyond the BMP survive.
    return 'none' if text is None else json.dumps(text, ensure_ascii=False)
