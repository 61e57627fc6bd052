"""A conversation's turns (the map_fns' shape) as OpenAI chat messages.

The inverse of what the map_fns read: one function, used wherever a conversation is handed
to something that speaks messages (``apply_chat_template``, an evaluation harness, a server).
"""
from __future__ import annotations

from typing import Mapping, Sequence


def turns_to_messages(turns: Sequence[Mapping]) -> list[dict]:
    """``[{system?, input | tool_results, output?, tool_calls?, thinking?}, ...]`` -> messages.

    A turn's ``system`` becomes a system message before it; ``tool_results`` become ``tool``
    messages (with ``tool_call_id`` / ``name`` when known) in place of a user message; a reply
    with ``tool_calls`` carries them in the OpenAI shape (its content ``None`` when empty, as a
    server's parser returns it) and ``thinking`` as ``reasoning_content``. A turn without
    ``output`` (a prompt waiting for its reply) gives no assistant message.
    """
    messages: list[dict] = []
    for turn in turns:
        if turn.get('system'):
            messages.append({'role': 'system', 'content': turn['system']})
        if turn.get('tool_results'):
            messages += [{'role': 'tool', 'content': r['content'],
                          **({'tool_call_id': r['call_id']} if 'call_id' in r else {}),
                          **({'name': r['name']} if 'name' in r else {})}
                         for r in turn['tool_results']]
        elif turn.get('input') is not None:
            messages.append({'role': 'user', 'content': turn['input']})
        if turn.get('output') is None and not turn.get('tool_calls'):
            continue
        reply: dict = {'role': 'assistant', 'content': turn.get('output')}
        if turn.get('tool_calls'):
            reply['content'] = turn.get('output') or None
            reply['tool_calls'] = [{'id': c.get('id'), 'type': 'function', 'function': {
                'name': c['name'], 'arguments': c['arguments']}} for c in turn['tool_calls']]
        if turn.get('thinking') is not None:
            reply['reasoning_content'] = turn['thinking']
        messages.append(reply)
    return messages
