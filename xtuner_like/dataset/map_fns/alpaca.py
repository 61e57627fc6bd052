"""Alpaca rows: instruction (+ optional input) -> output."""
from __future__ import annotations

from ...errors import DatasetFormatError
from ...registry import MAP_FNS
from ._columns import present


@MAP_FNS.register('alpaca')
def alpaca_map_fn(row: dict) -> dict:
    """{'instruction', 'input', 'output'} -> {'conversation': [{'input', 'output'}]}

    >>> alpaca_map_fn({'instruction': 'Add 2 and 3.', 'input': '', 'output': '5'})
    {'conversation': [{'input': 'Add 2 and 3.', 'output': '5'}]}
    """
    missing = [k for k in ('instruction', 'output') if not isinstance(row.get(k), str)]
    if missing:
        raise DatasetFormatError(
            f"alpaca row needs string fields 'instruction' and 'output'; missing or not text: "
            f"{missing} (found {present(row)}); rename the columns or pick another dataset_map_fn")
    prompt = '\n'.join(p for p in (row['instruction'], row.get('input') or '') if p)
    return {'conversation': [{'input': prompt, 'output': row['output']}]}
