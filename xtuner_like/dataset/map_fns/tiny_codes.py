"""Tiny codes (nampdn-ai/tiny-codes): prompt -> response."""
from __future__ import annotations

from ...registry import MAP_FNS
from ._columns import requires, text_fields


@MAP_FNS.register('tiny_codes')
@requires('sft', ('prompt', 'response'))
def tiny_codes_map_fn(row: dict) -> dict:
    """{'prompt', 'response'} -> conversation (use system='coder')

    >>> tiny_codes_map_fn({'prompt': 'Write hello world in C.', 'response': 'puts("hi");'})
    {'conversation': [{'input': 'Write hello world in C.', 'output': 'puts("hi");'}]}
    """
    prompt, response = text_fields(row, 'tiny_codes', ('prompt', 'response'))
    return {'conversation': [{'input': prompt, 'output': response}]}
