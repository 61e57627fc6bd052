"""ShareGPT: {'conversations': [{'from', 'value'}, ...]} with tool calls, results and tools."""
from __future__ import annotations

from ...errors import DatasetFormatError
from ...registry import MAP_FNS
from ._columns import missing_columns, present, requires
from ._parts import is_text_parts, message_reasoning, message_trained, read_content
from ._tools import CallLinks, input_of, normalize_tools, raw_calls

INPUT_ROLES = {'human': 'human', 'user': 'human', 'observation': 'observation',
               'tool': 'observation'}
OUTPUT_ROLES = {'gpt': 'gpt', 'assistant': 'gpt', 'function_call': 'function_call'}


@MAP_FNS.register('sharegpt')
@requires('sft', ('conversations',))
def sharegpt_map_fn(row: dict) -> dict:
    """{'conversations': [{'from', 'value'}], 'tools'?, 'system'?} -> conversation (tools too).

    Roles: ``system`` (first only), ``human``/``user`` (input), ``gpt``/``assistant``
    (trained), ``function_call`` (trained; its JSON call or list of calls becomes the turn's
    ``'tool_calls'``, as in the openai map_fn) and ``observation`` (tool output, not trained:
    the next turn's ``'tool_results'``, each linked by order to a call; one too many is an
    error). ``value`` may be a list of typed parts (see ``_parts.py``); a gpt
    message's reasoning parts (or its ``reasoning_content``) become the turn's thinking.
    ``tools`` (a JSON string or list) go to the first turn. A trailing human message with no
    reply is dropped; an empty reply is an error. A message's ``loss_weight`` (0.0 or 1.0) is
    honoured as in the openai map_fn: a reply with 0.0 is not trained.

    >>> sharegpt_map_fn({'conversations': [{'from': 'human', 'value': 'Hi'},
    ...                                    {'from': 'gpt', 'value': 'Hello!'}]})
    {'conversation': [{'input': 'Hi', 'output': 'Hello!'}]}
    >>> sharegpt_map_fn({'conversations': [{'from': 'human', 'value': 'Add 2 and 3'},
    ...     {'from': 'function_call', 'value': '{"name": "add", "arguments": {"a": 2, "b": 3}}'},
    ...     {'from': 'observation', 'value': '5'}, {'from': 'gpt', 'value': 'It is 5.'}],
    ...     'tools': ''})['conversation']
    [{'input': 'Add 2 and 3', 'output': '', 'tool_calls': [{'name': 'add', 'arguments': {'a': 2, 'b': 3}, 'id': '6e36420af'}]}, {'input': '', 'tool_results': [{'content': '5', 'call_id': '6e36420af', 'name': 'add'}], 'output': 'It is 5.'}]
    """
    messages = row.get('conversations')
    if messages is None:
        raise missing_columns(row, 'sharegpt', "a non-empty 'conversations' list")
    if not isinstance(messages, list) or not messages:
        raise DatasetFormatError(f"sharegpt row needs a non-empty 'conversations' list (found "
                                 f"{present(row)}); or pick another dataset_map_fn")
    system, start = row.get('system') or None, 0
    if isinstance(messages[0], dict) and messages[0].get('from') == 'system':
        system, start = _value(messages[0], 0).text, 1
    turns: list[dict] = []
    pending: list = []
    pending_role, called, links = None, False, CallLinks()
    for i, msg in enumerate(messages[start:], start=start):
        role = msg.get('from') if isinstance(msg, dict) else None
        kind = INPUT_ROLES.get(role) or OUTPUT_ROLES.get(role)
        if kind in ('human', 'observation'):
            message_trained(msg, f'message {i} ({role!r})', reply=False)
        if kind == 'human' and not pending and not called:
            pending, pending_role = [_value(msg, i).text], kind
        elif kind == 'observation' and (pending_role == kind or (not pending and called)):
            value = msg.get('value')
            value = value if value is not None and not is_text_parts(value) else _value(
                msg, i).text
            pending.append(links.result(value, f'message {i} ({role!r})'))
            pending_role, called = kind, False
        elif kind in ('gpt', 'function_call') and pending:
            turns.append({**input_of(pending, pending_role), **_reply(msg, i, kind, links)})
            pending, pending_role = [], None
            called = 'tool_calls' in turns[-1] or '<tool_call>' in turns[-1]['output']
        else:
            expected = ('gpt or function_call' if pending else 'observation' if called
                        else 'human')
            raise DatasetFormatError(
                f"message {i} is from {role!r} where {expected!r} was expected; conversations "
                "must be [system], then human (or observations) and gpt (or function_call) "
                "in turn")
    if not turns:
        raise DatasetFormatError('sharegpt row has no gpt reply to train on; add one')
    first = {'system': system} if system is not None else {}
    tools = normalize_tools(row.get('tools'))
    if tools:
        first['tools'] = tools
    turns[0] = {**first, **turns[0]}
    return {'conversation': turns}


def _reply(msg: dict, i: int, kind: str, links: CallLinks) -> dict:
    where = f"message {i} ({msg.get('from')!r})"
    untrained = {} if message_trained(msg, where, reply=True) else {'trained': False}
    if kind == 'function_call':
        return {'output': '', 'tool_calls': links.calls(raw_calls(msg.get('value'), where), msg),
                **untrained}
    parsed = _value(msg, i, assistant=True)
    if not parsed.calls and not parsed.text.strip():
        raise DatasetFormatError(f'{where}: empty reply; write the reply or drop the row')
    turn = {'output': parsed.text, **({'tool_calls': parsed.calls} if parsed.calls else {})}
    links.calls(parsed.calls, msg)
    thinking = message_reasoning(msg, parsed.reasoning, f'message {i}')
    if thinking is not None:
        turn['thinking'] = thinking
    return {**turn, **untrained}


def _value(msg: dict, i: int, assistant: bool = False):
    return read_content(msg.get('value'), f"message {i} ({msg.get('from')!r})", assistant)
