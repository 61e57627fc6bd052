"""Preference and KTO rows -> a prompt conversation and its replies.

A preference sample is ``{'conversation': [...turns], 'chosen', 'rejected'}``: the
conversation's last turn has an ``'input'`` and no ``'output'`` (its reply is ``chosen`` or
``rejected``: a string, or ``{'output', 'tool_calls'}`` for a reply that calls tools);
earlier turns are context. A KTO sample is ``{'conversation', 'completion',
'label'}``. The SFT map_fns (sharegpt, openai) turn the messages into turns, so tool calls,
function calls and system prompts read exactly as in SFT.
"""
from __future__ import annotations

from typing import Any, Callable

from ...errors import DatasetFormatError
from ...registry import MAP_FNS
from ._columns import missing_columns, problem_fields, requires
from .openai import openai_map_fn
from .sharegpt import sharegpt_map_fn


def _split_last(conversation: list[dict]) -> tuple[list[dict], str | dict]:
    """Turns -> (turns whose last one lost its reply, that reply: its output, or
    ``{'output', 'tool_calls'}`` when it makes calls, which the template writes)."""
    *context, last = conversation
    if last.get('trained') is False:
        raise DatasetFormatError('the reply to score has loss_weight 0 (not trained); a '
                                 'preference or KTO reply is always trained: drop the weight')
    reply = {k: last[k] for k in ('output', 'tool_calls') if k in last}
    prompt = {k: v for k, v in last.items() if k not in reply and k != 'trained'}
    return [*context, prompt], reply if 'tool_calls' in reply else reply['output']


def _pair(to_turns: Callable[[list], dict], prompt: list, chosen: list, rejected: list) -> dict:
    """Run an SFT map_fn on prompt + each reply; both must share the same prompt turns."""
    conv_c, chosen_text = _split_last(to_turns(prompt + chosen)['conversation'])
    conv_r, rejected_text = _split_last(to_turns(prompt + rejected)['conversation'])
    if conv_c != conv_r:
        raise DatasetFormatError('chosen and rejected continue different prompts; give each '
                                 'reply as the assistant message(s) after the same prompt')
    return {'conversation': conv_c, 'chosen': chosen_text, 'rejected': rejected_text}


def _need(row: dict, keys: tuple[str, ...], fmt: str) -> None:
    problems = problem_fields(row, keys)
    if 'missing' in problems:
        raise missing_columns(row, fmt, f"{list(keys)}; missing {problems['missing']}")
    if 'empty' in problems:
        raise DatasetFormatError(f"{fmt} row: {problems['empty']} empty (blank text or no "
                                 'messages); give each a text, or drop the row')


def _as_messages(value: Any, role: str, key: str) -> list:
    """A string, one message dict or a list of messages -> a list of messages."""
    if isinstance(value, str):
        return [{'role': role, 'content': value}]
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and all(isinstance(m, dict) for m in value):
        return value
    raise DatasetFormatError(f"'{key}' must be a string, a message or a list of messages, "
                             f'got {type(value).__name__}')


@MAP_FNS.register('sharegpt_preference')
@requires('preference', ('conversations', 'chosen', 'rejected'))
def sharegpt_preference_map_fn(row: dict) -> dict:
    """{'conversations', 'chosen', 'rejected'} (ShareGPT messages) -> preference sample.

    LLaMA-Factory's DPO format: ``conversations`` is the prompt (``{'from', 'value'}``
    messages, system and function turns included), ``chosen``/``rejected`` the two replies
    (a ``{'from': 'gpt', 'value'}`` message, or a list of messages).

    >>> sharegpt_preference_map_fn({'conversations': [{'from': 'human', 'value': 'Hi'}],
    ...     'chosen': {'from': 'gpt', 'value': 'Hello!'}, 'rejected': {'from': 'gpt', 'value': 'Go.'}})
    {'conversation': [{'input': 'Hi'}], 'chosen': 'Hello!', 'rejected': 'Go.'}
    """
    _need(row, ('conversations', 'chosen', 'rejected'), 'sharegpt_preference')
    extra = {k: v for k, v in row.items() if k not in ('conversations', 'chosen', 'rejected')}

    def to_turns(messages: list) -> dict:
        return sharegpt_map_fn({**extra, 'conversations': messages})

    replies = [[r] if isinstance(r, dict) else r for r in (row['chosen'], row['rejected'])]
    return _pair(to_turns, list(row['conversations']), *replies)


@MAP_FNS.register('openai_preference')
@requires('preference', ('prompt', 'chosen', 'rejected'), ('chosen', 'rejected'))
def openai_preference_map_fn(row: dict) -> dict:
    """{'prompt', 'chosen', 'rejected'} (OpenAI messages or strings) -> preference sample.

    UltraFeedback / trl style. Without 'prompt', chosen and rejected hold the whole
    conversations and the prompt is what they share ("implicit prompt").

    >>> openai_preference_map_fn({'prompt': [{'role': 'user', 'content': 'Hi'}],
    ...     'chosen': [{'role': 'assistant', 'content': 'Hello!'}], 'rejected': 'Go.'})
    {'conversation': [{'input': 'Hi'}], 'chosen': 'Hello!', 'rejected': 'Go.'}
    """
    _need(row, ('chosen', 'rejected'), 'openai_preference')
    chosen = _as_messages(row['chosen'], 'assistant', 'chosen')
    rejected = _as_messages(row['rejected'], 'assistant', 'rejected')
    if row.get('prompt') in (None, '', []):
        shared = 0
        while (shared < min(len(chosen), len(rejected)) - 1
               and chosen[shared] == rejected[shared]):
            shared += 1
        prompt, chosen, rejected = chosen[:shared], chosen[shared:], rejected[shared:]
    else:
        prompt = _as_messages(row['prompt'], 'user', 'prompt')
        # UltraFeedback also repeats the prompt at the start of each reply list.
        if chosen[:len(prompt)] == prompt and rejected[:len(prompt)] == prompt:
            chosen, rejected = chosen[len(prompt):], rejected[len(prompt):]
    tools = {'tools': row['tools']} if row.get('tools') else {}
    return _pair(lambda m: openai_map_fn({**tools, 'messages': m}), prompt, chosen, rejected)


