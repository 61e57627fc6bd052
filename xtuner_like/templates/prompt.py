"""Prompt templates as data, and the one function that renders conversations with them.

A conversation is a list of turns ``{'input': str, 'output': str}``. The first turn may carry
``'system'`` and ``'tools'`` (a list of function schemas); any turn may carry ``'thinking'``
(the reasoning before its reply, for thinking templates), ``'tool_calls'`` (the calls its
reply makes after its text: ``{'name', 'arguments', 'id'}``), ``'tool_results'`` (instead
of a user input: ``{'content', 'call_id'[, 'name']}``) and ``'trained': False`` (a reply the
data says not to train, e.g. a LLaMA-Factory ``loss_weight`` of 0); the template's tool style
(``tools.py``) writes them. Rendering gives segments ``(text, trained)``; the loss falls only
on trained text: each reply and its end-of-turn suffix. Layout (``|`` marks segment borders,
``*`` trained text)::

    prefix + system + instruction(1) | *reply_prefix + output(1) + suffix* |
    separator + instruction(2) | *reply_prefix + output(2) + suffix* | separator

The separator follows every reply (as ``<|im_end|>\\n`` does in ChatML), so a chat prompt is
the rendered history + the new instruction. The text is the family's official chat format;
the exported Jinja ``chat_template`` (``jinja.py``) renders the same text from messages.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache

from ..errors import ConfigError, DatasetFormatError
from .thinking import THINK_OPEN, last_query_turn, reply_with_thinking, split_thinking
from .tools import TOOL_STYLES, reply_text, results_text, tools_block, tools_system_text

PLACEHOLDER = re.compile(r'\{(\w+)\}')
# Placeholders each field may hold; '{system}' in the instruction places the system
# block inside an instruction (llama2, mistral) instead of before the first one.
ALLOWED_PLACEHOLDERS = {
    'prefix': {'eos'},
    'system': {'system', 'eos', 'tool_env'},
    'instruction': {'input', 'system', 'eos', 'round'},
    'suffix': {'eos'},
    'separator': {'eos'},
    'reply_prefix': set(),
}
TRIM = ('', 'reply', 'turns', 'all')
THINKING = ('', 'reply', 'prompt')

Segment = tuple[str, bool]


@dataclass(frozen=True)
class PromptTemplate:
    """How turns of a conversation become text.

    Attributes:
        name: Registry name.
        instruction: A user turn up to the start of the reply; holds ``{input}``,
            and may hold ``{system}`` to place the system block inside it and ``{round}``,
            the turn's number from 1.
        system: The system block, holding ``{system}``; rendered once, only when a system
            text is given (or ``system_always``). Empty: no system support.
        suffix: End of an assistant turn (trained), e.g. ``'<|im_end|>'`` or ``'{eos}'``.
        separator: Text after every reply (not trained).
        stop_words: Extra strings that end generation (the eos always does).
        prefix: Text once at the start of a conversation, e.g. ``'<s>'`` (not trained).
        default_system: The family's system text when none is given (Qwen2.5, SmolLM2 ...).
        system_always: Render the system block even without a system text (Llama-3.1).
        system_last: An inline ``{system}`` goes into the last user turn (Mistral v0.3).
        reply_prefix: Trained text opening each reply: the space of ``[/INST] reply``, which
            a tokenizer merges into the reply's first token.
        trim: Strip whitespace around replies (``'reply'``), user inputs and replies but not
            the system text (``'turns'``: Gemma 3, Command-R) or every message (``'all'``).
        thinking: ``''`` no reasoning; ``'reply'`` the reply opens with ``<think>`` (Qwen3);
            ``'prompt'`` the last turn's prompt opens ``<think>`` (DeepSeek-R1).
        keep_thinking: Keep reasoning of turns before the last user query (the official
            templates drop it).
        tool_style: How tools, tool calls and results are written (a name in
            ``tools.TOOL_STYLES``: Hermes by default, the family's own where it has one);
            the system field may hold ``{tool_env}``, the style's line for tool use.

    Every text field may hold ``{eos}``: the tokenizer's eos token text.
    """

    name: str
    instruction: str
    system: str = ''
    suffix: str = ''
    separator: str = ''
    stop_words: tuple[str, ...] = ()
    prefix: str = ''
    default_system: str = ''
    system_always: bool = False
    system_last: bool = False
    reply_prefix: str = ''
    trim: str = ''
    thinking: str = ''
    keep_thinking: bool = False
    tool_style: str = 'hermes'

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
                                    f'(allowed: {", ".join(sorted(allowed)) or "none"})')
        if '{input}' not in self.instruction:
            problems.append("instruction has no '{input}'")
        if self.system and '{system}' not in self.system:
            problems.append("system has no '{system}'")
        if '{system}' in self.instruction and not self.system:
            problems.append("instruction holds '{system}' but the system field is empty")
        if (self.default_system or self.system_always) and not self.system:
            problems.append('default_system / system_always need a system field')
        if self.trim not in TRIM:
            problems.append(f'trim={self.trim!r}; use one of {TRIM}')
        if self.thinking not in THINKING:
            problems.append(f'thinking={self.thinking!r}; use one of {THINKING}')
        if self.tool_style not in TOOL_STYLES:
            problems.append(f'tool_style={self.tool_style!r}; use one of {tuple(TOOL_STYLES)}')
        if problems:
            raise ConfigError(f'prompt template {self.name!r}: ' + '; '.join(problems))

    @property
    def system_inline(self) -> bool:
        """Whether the system block goes inside an instruction (first, or last: system_last)."""
        return '{system}' in self.instruction


def fill(text: str, **values: str) -> str:
    """Replace ``{name}`` placeholders in one pass (inserted text is not rescanned)."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


@lru_cache(maxsize=4096)
def _fill_fixed(text: str, eos: str, system: str = '', round_: str = '', env: str = '') -> str:
    """``fill`` of a template part that holds no ``{input}``: the same few parts recur in
    every row of a dataset (the regex was a fifth of the rendering time)."""
    return fill(text, eos=eos, system=system, round=round_, tool_env=env)


def render_conversation(conversation: Sequence[Mapping], template: PromptTemplate | None,
                        system: str | None = None, eos_token: str = '') -> list[Segment]:
    """Render a conversation into ``(text, trained)`` segments.

    Args:
        conversation: Turns ``{'input', 'output'[, 'system', 'tools', 'thinking',
            'tool_calls', 'tool_results']}``.
        template: The prompt template; None for pre-training (each turn's
            input + output + eos, all trained).
        system: System text used when the first turn has none.
        eos_token: Text that replaces ``{eos}``.

    Returns:
        Segments; neighbours with the same flag are merged, empty ones dropped. Each trained
        segment is one whole reply (its end is a turn boundary).
    """
    _check_conversation(conversation, need_input=template is not None)
    if template is None:
        segments: list[Segment] = []
        for turn in conversation:
            _append(segments, turn.get('input', '') + turn['output'] + eos_token,
                    turn.get('trained', True))
        return segments
    return _render(conversation, template, system, eos_token, open_last=False)


def render_prompt(history: Sequence[Mapping], template: PromptTemplate,
                  system: str | None = None, eos_token: str = '',
                  enable_thinking: bool | None = None) -> str:
    """The text from which a model generates the reply to the last turn.

    Args:
        history: Turns; all but the last are complete, the last holds the new
            ``'input'`` (its ``'output'``, if any, is ignored).
        template: The prompt template.
        system: System text used when the first turn has none.
        eos_token: Text that replaces ``{eos}``.
        enable_thinking: False asks a ``thinking='reply'`` model (Qwen3) to answer without
            reasoning (an empty ``<think>`` block closes the prompt), as Qwen3's template does.
    """
    if template is None:
        raise ConfigError('chat needs a prompt template; set prompt_template')
    _check_conversation(history, need_input=True, last_output=False)
    text = ''.join(text for text, _ in _render(history, template, system, eos_token, True))
    if enable_thinking is False and template.thinking == 'reply':
        text += THINK_OPEN + '\n</think>\n\n'
    return text


def system_text(template: PromptTemplate, first: Mapping, system: str | None) -> str:
    """The system text a conversation renders: its own, the config's or the family default,
    trimmed where the template trims, followed by the tools block when it has tools and the
    template's tool style puts them there."""
    text = first.get('system') or system or template.default_system
    if template.trim == 'all':
        text = text.strip()
    if TOOL_STYLES[template.tool_style].tools_at != 'system':
        return text
    return tools_system_text(first.get('tools'), text) or ''


def _render(turns: Sequence[Mapping], template: PromptTemplate, system: str | None,
            eos: str, open_last: bool) -> list[Segment]:
    style, tools = TOOL_STYLES[template.tool_style], turns[0].get('tools')
    env = style.env if tools else ''
    block = _system_block(template, system_text(template, turns[0], system), eos, env)
    last, query = len(turns) - 1, last_query_turn(turns)
    inline_at = (last if template.system_last else 0) if template.system_inline else -1
    head_part, _, tail_part = template.instruction.partition('{input}')
    counts_rounds = '{round}' in template.instruction
    suffix = _fill_fixed(template.suffix, eos)
    separator = _fill_fixed(template.separator, eos)
    segments: list[Segment] = []
    for i, turn in enumerate(turns):
        head = _fill_fixed(template.prefix, eos) if i == 0 else ''
        if i == 0 and not template.system_inline:
            head += block
        where, results = f'conversation turn {i}', turn.get('tool_results')
        if tools and style.tools_at == 'last_query' and i == query:
            head += tools_block(style, tools)
        if results and style.own_results_turn:
            head += results_text(style, results, where)
        else:
            text = _input_text(template, turn, tools if i == 0 else None, where)
            inline = block if i == inline_at else ''
            number = str(i + 1) if counts_rounds else ''
            # The input is put in as is: a '{eos}' the user wrote stays text.
            head += (_fill_fixed(head_part, eos, inline, number) + text
                     + _fill_fixed(tail_part, eos, inline, number))
        if template.thinking == 'prompt' and i == last:
            head += THINK_OPEN
        _append(segments, head, False)
        if open_last and i == last:
            break
        output, thinking = split_thinking(turn, template)
        calls = turn.get('tool_calls') or []
        reply = reply_with_thinking(reply_text(style, output, calls, where), thinking, template,
                                    final=i == last, show=template.keep_thinking or i >= query)
        if template.trim:
            reply = reply.strip()
        reply_prefix = '' if calls and style.bare_calls else template.reply_prefix
        # a reply the data marks as not trained (loss_weight 0) is context, like the prompt
        _append(segments, reply_prefix + reply + suffix, turn.get('trained', True))
        _append(segments, separator, False)
    return segments


def _input_text(template: PromptTemplate, turn: Mapping, tools: list | None, where: str) -> str:
    """What a turn's instruction holds: the user's text (trimmed where the template trims)
    or the tool results; ``tools`` (first turn only) open it where the tool style puts them."""
    style, results = TOOL_STYLES[template.tool_style], turn.get('tool_results')
    text = results_text(style, results, where) if results else turn['input']
    if template.trim in ('all', 'turns'):
        text = text.strip()
    if tools and style.tools_at == 'first_input':
        text = tools_block(style, tools) + text
    return text


def _system_block(template: PromptTemplate, system: str, eos: str, env: str = '') -> str:
    if not system and not template.system_always and not env:
        return ''
    if not template.system:
        raise ConfigError(f'prompt template {template.name!r} has no system part, but a '
                          f'system text was given ({system[:40]!r}); drop it or pick a '
                          'template with one')
    return _fill_fixed(template.system, eos, system, '', env)


def _append(segments: list[Segment], text: str, trained: bool) -> None:
    if not text:
        return
    if segments and segments[-1][1] == trained:
        segments[-1] = (segments[-1][0] + text, trained)
    else:
        segments.append((text, trained))


def _check_conversation(conversation: Sequence[Mapping], need_input: bool,
                        last_output: bool = True) -> None:
    if type(conversation) is not list and isinstance(conversation, (str, bytes, Mapping)) \
            or not conversation:
        raise DatasetFormatError(
            f'a conversation must be a non-empty list of turns, got {conversation!r:.80}; '
            "a dataset_map_fn should return {'conversation': [{'input', 'output'}]}")
    for i, turn in enumerate(conversation):
        keys = ['input'] if need_input else []
        if last_output or i < len(conversation) - 1:
            keys.append('output')
        if type(turn) is not dict and not isinstance(turn, Mapping):  # dict: the fast check
            raise DatasetFormatError(f'conversation turn {i} is {type(turn).__name__}, '
                                     "not a dict with 'input' and 'output'")
        if 'trained' in turn and not isinstance(turn['trained'], bool):
            raise DatasetFormatError(f"conversation turn {i}: 'trained' must be true or false, "
                                     f"got {turn['trained']!r}; fix the dataset_map_fn")
        for key in keys:
            if not isinstance(turn.get(key), str):
                found = 'missing' if key not in turn else type(turn[key]).__name__
                raise DatasetFormatError(
                    f'conversation turn {i}: {key!r} must be a string ({found}; turn keys: '
                    f'{sorted(turn)}); fix the dataset_map_fn')
