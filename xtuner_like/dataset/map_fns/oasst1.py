"""OpenAssistant Guanaco text: '### Human: ... ### Assistant: ...' in one 'text' column."""
from __future__ import annotations

import re

from ...errors import DatasetFormatError
from ...registry import MAP_FNS
from ._columns import missing_columns, present, requires

SPEAKER = re.compile(r'### (Human|Assistant):')


@MAP_FNS.register('oasst1')
@requires('sft', ('text',))
def oasst1_map_fn(row: dict) -> dict:
    """{'text': '### Human: q### Assistant: a ...'} -> conversation (openassistant-guanaco)

    Rows of timdettmers/openassistant-guanaco. Each Human/Assistant pair is a turn; whitespace around each message is stripped.

    >>> oasst1_map_fn({'text': '### Human: Hi there### Assistant: Hello! ### Human: 2+2?'
    ...                        '### Assistant: 4'})
    {'conversation': [{'input': 'Hi there', 'output': 'Hello!'}, {'input': '2+2?', 'output': '4'}]}
    """
    text = row.get('text')
    if text is None:
        raise missing_columns(row, 'oasst1', "a 'text' field")
    if not isinstance(text, str):
        raise DatasetFormatError(f"oasst1 row needs a 'text' field (found {present(row)}); "
                                 'or pick another dataset_map_fn')
    parts = SPEAKER.split(text)
    if parts[0].strip():
        raise DatasetFormatError(f"oasst1 text must start with '### Human:', got "
                                 f'{text[:40]!r}')
    messages = list(zip(parts[1::2], (p.strip() for p in parts[2::2])))
    turns = []
    for k in range(0, len(messages) - 1, 2):
        (who_q, q), (who_a, a) = messages[k], messages[k + 1]
        if (who_q, who_a) != ('Human', 'Assistant') or not q or not a:
            raise DatasetFormatError(
                f'oasst1 message {k + 1} and {k + 2} must be a non-empty ### Human: then '
                f'### Assistant: message, got {who_q} then {who_a}')
        turns.append({'input': q, 'output': a})
    if not turns:
        raise DatasetFormatError("oasst1 text holds no '### Human:' ... '### Assistant:' pair")
    return {'conversation': turns}
