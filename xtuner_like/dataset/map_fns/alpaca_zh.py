"""Chinese Alpaca: GPT-4 data with ``*_zh`` columns, or plain instruction/input/output."""
from __future__ import annotations

from ...registry import MAP_FNS
from ._columns import join, requires, text_fields


@MAP_FNS.register('alpaca_zh')
@requires('sft', ('instruction_zh', 'output_zh'), ('instruction', 'output'))
def alpaca_zh_map_fn(row: dict) -> dict:
    """{'instruction_zh', 'input_zh', 'output_zh'} (or unsuffixed) -> conversation

    Reads the ``*_zh`` columns of silk-road/alpaca-data-gpt4-chinese when present, else the
    plain Alpaca columns (e.g. LLaMA-Factory's ``alpaca_zh_demo.json``).

    >>> alpaca_zh_map_fn({'instruction_zh': '把 2 和 3 相加。', 'input_zh': '',
    ...                   'output_zh': '5', 'instruction': 'Add 2 and 3.'})
    {'conversation': [{'input': '把 2 和 3 相加。', 'output': '5'}]}
    """
    suffix = '_zh' if 'instruction_zh' in row or 'output_zh' in row else ''
    instruction, output, extra = text_fields(row, 'alpaca_zh', (
        f'instruction{suffix}', f'output{suffix}'), (f'input{suffix}',))
    return {'conversation': [{'input': join(instruction, extra), 'output': output}]}
