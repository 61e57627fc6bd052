"""ShareGPT: {'conversations': [{'from', 'value'}, ...]} with tool calls, results and tools."""
from __future__ import annotations

from ...errors import DatasetFormatError
from ...registry import MAP_FNS
from ._columns import present
from ._tools import raw_tool_call_text, tool_response_text, tools_system_text

INPUT_ROLES = {'human': 'human', 'user': 'human', 'observation': 'observation',
               'tool': 'observation'}
OUTPUT_ROLES = {'gpt': 'gpt', 'assistant': 'gpt', 'function_call': 'function_call'}


@MAP_FNS.register('sharegpt')
def sharegpt_map_fn(row: dict) -> dict:
    """{'conversations': [{'from', 'value'}], 'tools'?, 'system'?} -> conversation (tools too).

    Roles: ``system`` (first only), ``human``/``user`` (input), ``gpt``/``assistant``
    (trained), ``function_call`` (trained; its JSON is rendered as
    ``<tool_call>\\n{"name", "arguments"}\\n</tool_call>``) and ``observation`` (tool output,
    not trained: wrapped as ``<tool_response>\\n...\\n</tool_response>`` it is the input of
    the next turn). ``tools`` (a JSON string or list) is appended to the system text. A
    conversation that ends with an unanswered human message takes the row's ``chosen``
    reply (DPO data) or, without one, drops that message.

    >>> sharegpt_map_fn({'conversations': [{'from': 'human', 'value': 'Hi'},
    ...                                    {'from': 'gpt', 'value': 'Hello!'}]})
    {'conversation': [{'input': 'Hi', 'output': 'Hello!'}]}
    >>> sharegpt_map_fn({'conversations': [{'from': 'human', 'value': 'Add 2 and 3'},
    ...     {'from': 'function_call', 'value': '{"name": "add", "arguments": {"a": 2, "b": 3}}'},
    ...     {'from': 'observation', 'value': '5'}, {'from': 'gpt', 'value': 'It is 5.'}],
    ...     'tools': ''})['conversation']
    [{'input': 'Add 2 and 3', 'output': '<tool_call>\\n{"name": "add", "arguments": {"a": 2, "b": 3}}\\n</tool_call>'}, {'input': '<tool_response>\\n5\\n</tool_response>', 'output': 'It is 5.'}]
    """
    messages = row.get('conversations')
    if not isinstance(messages, list) or not messages:
        raise DatasetFormatError(f"sharegpt row needs a non-empty 'conversations' list (found "
                                 f"{present(row)}); or pick another dataset_map_fn")
    system, start = row.get('system') or None, 0
    if isinstance(messages[0], dict) and messages[0].get('from') == 'system':
        system, start = _value(messages[0], 0), 1
    system = tools_system_text(row.get('tools'), system)
    turns: list[dict] = []
    pending: list[str] = []
    pending_role, called = None, False
    for i, msg in enumerate(messages[start:], start=start):
        role = msg.get('from') if isinstance(msg, dict) else None
        kind = INPUT_ROLES.get(role) or OUTPUT_ROLES.get(role)
        if kind == 'human' and not pending and not called:
            pending, pending_role = [_value(msg, i)], kind
        elif kind == 'observation' and (pending_role == kind or (not pending and called)):
            pending.append(tool_response_text(_value(msg, i)))
            pending_role, called = kind, False
        elif kind in ('gpt', 'function_call') and pending:
            value = _value(msg, i)
            output = raw_tool_call_text(value) if kind == 'function_call' else value
            turns.append({'input': '\n'.join(pending), 'output': output})
            pending, pending_role, called = [], None, kind == 'function_call'
        else:
            expected = ('gpt or function_call' if pending else 'observation' if called
                        else 'human')
            raise DatasetFormatError(
                f"message {i} is from {role!r} where {expected!r} was expected; conversations "
                "must be [system], then human (or observations) and gpt (or function_call) "
                "in turn")
    chosen = row.get('chosen')
    if pending_role == 'human' and isinstance(chosen, dict) and isinstance(
            chosen.get('value'), str):
        turns.append({'input': '\n'.join(pending), 'output': chosen['value']})
    if not turns:
        raise DatasetFormatError('sharegpt row has no gpt reply to train on; add one')
    if system is not None:
        turns[0] = {'system': system, **turns[0]}
    return {'conversation': turns}


def _value(msg: dict, i: int) -> str:
    value = msg.get('value')
    if not isinstance(value, str):
        raise DatasetFormatError(f"message {i} ({msg.get('from')!r}) has no text 'value': "
                                 f'{str(msg)[:80]}')
    return value
