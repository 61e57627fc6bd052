"""Whether a model's own chat_template renders what our template renders.

When it does, export keeps the base model's template (users and servers get the text they
know, and e.g. SmolLM2's template survives), else it writes ours. Compared on a fixed probe
set: one and two turns, with and without a system message, full conversations and
generation prompts; a template that raises on a probe is not equivalent.
"""
from __future__ import annotations

from typing import Any

_TURNS = [('Hi there', 'Hello! How can I help?'), ('What is 2+2?', '4.')]


def _probes() -> list[tuple[list[dict], bool]]:
    probes = []
    for system in (None, 'You are terse.'):
        head = [{'role': 'system', 'content': system}] if system else []
        for n in (1, 2):
            messages = list(head)
            for user, reply in _TURNS[:n]:
                messages += [{'role': 'user', 'content': user},
                             {'role': 'assistant', 'content': reply}]
            probes += [(messages, False), (messages[:-1], True)]
    return probes


def renders_alike(tokenizer: Any, theirs: str | None, ours: str) -> bool:
    """True when ``theirs`` renders every probe exactly as ``ours`` does."""
    if not theirs or not isinstance(theirs, str):
        return False
    for messages, prompt in _probes():
        try:
            a = tokenizer.apply_chat_template(messages, chat_template=theirs, tokenize=False,
                                              add_generation_prompt=prompt)
        except Exception:  # a template that cannot render a probe (e.g. no system role)
            return False
        b = tokenizer.apply_chat_template(messages, chat_template=ours, tokenize=False,
                                          add_generation_prompt=prompt)
        if a != b:
            return False
    return True
