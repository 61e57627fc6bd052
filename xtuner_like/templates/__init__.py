"""Prompt templates (frozen data), system texts, rendering and chat_template export."""
from __future__ import annotations

from ..errors import ConfigError
from .builtin import TEMPLATES, register_template
from .jinja import to_chat_template
from .prompt import PromptTemplate, Segment, render_conversation, render_prompt
from .system import SYSTEM_TEMPLATES, resolve_system

__all__ = [
    'PromptTemplate', 'Segment', 'TEMPLATES', 'SYSTEM_TEMPLATES', 'get_template',
    'register_template', 'render_conversation', 'render_prompt', 'resolve_system',
    'to_chat_template',
]


def get_template(name_or_template: str | PromptTemplate) -> PromptTemplate:
    """Return a registered template by name, or the given template itself.

    Raises:
        UnknownNameError: No template has that name (close matches are suggested).
    """
    if isinstance(name_or_template, PromptTemplate):
        return name_or_template
    if name_or_template is None:
        raise ConfigError('no prompt template given; pass a name such as '
                          f"{', '.join(repr(n) for n in TEMPLATES)}")
    return TEMPLATES.get(name_or_template)
