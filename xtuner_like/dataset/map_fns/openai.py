"""OpenAI chat format: {'messages': [{'role', 'content'}, ...]}, with tool calls and results."""
from __future__ import annotations

from ...errors import DatasetFormatError
from ...registry import MAP_FNS
from ._columns import present
from ._tools import tool_call_text, tool_response_text, tools_system_text

HOW = ('messages must be [system], then user (or tool results) and assistant in turn; '
       'see `xtuner-like list-dataset-format`')


@MAP_FNS.register('openai')
def openai_map_fn(row: dict) -> dict:
    """{'messages': [system?, user, assistant, ...], 'tools'?} -> conversation (tool calls too).

    An assistant message's ``content`` and its ``tool_calls`` are trained; each call is
    rendered as ``<tool_call>\\n{"name": ..., "arguments": ...}\\n</tool_call>`` after the
    content. ``tool`` messages are not trained: consecutive ones, each wrapped as
    ``<tool_response>\\n...\\n</tool_response>`` and joined by newlines, become the input of
    the next turn, whose output is the assistant's following message. A row's ``tools`` list
    is appended to the system text (see ``_tools.py``). A trailing user message with no
    reply is dropped.

    >>> openai_map_fn({'messages': [{'role': 'system', 'content': 'Be brief.'},
    ...     {'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello!'}]})
    {'conversation': [{'system': 'Be brief.', 'input': 'Hi', 'output': 'Hello!'}]}
    >>> openai_map_fn({'messages': [{'role': 'user', 'content': 'Weather in Paris?'},
    ...     {'role': 'assistant', 'content': None, 'tool_calls': [{'type': 'function',
    ...      'function': {'name': 'weather', 'arguments': '{"city": "Paris"}'}}]},
    ...     {'role': 'tool', 'content': '21 C'},
    ...     {'role': 'assistant', 'content': 'It is 21 C.'}]})['conversation']
    [{'input': 'Weather in Paris?', 'output': '<tool_call>\\n{"name": "weather", "arguments": {"city": "Paris"}}\\n</tool_call>'}, {'input': '<tool_response>\\n21 C\\n</tool_response>', 'output': 'It is 21 C.'}]
    """
    messages = row.get('messages')
    if not isinstance(messages, list) or not messages:
        raise DatasetFormatError(f"openai row needs a non-empty 'messages' list (found "
                                 f"{present(row)}); or pick another dataset_map_fn")
    system, start = None, 0
    if isinstance(messages[0], dict) and messages[0].get('role') == 'system':
        system, start = _text(messages[0], 0), 1
    system = tools_system_text(row.get('tools'), system)
    turns: list[dict] = []
    pending: list[str] = []           # inputs waiting for the assistant's reply
    pending_role, called = None, False
    for i, msg in enumerate(messages[start:], start=start):
        role = msg.get('role') if isinstance(msg, dict) else None
        if role == 'user' and not pending and not called:
            pending, pending_role = [_text(msg, i)], 'user'
        elif role == 'tool' and (pending_role == 'tool' or (not pending and called)):
            pending.append(tool_response_text(_text(msg, i)))
            pending_role, called = 'tool', False
        elif role == 'assistant' and pending:
            turns.append({'input': '\n'.join(pending), 'output': _assistant_text(msg, i)})
            pending, pending_role = [], None
            called = bool(msg.get('tool_calls'))
        else:
            expected = 'assistant' if pending else 'tool' if called else 'user'
            raise DatasetFormatError(f'message {i} has role {role!r} where {expected!r} was '
                                     f'expected; {HOW}')
    if not turns:
        raise DatasetFormatError('openai row has no assistant reply to train on; add one')
    if system is not None:
        turns[0] = {'system': system, **turns[0]}
    return {'conversation': turns}


def _text(msg: dict, i: int) -> str:
    content = msg.get('content')
    if isinstance(content, list):  # [{'type': 'text', 'text': ...}, ...]
        parts = [p.get('text') for p in content if isinstance(p, dict)]
        if all(isinstance(p, str) for p in parts):
            return ''.join(parts)
    if not isinstance(content, str):
        raise DatasetFormatError(f'message {i} ({msg.get("role")!r}) has no text content: '
                                 f'{str(msg)[:80]}; give "content" as a string')
    return content


def _assistant_text(msg: dict, i: int) -> str:
    calls = msg.get('tool_calls') or []
    if not calls:
        return _text(msg, i)
    parts = [msg['content']] if isinstance(msg.get('content'), str) and msg['content'] else []
    for call in calls:
        fn = call.get('function', call) if isinstance(call, dict) else None
        if not isinstance(fn, dict):
            raise DatasetFormatError(f'message {i}: a tool call must be a dict with '
                                     f"'function': {{'name', 'arguments'}}, got {call!r:.80}")
        parts.append(tool_call_text(fn.get('name'), fn.get('arguments', {})))
    return '\n'.join(parts)
