"""OpenAI chat format: {'messages': [{'role', 'content'}, ...]}."""
from __future__ import annotations

from ...errors import DatasetFormatError
from ...registry import MAP_FNS


@MAP_FNS.register('openai')
def openai_map_fn(row: dict) -> dict:
    """{'messages': [system?, user, assistant, user, assistant, ...]} -> conversation turns.

    >>> openai_map_fn({'messages': [{'role': 'system', 'content': 'Be brief.'},
    ...     {'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello!'}]})
    {'conversation': [{'system': 'Be brief.', 'input': 'Hi', 'output': 'Hello!'}]}
    """
    messages = row.get('messages')
    if not isinstance(messages, list) or not messages:
        raise DatasetFormatError(f"openai row needs a non-empty 'messages' list (found "
                                 f"{sorted(row)}); or pick another dataset_map_fn")
    turns: list[dict] = []
    system, pending = None, None
    for i, msg in enumerate(messages):
        role, content = (msg or {}).get('role'), (msg or {}).get('content')
        if not isinstance(content, str):
            raise DatasetFormatError(f'message {i} has no text content: {msg!r}')
        if role == 'system' and i == 0:
            system = content
        elif role == 'user' and pending is None:
            pending = content
        elif role == 'assistant' and pending is not None:
            turn = {'input': pending, 'output': content}
            if system is not None and not turns:
                turn = {'system': system, **turn}
            turns.append(turn)
            pending = None
        else:
            expected = 'user' if pending is None else 'assistant'
            raise DatasetFormatError(
                f"message {i} has role {role!r} where {expected!r} was expected; messages must "
                "be [system], user, assistant, user, assistant, ...")
    if not turns:
        raise DatasetFormatError("openai row has no assistant reply to train on")
    return {'conversation': turns}
