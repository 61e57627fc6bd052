"""OpenAI chat format: {'messages': [{'role', 'content'}, ...]}, with tool calls and results."""
from __future__ import annotations

from ...errors import DatasetFormatError
from ...registry import MAP_FNS
from ._columns import missing_columns, present, requires
from ._parts import is_text_parts, message_reasoning, message_trained, read_content
from ._tools import CallLinks, input_of, normalize_tools, read_call

HOW = ('messages must be [system], then user (or tool results) and assistant in turn; '
       'see `xtuner-like list-dataset-format`')


@MAP_FNS.register('openai')
@requires('sft', ('messages',))
def openai_map_fn(row: dict) -> dict:
    """{'messages': [system?, user, assistant, ...], 'tools'?} -> conversation (tool calls too).

    An assistant message's ``content`` (the turn's ``'output'``) and its ``tool_calls`` (the
    turn's ``'tool_calls'``: ``{'name', 'arguments', 'id'}``, the id derived from the reply when
    the data has none) are trained, written by the template's tool style; its reasoning
    (``reasoning_content`` or reasoning parts) becomes the turn's ``'thinking'``. ``tool``
    messages are not trained: consecutive ones are the next turn's ``'tool_results'``
    (``{'content', 'call_id', 'name'}``; ``'input'`` is empty), each linked to its call by
    ``tool_call_id``, else by order; a result that answers no call is an error. ``content``
    may be a list of typed parts (see ``_parts.py``). The row's ``tools`` go to the first turn
    (the template's tool style places them), with those of any ``tools`` content part. A
    message's ``loss_weight`` (LLaMA-Factory) is honoured: a reply with 0.0 is context, not
    trained (the turn's ``'trained': False``). A trailing user message with no reply is
    dropped; an empty reply is an error.

    >>> openai_map_fn({'messages': [{'role': 'system', 'content': 'Be brief.'},
    ...     {'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello!'}]})
    {'conversation': [{'system': 'Be brief.', 'input': 'Hi', 'output': 'Hello!'}]}
    >>> openai_map_fn({'messages': [{'role': 'user', 'content': 'Weather in Paris?'},
    ...     {'role': 'assistant', 'content': None, 'tool_calls': [{'type': 'function',
    ...      'function': {'name': 'weather', 'arguments': {"city": "Paris"}}}]},
    ...     {'role': 'tool', 'content': '21 C'},
    ...     {'role': 'assistant', 'content': 'It is 21 C.'}]})['conversation']
    [{'input': 'Weather in Paris?', 'output': '', 'tool_calls': [{'name': 'weather', 'arguments': {'city': 'Paris'}, 'id': '96d7ef59e'}]}, {'input': '', 'tool_results': [{'content': '21 C', 'call_id': '96d7ef59e', 'name': 'weather'}], 'output': 'It is 21 C.'}]
    """
    messages = row.get('messages')
    if messages is None:
        raise missing_columns(row, 'openai', "a non-empty 'messages' list")
    if not isinstance(messages, list) or not messages:
        raise DatasetFormatError(f"openai row needs a non-empty 'messages' list (found "
                                 f"{present(row)}); or pick another dataset_map_fn")
    system, start, part_tools = None, 0, []
    if isinstance(messages[0], dict) and messages[0].get('role') == 'system':
        where = "message 0 ('system')"
        parsed = read_content(messages[0].get('content'), where)
        system, start, part_tools = parsed.text, 1, parsed.tools
        message_trained(messages[0], where, reply=False)
    turns: list[dict] = []
    pending: list = []                # a user text or tool results waiting for the reply
    pending_role, called, links = None, False, CallLinks()
    for i, msg in enumerate(messages[start:], start=start):
        role = msg.get('role') if isinstance(msg, dict) else None
        where = f'message {i} ({role!r})'
        if role in ('user', 'tool'):
            message_trained(msg, where, reply=False)
        if role == 'user' and not pending and not called:
            parsed = read_content(msg.get('content'), where)
            pending, pending_role = [parsed.text], 'user'
            part_tools += parsed.tools
        elif role == 'tool' and (pending_role == 'tool' or (not pending and called)):
            pending.append(links.result(_tool_result(msg, where), where,
                                        msg.get('tool_call_id'), msg.get('name')))
            pending_role, called = 'tool', False
        elif role == 'assistant' and pending:
            turns.append({**input_of(pending, pending_role), **assistant_turn(msg, where, links)})
            pending, pending_role = [], None
            called = 'tool_calls' in turns[-1] or '<tool_call>' in turns[-1]['output']
        else:
            expected = 'assistant' if pending else 'tool' if called else 'user'
            raise DatasetFormatError(f'message {i} has role {role!r} where {expected!r} was '
                                     f'expected; {HOW}')
    if not turns:
        raise DatasetFormatError('openai row has no assistant reply to train on; add one')
    first = {'system': system} if system is not None else {}
    tools = (normalize_tools(row.get('tools')) or []) + part_tools
    if tools:
        first['tools'] = tools
    turns[0] = {**first, **turns[0]}
    return {'conversation': turns}


def assistant_turn(msg: dict, where: str, links: CallLinks) -> dict:
    """``{'output'[, 'tool_calls', 'thinking']}`` of an assistant message."""
    calls = msg.get('tool_calls') or []
    content = msg.get('content')
    parsed = read_content('' if content is None and calls else content, where, assistant=True)
    calls = parsed.calls + [read_call(call, where) for call in calls]
    if not calls and not parsed.text.strip():
        raise DatasetFormatError(f'{where}: empty assistant reply (no text and no tool calls); '
                                 'write the reply or drop the row')
    turn = {'output': parsed.text}
    links.calls(calls, msg)
    if calls:
        turn['tool_calls'] = calls
    thinking = message_reasoning(msg, parsed.reasoning, where)
    if thinking is not None:
        turn['thinking'] = thinking
    if not message_trained(msg, where, reply=True):
        turn['trained'] = False
    return turn


def _tool_result(msg: dict, where: str):
    # A string is the result as written; anything else is written as JSON (as the exported
    # chat_template's tojson does), so no structure is flattened silently.
    if msg.get('content') is None:
        raise DatasetFormatError(f'{where}: tool message has no content; give the result')
    if is_text_parts(msg['content']):  # the result as text parts: their text
        return read_content(msg['content'], where).text
    return msg['content']
