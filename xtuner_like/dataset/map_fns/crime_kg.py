"""CrimeKgAssitant legal QA (Chinese): question -> answer."""
from __future__ import annotations

from ...registry import MAP_FNS
from ._columns import requires, text_fields


@MAP_FNS.register('crime_kg')
@requires('sft', ('question', 'answer'))
def crime_kg_map_fn(row: dict) -> dict:
    """{'question', 'answer'} -> conversation (use system='lawyer')

    >>> crime_kg_map_fn({'question': '盗窃罪怎么判？', 'answer': '视数额而定。'})
    {'conversation': [{'input': '盗窃罪怎么判？', 'output': '视数额而定。'}]}
    """
    question, answer = text_fields(row, 'crime_kg', ('question', 'answer'))
    return {'conversation': [{'input': question, 'output': answer}]}
