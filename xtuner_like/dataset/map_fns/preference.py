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
from ._columns import present
from .openai import openai_map_fn
from .sharegpt import sharegpt_map_fn


def _split_last(conversation: list[dict]) -> tuple[list[dict], str | dict]:
    """Turns -> (turns whose last one lost its reply, that reply: its output, or
    ``{'output', 'tool_calls'}`` when it makes calls, which the template writes)."""
    *context, last = conversation
    reply = {k: last[k] for k in ('output', 'tool_calls') if k in last}
    prompt = {k: v for k, v in last.items() if k not in reply}
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
    missing = [k for k in keys if row.get(k) in (None, '', [])]
    if missing:
        raise DatasetFormatError(f'{fmt} row needs {list(keys)}; missing {missing} (found '
                                 f'{present(row)}); or pick another dataset_map_fn')


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


@MAP_FNS.register('kto')
def kto_map_fn(row: dict) -> dict:
    """{'prompt', 'completion', 'label'} -> KTO sample {'conversation', 'completion', 'label'}.

    ``prompt`` and ``completion`` are strings or OpenAI messages; ``label`` True marks a
    desirable reply.

    >>> kto_map_fn({'prompt': 'Hi', 'completion': 'Hello!', 'label': True})
    {'conversation': [{'input': 'Hi'}], 'completion': 'Hello!', 'label': True}
    """
    _need(row, ('prompt', 'completion'), 'kto')
    if not isinstance(row.get('label'), bool):
        raise DatasetFormatError(f"kto row needs 'label' true or false, got {row.get('label')!r}")
    prompt = _as_messages(row['prompt'], 'user', 'prompt')
    completion = _as_messages(row['completion'], 'assistant', 'completion')
    conversation, reply = _split_last(openai_map_fn({'messages': prompt + completion})[
        'conversation'])
    return {'conversation': conversation, 'completion': reply, 'label': row['label']}
