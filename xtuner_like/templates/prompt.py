"""Prompt templates as data, and the one function that renders conversations with them.

A conversation is a list of turns ``{'input': str, 'output': str}``; the first turn
may carry ``'system'``. Rendering gives segments ``(text, trained)``; the loss is
computed only on trained text: each assistant output and its end-of-turn suffix.

Layout of a conversation (``|`` marks segment borders, ``*`` trained text)::

    prefix + system + instruction(1) | *output(1) + suffix* |
    separator + instruction(2) | *output(2) + suffix* | ...

The separator sits *between* turns (never after the last one), so a rendered
conversation is a prefix of the same conversation with more turns, and the chat
prompt is the rendered history + separator + the new instruction.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

from ..errors import ConfigError, DatasetFormatError

PLACEHOLDER = re.compile(r'\{(\w+)\}')
# Placeholders each field may hold; '{system}' in the instruction places the system
# block inside the first instruction (llama2, mistral) instead of before it.
ALLOWED_PLACEHOLDERS = {
    'prefix': {'eos'},
    'system': {'system', 'eos'},
    'instruction': {'input', 'system', 'eos'},
    'suffix': {'eos'},
    'separator': {'eos'},
}

Segment = tuple[str, bool]


@dataclass(frozen=True)
class PromptTemplate:
    """How turns of a conversation become text.

    Attributes:
        name: Registry name.
        instruction: A user turn up to the start of the reply; holds ``{input}``,
            and may hold ``{system}`` to place the system block inside it.
        system: The system block, holding ``{system}``; rendered on the first turn
            only, and only when a system text is given. Empty: no system support.
        suffix: End of an assistant turn (trained), e.g. ``'<|im_end|>'`` or ``'{eos}'``.
        separator: Text between turns (not trained).
        stop_words: Extra strings that end generation (the eos always does).
        prefix: Text once at the start of a conversation, e.g. ``'<s>'`` (not trained).

    Every field may hold ``{eos}``: the tokenizer's eos token text.
    """

    name: str
    instruction: str
    system: str = ''
    suffix: str = ''
    separator: str = ''
    stop_words: tuple[str, ...] = ()
    prefix: str = ''

    def __post_init__(self):
        object.__setattr__(self, 'stop_words', tuple(self.stop_words))
        problems = []
        for field in fields(self):
            allowed = ALLOWED_PLACEHOLDERS.get(field.name)
            if allowed is None:
                continue
            for found in PLACEHOLDER.findall(getattr(self, field.name)):
                if found not in allowed:
                    problems.append(f'{field.name} holds {{{found}}} '
                                    f'(allowed: {", ".join(sorted(allowed))})')
        if '{input}' not in self.instruction:
            problems.append("instruction has no '{input}'")
        if self.system and '{system}' not in self.system:
            problems.append("system has no '{system}'")
        if '{system}' in self.instruction and not self.system:
            problems.append("instruction holds '{system}' but the system field is empty")
        if problems:
            raise ConfigError(f'prompt template {self.name!r}: ' + '; '.join(problems))

    @property
    def system_inline(self) -> bool:
        """Whether the system block goes inside the first instruction."""
        return '{system}' in self.instruction


def fill(text: str, **values: str) -> str:
    """Replace ``{name}`` placeholders in one pass (inserted text is not rescanned)."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def render_conversation(conversation: Sequence[Mapping], template: PromptTemplate | None,
                        system: str | None = None, eos_token: str = '') -> list[Segment]:
    """Render a conversation into ``(text, trained)`` segments.

    Args:
        conversation: Turns ``{'input', 'output'[, 'system']}``.
        template: The prompt template; None for pre-training (each turn's
            input + output + eos, all trained).
        system: System text used when the first turn has none.
        eos_token: Text that replaces ``{eos}``.

    Returns:
        Segments; neighbours with the same flag are merged, empty ones dropped.
    """
    _check_conversation(conversation, need_input=template is not None)
    if template is None:
        segments: list[Segment] = []
        for turn in conversation:
            _append(segments, turn.get('input', '') + turn['output'] + eos_token, True)
        return segments
    return _render(conversation, template, system, eos_token, open_last=False)


def render_prompt(history: Sequence[Mapping], template: PromptTemplate,
                  system: str | None = None, eos_token: str = '') -> str:
    """The text from which a model generates the reply to the last turn.

    Args:
        history: Turns; all but the last are complete, the last holds the new
            ``'input'`` (its ``'output'``, if any, is ignored).
        template: The prompt template.
        system: System text used when the first turn has none.
        eos_token: Text that replaces ``{eos}``.
    """
    if template is None:
        raise ConfigError('chat needs a prompt template; set prompt_template')
    _check_conversation(history, need_input=True, last_output=False)
    return ''.join(text for text, _ in _render(history, template, system, eos_token, True))


def _render(turns: Sequence[Mapping], template: PromptTemplate, system: str | None,
            eos: str, open_last: bool) -> list[Segment]:
    block = _system_block(template, turns[0].get('system') or system, eos)
    segments: list[Segment] = []
    for i, turn in enumerate(turns):
        first = i == 0
        inline = block if first and template.system_inline else ''
        head = fill(template.prefix, eos=eos) if first else fill(template.separator, eos=eos)
        if first and not template.system_inline:
            head += block
        _append(segments, head + fill(template.instruction, input=turn['input'],
                                      system=inline, eos=eos), False)
        if open_last and i == len(turns) - 1:
            break
        _append(segments, turn['output'] + fill(template.suffix, eos=eos), True)
    return segments


def _system_block(template: PromptTemplate, system: str | None, eos: str) -> str:
    if not system:
        return ''
    if not template.system:
        raise ConfigError(f'prompt template {template.name!r} has no system part, but a '
                          f'system text was given ({system[:40]!r}); drop it or pick a '
                          'template with one')
    return fill(template.system, system=system, eos=eos)


def _append(segments: list[Segment], text: str, trained: bool) -> None:
    if not text:
        return
    if segments and segments[-1][1] == trained:
        segments[-1] = (segments[-1][0] + text, trained)
    else:
        segments.append((text, trained))


def _check_conversation(conversation: Sequence[Mapping], need_input: bool,
                        last_output: bool = True) -> None:
    if isinstance(conversation, (str, bytes, Mapping)) or not conversation:
        raise DatasetFormatError(
            f'a conversation must be a non-empty list of turns, got {conversation!r:.80}; '
            "a dataset_map_fn should return {'conversation': [{'input', 'output'}]}")
    for i, turn in enumerate(conversation):
        keys = ['input'] if need_input else []
        if last_output or i < len(conversation) - 1:
            keys.append('output')
        if not isinstance(turn, Mapping):
            raise DatasetFormatError(f'conversation turn {i} is {type(turn).__name__}, '
                                     "not a dict with 'input' and 'output'")
        for key in keys:
            if not isinstance(turn.get(key), str):
                found = 'missing' if key not in turn else type(turn[key]).__name__
                raise DatasetFormatError(
                    f'conversation turn {i}: {key!r} must be a string ({found}; turn keys: '
                    f'{sorted(turn)}); fix the dataset_map_fn')
