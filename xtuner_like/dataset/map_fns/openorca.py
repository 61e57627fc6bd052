"""OpenOrca (Open-Orca/OpenOrca): system_prompt + question -> response."""
from __future__ import annotations

from ...registry import MAP_FNS
from ._columns import requires, text_fields


@MAP_FNS.register('openorca')
@requires('sft', ('question', 'response'))
def openorca_map_fn(row: dict) -> dict:
    """{'system_prompt', 'question', 'response'} -> conversation with the row's system text

    >>> openorca_map_fn({'id': 'x', 'system_prompt': 'Be precise.', 'question': '2+2?',
    ...                  'response': '4'})
    {'conversation': [{'system': 'Be precise.', 'input': '2+2?', 'output': '4'}]}
    """
    question, response, system = text_fields(row, 'openorca', ('question', 'response'),
                                             ('system_prompt',))
    turn = {'input': question, 'output': response}
    return {'conversation': [{'system': system, **turn} if system.strip() else turn]}
