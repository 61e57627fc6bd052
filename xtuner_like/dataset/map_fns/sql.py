"""Text-to-SQL (b-mc2/sql-create-context): schema + question -> query."""
from __future__ import annotations

from ...registry import MAP_FNS
from ._columns import requires, text_fields


@MAP_FNS.register('sql')
@requires('sft', ('context', 'question', 'answer'))
def sql_map_fn(row: dict) -> dict:
    """{'context', 'question', 'answer'} -> conversation: schema + question in, SQL out

    >>> sql_map_fn({'context': 'CREATE TABLE t (a INT)', 'question': 'How many rows?',
    ...             'answer': 'SELECT COUNT(*) FROM t'})['conversation'][0]['input']
    'CREATE TABLE t (a INT)\\nHow many rows?'
    """
    context, question, answer = text_fields(row, 'sql', ('context', 'question', 'answer'))
    return {'conversation': [{'input': f'{context}\n{question}', 'output': answer}]}
