"""Stack Exchange instructions (ArmelR/stack-exchange-instruction): question -> response."""
from __future__ import annotations

from ...registry import MAP_FNS
from ._columns import requires, text_fields


@MAP_FNS.register('stack_exchange')
@requires('sft', ('question', 'response'))
def stack_exchange_map_fn(row: dict) -> dict:
    """{'question', 'response'} -> conversation

    >>> stack_exchange_map_fn({'question': 'How to undo git add?', 'response': 'git restore'})
    {'conversation': [{'input': 'How to undo git add?', 'output': 'git restore'}]}
    """
    question, response = text_fields(row, 'stack_exchange', ('question', 'response'))
    return {'conversation': [{'input': question, 'output': response}]}
