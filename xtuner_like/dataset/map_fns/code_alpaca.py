"""Code Alpaca 20k: 'prompt'/'completion' (HuggingFaceH4) or instruction/input/output."""
from __future__ import annotations

from ...registry import MAP_FNS
from ._columns import join, requires, text_fields


@MAP_FNS.register('code_alpaca')
@requires('sft', ('prompt', 'completion'), ('instruction', 'output'))
def code_alpaca_map_fn(row: dict) -> dict:
    """{'prompt', 'completion'} or Alpaca columns -> conversation (use system='coder')

    >>> code_alpaca_map_fn({'prompt': 'Reverse a list in Python.', 'completion': 'xs[::-1]'})
    {'conversation': [{'input': 'Reverse a list in Python.', 'output': 'xs[::-1]'}]}
    """
    if 'prompt' in row or 'completion' in row:
        prompt, output = text_fields(row, 'code_alpaca', ('prompt', 'completion'))
    else:
        instruction, output, extra = text_fields(row, 'code_alpaca', ('instruction', 'output'),
                                                 ('input',))
        prompt = join(instruction, extra)
    return {'conversation': [{'input': prompt, 'output': output}]}
