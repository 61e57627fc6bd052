"""arXiv metadata (Kaggle ``Cornell-University/arxiv``): abstract -> title."""
from __future__ import annotations

from ...registry import MAP_FNS
from ._columns import requires, text_fields


@MAP_FNS.register('arxiv')
@requires('sft', ('abstract', 'title'))
def arxiv_map_fn(row: dict) -> dict:
    """{'abstract', 'title'} -> conversation: abstract in, title out (system='arxiv_gentile')

    >>> arxiv_map_fn({'abstract': '  We study packing.\\n', 'title': 'On Packing'})
    {'conversation': [{'input': 'We study packing.', 'output': 'On Packing'}]}
    """
    abstract, title = text_fields(row, 'arxiv', ('abstract', 'title'))
    return {'conversation': [{'input': abstract.strip(), 'output': ' '.join(title.split())}]}
