"""MS-Agent (damo/MSAgent-Bench) tool use, rewritten as ReAct text."""
from __future__ import annotations

import json
import re

from ...errors import DatasetFormatError
from ...registry import MAP_FNS
from ._columns import missing_columns, present, requires

THINK = re.compile(r'<\|startofthink\|>(.*?)<\|endofthink\|>', re.S)
EXEC = re.compile(r'<\|startofexec\|>(.*?)<\|endofexec\|>', re.S)
FENCE = re.compile(r'^\s*```(?:JSON|json)?\s*(.*?)\s*```\s*$', re.S)


@MAP_FNS.register('msagent_react')
@requires('sft', ('conversations',))
def msagent_react_map_fn(row: dict) -> dict:
    """{'conversations': [{'from', 'value'}] (or its JSON)} -> ReAct conversation (MS-Agent)

    In an assistant message, a ``<|startofthink|>`` API call becomes trained ReAct lines
    (``Thought: <text before it>``, ``Action: <api_name>``, ``Action Input: <parameters
    JSON>``); each ``<|startofexec|>`` result becomes the not-trained input
    ``Observation: <result>`` of the next turn; the text after the last result is trained
    as ``Final Answer: <text>``. Messages without API calls stay as they are.

    >>> msagent_react_map_fn({'conversations': [
    ...     {'from': 'system', 'value': 'You can call tools.'},
    ...     {'from': 'user', 'value': 'Weather in Paris?'},
    ...     {'from': 'assistant', 'value': 'Let me check.<|startofthink|>```JSON\\n'
    ...      '{"api_name": "weather", "parameters": {"city": "Paris"}}\\n```<|endofthink|>'
    ...      '<|startofexec|>```JSON\\n{"temp": 21}\\n```<|endofexec|>It is 21 C.'}]})
    {'conversation': [{'system': 'You can call tools.', 'input': 'Weather in Paris?', 'output': 'Thought: Let me check.\\nAction: weather\\nAction Input: {"city": "Paris"}'}, {'input': 'Observation: {"temp": 21}', 'output': 'Final Answer: It is 21 C.'}]}
    """
    messages = row.get('conversations')
    if messages is None:
        raise missing_columns(row, 'msagent_react', "a 'conversations' list")
    if isinstance(messages, str):
        try:
            messages = json.loads(messages)
        except json.JSONDecodeError as exc:
            raise DatasetFormatError(f"msagent_react 'conversations' is not valid JSON "
                                     f'({exc.msg}); give a list of {{from, value}}') from None
    if not isinstance(messages, list) or not messages:
        raise DatasetFormatError(f"msagent_react row needs a 'conversations' list (found "
                                 f'{present(row)}); or pick another dataset_map_fn')
    system, turns, pending = None, [], None
    for i, msg in enumerate(messages):
        role = msg.get('from') if isinstance(msg, dict) else None
        value = msg.get('value') if isinstance(msg, dict) else None
        if not isinstance(value, str):
            raise DatasetFormatError(f"message {i} has no text 'value': {str(msg)[:80]}")
        if role == 'system' and i == 0:
            system = value
        elif role == 'user' and pending is None:
            pending = value
        elif role == 'assistant' and pending is not None:
            for output, observation in _react_steps(value, i):
                turns.append({'input': pending, 'output': output})
                pending = observation
            pending = None
        else:
            raise DatasetFormatError(f'message {i} is from {role!r}; messages must be '
                                     '[system], then user and assistant in turn')
    if not turns:
        raise DatasetFormatError('msagent_react row has no assistant reply to train on')
    if system:
        turns[0] = {'system': system, **turns[0]}
    return {'conversation': turns}


def _react_steps(value: str, i: int) -> list[tuple[str, str | None]]:
    """(trained output, observation that follows it or None) for one assistant message."""
    if '<|startofthink|>' not in value:
        return [(value, None)]
    steps, lines, pos = [], [], 0
    for match in sorted([*THINK.finditer(value), *EXEC.finditer(value)], key=lambda m: m.start()):
        text = value[pos:match.start()].strip()
        pos = match.end()
        if match.re is THINK:
            call = _json(match.group(1), i)
            if text:
                lines.append(f'Thought: {text}')
            lines += [f'Action: {call.get("api_name", "")}',
                      f'Action Input: {json.dumps(call.get("parameters", {}), ensure_ascii=False)}']
        else:
            result = FENCE.sub(r'\1', match.group(1)).strip()
            steps.append(('\n'.join(lines), f'Observation: {result}'))
            lines = []
    tail = value[pos:].strip()
    if tail:
        lines.append(f'Final Answer: {tail}')
    if lines:
        steps.append(('\n'.join(lines), None))
    if any(not out for out, _ in steps):
        raise DatasetFormatError(f'message {i}: an API result follows no API call')
    return steps


def _json(block: str, i: int) -> dict:
    text = FENCE.sub(r'\1', block).strip()
    try:
        call = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetFormatError(f'message {i}: the API call is not valid JSON ({exc.msg}): '
                                 f'{text[:80]!r}') from None
    if not isinstance(call, dict):
        raise DatasetFormatError(f'message {i}: the API call must be a JSON object')
    return call
