"""Medical QA (shibing624/medical ``finetune``): instruction/input/output."""
from __future__ import annotations

from ...registry import MAP_FNS
from ._columns import join, requires, text_fields


@MAP_FNS.register('medical')
@requires('sft', ('instruction', 'output'))
def medical_map_fn(row: dict) -> dict:
    """{'instruction', 'input', 'output'} -> conversation (use system='medical')

    >>> medical_map_fn({'instruction': '头痛怎么办？', 'input': '', 'output': '多休息。'})
    {'conversation': [{'input': '头痛怎么办？', 'output': '多休息。'}]}
    """
    instruction, output, extra = text_fields(row, 'medical', ('instruction', 'output'),
                                             ('input',))
    return {'conversation': [{'input': join(instruction, extra), 'output': output}]}