@MAP_FNS.register('plain_preference')
@requires('preference', ('prompt', 'chosen', 'rejected'))
def plain_preference_map_fn(row: dict) -> dict:
    """{'prompt': str, 'chosen': str, 'rejected': str[, 'system']} -> preference sample.

    >>> plain_preference_map_fn({'prompt': 'Hi', 'chosen': 'Hello!', 'rejected': 'Go.'})
    {'conversation': [{'input': 'Hi'}], 'chosen': 'Hello!', 'rejected': 'Go.'}
    """
    _need(row, ('prompt', 'chosen', 'rejected'), 'plain_preference')
    for key in ('prompt', 'chosen', 'rejected'):
        if not isinstance(row[key], str):
            raise DatasetFormatError(f"plain_preference: '{key}' must be a string, got "
                                     f"{type(row[key]).__name__}; use openai_preference for "
                                     'message lists')
    turn = {'system': row['system'], 'input': row['prompt']} if row.get('system') else {
        'input': row['prompt']}
    return {'conversation': [turn], 'chosen': row['chosen'], 'rejected': row['rejected']}


# The row shapes KTO reads: a prompt and a completion, or a whole conversation whose last
# assistant message is the completion (OpenAI messages, ShareGPT conversations); the label as
# 'label' (trl) or 'kto_tag' (LLaMA-Factory).
KTO_SHAPES = tuple((*columns, label) for label in ('label', 'kto_tag')
                   for columns in (('prompt', 'completion'), ('messages',), ('conversations',)))


@MAP_FNS.register('kto')
@requires('kto', *KTO_SHAPES)
def kto_map_fn(row: dict) -> dict:
    """{'prompt', 'completion', 'label'} or {'messages' | 'conversations', 'label'} -> KTO sample.

    ``prompt`` and ``completion`` are strings or OpenAI messages; or the row is one
    conversation (OpenAI ``messages`` or ShareGPT ``conversations``, tools and system
    included) whose last message, an assistant reply, is the completion. ``label`` (or
    LLaMA-Factory's ``kto_tag``) is a JSON boolean: true marks a desirable reply.

    >>> kto_map_fn({'prompt': 'Hi', 'completion': 'Hello!', 'label': True})
    {'conversation': [{'input': 'Hi'}], 'completion': 'Hello!', 'label': True}
    >>> kto_map_fn({'messages': [{'role': 'user', 'content': 'Hi'},
    ...     {'role': 'assistant', 'content': 'Go away.'}], 'label': False})
    {'conversation': [{'input': 'Hi'}], 'completion': 'Go away.', 'label': False}
    """
    label_key = 'label' if row.get('label') is not None else 'kto_tag'
    shape = next((s for s in KTO_SHAPES if s[-1] == label_key
                  and all(row.get(c) is not None for c in s[:-1])), None)
    if shape is None:
        raise missing_columns(row, 'kto', "['prompt', 'completion', 'label'] or ['messages', "
                                          "'label'] (or 'conversations'; 'kto_tag' for 'label')")
    label = row.get(label_key)
    if not isinstance(label, bool):
        quoted = ' (a string: write true or false without quotes)' if isinstance(label, str) \
            else ''
        raise DatasetFormatError(f"kto row: {label_key!r} must be a JSON boolean, true or false; "
                                 f'got {label!r}{quoted}')
    if shape[0] == 'prompt':
        _need(row, ('prompt', 'completion'), 'kto')
        prompt = _as_messages(row['prompt'], 'user', 'prompt')
        completion = _as_messages(row['completion'], 'assistant', 'completion')
        converted = openai_map_fn({**_tools(row), 'messages': prompt + completion})
    else:
        converted = _conversation_map_fn(row, shape[0])
    conversation, reply = _split_last(converted['conversation'])
    return {'conversation': conversation, 'completion': reply, 'label': label}


def _tools(row: dict) -> dict:
    return {'tools': row['tools']} if row.get('tools') else {}


def _conversation_map_fn(row: dict, column: str) -> dict:
    """A whole KTO conversation as turns; its last message must be the reply to score (a
    trailing user message would leave an earlier reply to be scored against a later prompt)."""
    messages = row[column]
    role_key, replies = ('role', ('assistant',)) if column == 'messages' else (
        'from', ('gpt', 'assistant', 'function_call'))
    last = messages[-1] if isinstance(messages, list) and messages else None
    if not isinstance(last, dict) or last.get(role_key) not in replies:
        raise DatasetFormatError(f"kto row: the last of its {column!r} must be the assistant "
                                 f'reply to score (the completion), got '
                                 f'{last.get(role_key) if isinstance(last, dict) else last!r}')
    if column == 'messages':
        return openai_map_fn({**_tools(row), 'messages': messages})
    extra = {k: v for k, v in row.items() if k not in ('label', 'kto_tag')}
    return sharegpt_map_fn(extra)
