"""Colour names from descriptions (burkelibbey/colors)."""
from __future__ import annotations

from ...registry import MAP_FNS
from ._columns import requires, text_fields


@MAP_FNS.register('colors')
@requires('sft', ('description', 'color'))
def colors_map_fn(row: dict) -> dict:
    """{'description', 'color'} -> conversation: description in, hex colour out (system='colorist')

    >>> colors_map_fn({'description': 'A calm ocean blue.', 'color': '#1f6fb2'})
    {'conversation': [{'input': 'A calm ocean blue.', 'output': '#1f6fb2'}]}
    """
    description, color = text_fields(row, 'colors', ('description', 'color'))
    return {'conversation': [{'input': description, 'output': color}]}
