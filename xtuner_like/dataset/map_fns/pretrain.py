"""Plain text for incremental pre-training: every token is trained."""
from __future__ import annotations

from ...errors import DatasetFormatError
from ...registry import MAP_FNS
from ._columns import missing_columns, present, requires


@MAP_FNS.register('pretrain')
@requires('sft', ('text',))
def pretrain_map_fn(row: dict) -> dict:
    """{'text'} -> {'conversation': [{'input': '', 'output': text}]} (use prompt_template=None).

    >>> pretrain_map_fn({'text': 'The sky is blue.'})
    {'conversation': [{'input': '', 'output': 'The sky is blue.'}]}
    """
    text = row.get('text')
    if text is None:
        raise missing_columns(row, 'pretrain', "a non-empty 'text' field")
    if not isinstance(text, str) or not text.strip():
        raise DatasetFormatError(f"pretrain row needs a non-empty 'text' field (found "
                                 f"{present(row)})")
    return {'conversation': [{'input': '', 'output': text}]}
