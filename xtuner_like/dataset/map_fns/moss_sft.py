"""MOSS-003 SFT conversations (OpenLMLab/MOSS ``SFT_data/conversations``)."""
from __future__ import annotations

import re

from ...errors import DatasetFormatError
from ...registry import MAP_FNS
from ._columns import missing_columns, present, requires

TURN_KEY = re.compile(r'turn_(\d+)$')
# The model writes these (trained); the user and the tools write the others.
MODEL_FIELDS = ('Inner Thoughts', 'Commands')


@MAP_FNS.register('moss_sft')
@requires('sft', ('chat',))
def moss_sft_map_fn(row: dict) -> dict:
    """{'meta_instruction', 'chat': {'turn_N': {Human, ..., MOSS}}} -> conversation (MOSS-003)

    A turn holds Human, Inner Thoughts, Commands, Tool Responses and MOSS texts.
    MOSS's texts carry their own markers (``<|Human|>: ... <eoh>``, ``<|MOSS|>: ... <eom>``),
    kept verbatim, so use ``prompt_template='moss_sft'`` (which adds none) and the rendered
    text is exactly MOSS's own training text. ``meta_instruction`` is the system text. Each
    turn of the file becomes two conversation turns, because tool output sits between two
    things the model writes::

        input  = Human                          (not trained)
        output = Inner Thoughts + Commands      (trained)
        input  = Tool Responses                 (not trained)
        output = MOSS                           (trained)

    Fields missing from a turn (plain conversations without plugins) are empty; a turn
    without thoughts and commands becomes one conversation turn (Human -> MOSS).

    >>> moss_sft_map_fn({'meta_instruction': 'You are MOSS.\\n', 'chat': {'turn_1': {
    ...     'Human': '<|Human|>: 2+2?<eoh>\\n',
    ...     'Inner Thoughts': '<|Inner Thoughts|>: Use the calculator<eot>\\n',
    ...     'Commands': '<|Commands|>: Calculate("2+2")<eoc>\\n',
    ...     'Tool Responses': '<|Results|>:\\nCalculate("2+2") => 4\\n<eor>\\n',
    ...     'MOSS': '<|MOSS|>: 4<eom>\\n'}}})['conversation']
    [{'system': 'You are MOSS.\\n', 'input': '<|Human|>: 2+2?<eoh>\\n', 'output': '<|Inner Thoughts|>: Use the calculator<eot>\\n<|Commands|>: Calculate("2+2")<eoc>\\n'}, {'input': '<|Results|>:\\nCalculate("2+2") => 4\\n<eor>\\n', 'output': '<|MOSS|>: 4<eom>\\n'}]
    """
    chat = row.get('chat')
    if chat is None:
        raise missing_columns(row, 'moss_sft', "a 'chat' dict of 'turn_N' entries")
    if not isinstance(chat, dict) or not chat:
        raise DatasetFormatError(f"moss_sft row needs a 'chat' dict of 'turn_N' entries (found "
                                 f'{present(row)}); or pick another dataset_map_fn')
    keys = sorted(chat, key=lambda k: int(TURN_KEY.match(k).group(1)) if TURN_KEY.match(k)
                  else -1)
    bad = [k for k in keys if not TURN_KEY.match(k)]
    if bad:
        raise DatasetFormatError(f"moss_sft 'chat' keys must be turn_1, turn_2, ...; found {bad}")
    turns: list[dict] = []
    for key in keys:
        turn = chat[key]
        if not isinstance(turn, dict):
            raise DatasetFormatError(f'moss_sft {key} is {type(turn).__name__}, not a dict')
        human, reply = _field(turn, 'Human', key), _field(turn, 'MOSS', key)
        if not human or not reply:
            raise DatasetFormatError(f"moss_sft {key} needs non-empty 'Human' and 'MOSS' texts "
                                     f'(found {sorted(turn)}); fix or drop this turn')
        written = ''.join(_field(turn, f, key) for f in MODEL_FIELDS)
        if written:
            turns.append({'input': human, 'output': written})
            turns.append({'input': _field(turn, 'Tool Responses', key), 'output': reply})
        else:
            turns.append({'input': human + _field(turn, 'Tool Responses', key),
                          'output': reply})
    system = row.get('meta_instruction')
    if system is not None and not isinstance(system, str):
        raise DatasetFormatError("moss_sft 'meta_instruction' must be a string")
    if system:
        turns[0] = {'system': system, **turns[0]}
    return {'conversation': turns}


def _field(turn: dict, name: str, key: str) -> str:
    value = turn.get(name)
    if value is None:
        return ''
    if not isinstance(value, str):
        raise DatasetFormatError(f'moss_sft {key}: {name!r} must be a string, got '
                                 f'{type(value).__name__}')
    return value
