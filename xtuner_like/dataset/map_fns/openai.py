"""OpenAI chat format: {'messages': [{'role', 'content'}, ...]}, with tool calls and results."""
from __future__ import annotations

from ...errors import DatasetFormatError
from ...registry import MAP_FNS
from ._columns import present
from ._parts import message_reasoning, read_content
from ._tools import call_text, normalize_tools, tool_response_text

HOW = ('messages must be [system], then user (or tool results) and assistant in turn; '
       'see `xtuner-like list-dataset-format`')


@MAP_FNS.register('openai')
def openai_map_fn(row: dict) -> dict:
    """{'messages': [system?, user, assistant, ...], 'tools'?} -> conversation (tool calls too).

    An assistant message's ``content`` and its ``tool_calls`` are trained; each call is
    rendered as ``<tool_call>\\n{"name": ..., "arguments": ...}\\n</tool_call>`` after the
    content, and its reasoning (``reasoning_content`` or reasoning parts) becomes the turn's
    ``'thinking'``. ``tool`` messages are not trained: consecutive ones, each wrapped as
    ``<tool_response>\\n...\\n</tool_response>`` and joined by newlines, become the input of
    the next turn. ``content`` may be a list of typed parts (see ``_parts.py``). The row's
    ``tools`` go to the first turn (the template renders them after the system text). A
    trailing user message with no reply is dropped; an empty reply is an error.

    >>> openai_map_fn({'messages': [{'role': 'system', 'content': 'Be brief.'},
    ...     {'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello!'}]})
    {'conversation': [{'system': 'Be brief.', 'input': 'Hi', 'output': 'Hello!'}]}
    >>> openai_map_fn({'messages': [{'role': 'user', 'content': 'Weather in Paris?'},
    ...     {'role': 'assistant', 'content': None, 'tool_calls': [{'type': 'function',
    ...      'function': {'name': 'weather', 'arguments': {"city": "Paris"}}}]},
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
        system, start = read_content(messages[0].get('content'), "message 0 ('system')").text, 1
    turns: list[dict] = []
    pending: list[str] = []           # inputs waiting for the assistant's reply
    pending_role, called = None, False
    for i, msg in enumerate(messages[start:], start=start):
        role = msg.get('role') if isinstance(msg, dict) else None
        where = f'message {i} ({role!r})'
        if role == 'user' and not pending and not called:
            pending, pending_role = [read_content(msg.get('content'), where).text], 'user'
        elif role == 'tool' and (pending_role == 'tool' or (not pending and called)):
            pending.append(tool_response_text(_tool_result(msg, where)))
            pending_role, called = 'tool', False
        elif role == 'assistant' and pending:
            turns.append({'input': '\n'.join(pending), **assistant_turn(msg, where)})
            pending, pending_role = [], None
            called = bool(msg.get('tool_calls')) or '<tool_call>' in turns[-1]['output']
        else:
            expected = 'assistant' if pending else 'tool' if called else 'user'
            raise DatasetFormatError(f'message {i} has role {role!r} where {expected!r} was '
                                     f'expected; {HOW}')
    if not turns:
        raise DatasetFormatError('openai row has no assistant reply to train on; add one')
    first = {'system': system} if system is not None else {}
    tools = normalize_tools(row.get('tools'))
    if tools:
        first['tools'] = tools
    turns[0] = {**first, **turns[0]}
    return {'conversation': turns}


def assistant_turn(msg: dict, where: str) -> dict:
    """``{'output'[, 'thinking']}`` of an assistant message: text, then its tool calls."""
    calls = msg.get('tool_calls') or []
    content = msg.get('content')
    parsed = read_content('' if content is None and calls else content, where, assistant=True)
    outputs = [parsed.text] if parsed.text else []
    outputs += parsed.calls + [call_text(call, where) for call in calls]
    if not outputs or not ''.join(outputs).strip():
        raise DatasetFormatError(f'{where}: empty assistant reply (no text and no tool calls); '
                                 'write the reply or drop the row')
    turn = {'output': '\n'.join(outputs)}
    thinking = message_reasoning(msg, parsed.reasoning, where)
    if thinking is not None:
        turn['thinking'] = thinking
    return turn


def _tool_result(msg: dict, where: str):
    # A string is the result as written; anything else is written as JSON (as the exported
    # chat_template's tojson does), so no structure is flattened silently.
    if msg.get('content') is None:
        raise DatasetFormatError(f'{where}: tool message has no content; give the result')
    return msg['content']
