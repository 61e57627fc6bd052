"""Named system texts: configs may say ``system='alpaca'`` instead of spelling the text."""
from __future__ import annotations

from ..errors import ConfigError
from ..registry import Registry

SYSTEM_TEMPLATES: Registry[str] = Registry('system template')

_TEXTS = {
    'alpaca': ('Below is an instruction that describes a task. '
               'Write a response that appropriately completes the request.'),
    'arxiv_gentile': ('You are a research assistant. Given the abstract of an arXiv '
                      'paper, write a concise, informative title for it.'),
    'colorist': ('You are a professional colorist. Given a description of a mood or '
                 'scene, reply with a fitting color as a hex code, then one sentence '
                 'on why it fits.'),
    'coder': ('You are a careful programming assistant. Write correct, readable code '
              'and explain it briefly when asked.'),
    'lawyer': ('You are a legal assistant. Answer questions about the law clearly and '
               'carefully, and say when a qualified lawyer should be consulted.'),
    'medical': ('You are a medical assistant. Give accurate, cautious health '
                'information, and advise seeing a doctor when it matters.'),
    'sql': ('You are a SQL expert. Given a database schema and a question, write one '
            'SQL query that answers the question.'),
    'moss_sft': ('You are an AI assistant. You are helpful, honest and harmless; you '
                 'answer in the language of the user and refuse harmful requests.'),
}

for _name, _text in _TEXTS.items():
    SYSTEM_TEMPLATES.register(_name, _text)


def resolve_system(value: str | None) -> str | None:
    """Map a system-template name to its text; any other string is literal text.

    Args:
        value: A name in SYSTEM_TEMPLATES, a literal system text, or None.

    Returns:
        The system text, or None when ``value`` is None.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f'system must be a string or None, got {type(value).__name__}')
    return SYSTEM_TEMPLATES.get(value) if value in SYSTEM_TEMPLATES else value
