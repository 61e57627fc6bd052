"""Stage 'format': every source row becomes one conversation, with its provenance.

The project's own map_fns do the conversion (``xtuner-like list-dataset-format``); the
format of a file is told from its columns unless ``format.map_fn`` names one.
"""
from __future__ import annotations

from typing import Callable

import pyarrow as pa

from ..dataset.pipeline import RowLocator
from ..dataset.map_fns import get_map_fn
from ..errors import ConfigError, DatasetFormatError, XtunerLikeError
from ..templates.tools import turn_text

# Columns that give a file's format away, checked in this order.
SIGNATURES: tuple[tuple[frozenset[str], str | None], ...] = (
    (frozenset({'conversation'}), None),
    (frozenset({'messages'}), 'openai'),
    (frozenset({'conversations'}), 'sharegpt'),
    (frozenset({'meta_instruction', 'chat'}), 'moss_sft'),
    (frozenset({'instruction', 'output'}), 'alpaca'),
    (frozenset({'text'}), 'pretrain'),
)
TURN = pa.struct([('system', pa.string()), ('input', pa.string()), ('output', pa.string())])
SCHEMA = pa.schema([('_id', pa.int64()), ('source', pa.string()), ('row', pa.int64()),
                    ('conversation', pa.list_(TURN)), ('_reason', pa.string()),
                    ('_detail', pa.string())])
COLUMNS = tuple(SCHEMA.names)


def detect_map_fn(path: str, columns: list[str]) -> str | None:
    """The map_fn name for a file with these columns; a clear error when none fits."""
    for needed, name in SIGNATURES:
        if needed <= set(columns):
            return name
    known = ', '.join(f"{sorted(cols)} -> {name or 'none'}" for cols, name in SIGNATURES)
    raise ConfigError(f'{path}: cannot tell the format from its columns {sorted(columns)} '
                      f'({known}); set format.map_fn to a name from '
                      '`xtuner-like list-dataset-format`')


def resolve_map_fn(path: str, columns: list[str], name: str | None) -> str | None:
    """``name`` checked against the registry, or the detected one when ``name`` is None."""
    if name is None:
        return detect_map_fn(path, columns)
    get_map_fn(name)  # an unknown name fails here, with close matches
    return name


def to_turns(conversation: list[dict]) -> list[dict]:
    """Turns with exactly the string fields system, input and output (one Arrow type)."""
    if not isinstance(conversation, list) or not conversation:
        raise DatasetFormatError("the map_fn returned no turns; it must return "
                                 "{'conversation': [{'input', 'output'}, ...]}")
    turns = []
    for turn in conversation:
        if not isinstance(turn, dict):
            raise DatasetFormatError(f'a turn must be a dict, got {turn!r:.60}')
        turn = turn_text(turn)  # tool calls and results as text, for the text filters
        turns.append({k: turn.get(k) if isinstance(turn.get(k), str) else ''
                      for k in ('system', 'input', 'output')})
    return turns


def format_batch(batch: dict, *, map_fn: str | None, source: str, offset: int,
                 on_bad_row: str) -> dict:
    """Raw rows (with their ``_row`` number) -> the curation columns (:data:`COLUMNS`)."""
    fn: Callable | None = get_map_fn(map_fn)
    keys = [k for k in batch if k != '_row']
    out: dict[str, list] = {c: [] for c in COLUMNS}
    for j, row_no in enumerate(batch['_row']):
        row = {k: batch[k][j] for k in keys}
        reason = detail = ''
        try:
            turns = to_turns((fn(row) if fn is not None else row).get('conversation'))
        except (XtunerLikeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            if on_bad_row == 'error':
                raise DatasetFormatError(
                    f"{RowLocator([source], [0])(int(row_no))}: {exc}. Fix the row, set "
                    "format.map_fn, or set "
                    "format.on_bad_row='drop'") from None
            turns, reason, detail = [], 'format_error', str(exc)[:200]
        out['_id'].append(offset + int(row_no))
        out['source'].append(source)
        out['row'].append(int(row_no))
        out['conversation'].append(turns)
        out['_reason'].append(reason)
        out['_detail'].append(detail)
    return out


def to_messages(turns: list[dict]) -> list[dict]:
    """A conversation as OpenAI messages (what ``dataset_map_fn='openai'`` reads back).

    >>> to_messages([{'system': 'Be brief.', 'input': 'Hi', 'output': 'Hello'}])[0]
    {'role': 'system', 'content': 'Be brief.'}
    """
    messages = [{'role': 'system', 'content': turns[0]['system']}] if turns[0]['system'] else []
    for t in turns:
        messages += [{'role': 'user', 'content': t['input']},
                     {'role': 'assistant', 'content': t['output']}]
    return messages


def output_batch(batch: dict) -> dict:
    """The written columns: ``messages`` plus provenance (``source``, ``row``)."""
    return {'messages': [to_messages(turns) for turns in batch['conversation']],
            'source': batch['source'], 'row': batch['row'], '_id': batch['_id'],
            '_split': batch.get('_split') or ['train'] * len(batch['_id'])}
