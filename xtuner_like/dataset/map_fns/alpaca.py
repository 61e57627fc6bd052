"""Alpaca rows: instruction (+ optional input) -> output."""
from __future__ import annotations

from ...errors import DatasetFormatError
from ...registry import MAP_FNS
from ._columns import missing_columns, problem_fields, requires


@MAP_FNS.register('alpaca')
@requires('sft', ('instruction', 'output'))
def alpaca_map_fn(row: dict) -> dict:
    """{'instruction', 'input', 'output'} -> {'conversation': [{'input', 'output'}]}

    >>> alpaca_map_fn({'instruction': 'Add 2 and 3.', 'input': '', 'output': '5'})
    {'conversation': [{'input': 'Add 2 and 3.', 'output': '5'}]}
    """
    problems = problem_fields(row, ('instruction', 'output'))
    if 'missing' in problems:
        raise missing_columns(row, 'alpaca', f"string fields 'instruction' and 'output'; "
                                             f"missing {problems['missing']}")
    if 'not text' in problems:  # an empty output is allowed (as in the Alpaca data)
        raise DatasetFormatError(
            f"alpaca row: fields {problems['not text']} must be text (found "
            f"{[type(row[k]).__name__ for k in problems['not text']]}); fix those rows")
    prompt = '\n'.join(p for p in (row['instruction'], row.get('input') or '') if p)
    return {'conversation': [{'input': prompt, 'output': row['output']}]}
