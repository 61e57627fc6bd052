"""Preference pairs and KTO rows as row types of the data pipeline.

A pair becomes ONE sample holding two sequences: prompt + chosen reply, then prompt +
rejected reply. ``position_ids`` restart at 0 for the second sequence, so attention stays
inside each sequence when the sample is concatenated with others, and the model finds the
sequences from the restarts (model/sequence_logps.py): sequence ``2k`` is the chosen (or KTO)
reply of sample ``k``, sequence ``2k + 1`` its rejected reply (or KTO's mismatched KL
sequence).

Packing (``pack_to_max_length=True``, as SFT): SFT's packer (dataset/pack.py) puts whole
samples, i.e. whole pairs, into rows of ``2 * max_length`` tokens (``max_length`` bounds each
sequence, so any pair fits), keeping each pair's own ``position_ids``; KTO's ``desirable``
becomes one list per packed row. Unpacked, a dataset row is one pair. Either way
:class:`PreferenceCollator` concatenates a micro-batch's rows into one row, without padding.

The prompt is rendered with the recipe's chat format exactly as SFT renders it (the same
template_map_fn and encoder), and only the final reply with its end-of-turn is trained;
earlier turns of a multi-turn prompt are context.

KTO: the KL reference point of the KTO loss is estimated on mismatched (prompt, reply)
sequences; here sample ``i``'s KL sequence is its prompt with the reply of sample ``i + 1``
of the same encode batch (cyclic), as trl builds them within a batch.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from ..errors import DatasetFormatError
from .collate import SftCollator
from .encode import encode_batch
from .pipeline import ROW_TYPES
from .template import template_map_fn

Segments = list[dict]


def reply_segments(conversation: list[dict], reply: str | dict, template: Any,
                   system: str | None, eos_token: str) -> Segments:
    """Render prompt turns + ``reply`` (its text, or ``{'output', 'tool_calls'}``); only the
    final reply (and its end-of-turn) is trained."""
    *context, last = conversation
    turns = [*context, {**last, **(reply if isinstance(reply, dict) else {'output': reply})}]
    segments = template_map_fn({'conversation': turns}, template, system, eos_token)['segments']
    # The final reply is the run of trained segments after the last untrained one before it.
    last_trained = max((i for i, s in enumerate(segments) if s['trained']), default=-1)
    start = last_trained
    while start > 0 and segments[start - 1]['trained']:
        start -= 1
    return [{**s, 'trained': s['trained'] and i >= start} for i, s in enumerate(segments)]


def join_sequences(first: dict, second: dict) -> dict:
    """Two encoded sequences -> one sample whose ``position_ids`` restart at the second.

    ``num_trained`` is 0 when either side lost every trained token to truncation, so the
    pipeline drops (and counts) a pair that could not be compared.
    """
    both = first['num_trained'] > 0 and second['num_trained'] > 0
    return {'input_ids': first['input_ids'] + second['input_ids'],
            'labels': first['labels'] + second['labels'],
            'position_ids': list(range(first['length'])) + list(range(second['length'])),
            'length': first['length'] + second['length'],
            'num_trained': first['num_trained'] + second['num_trained'] if both else 0,
            'truncated': first['truncated'] or second['truncated']}


def encode_sequence_pairs(pairs: Sequence[tuple[Segments, Segments]], tokenizer: Any,
                          max_length: int) -> dict[str, list]:
    """Segment pairs -> columns of joined samples (each sequence truncated to ``max_length``)."""
    flat = encode_batch([s for pair in pairs for s in pair], tokenizer, max_length)
    rows = [{k: v[i] for k, v in flat.items()} for i in range(len(flat['length']))]
    joined = [join_sequences(rows[2 * k], rows[2 * k + 1]) for k in range(len(pairs))]
    return {key: [j[key] for j in joined] for key in joined[0]} if joined else {}


def _format(spec: Any) -> tuple[Any, str | None]:
    fmt = spec.chat_format
    return fmt.template, fmt.system


def _mapped(row: dict, spec: Any, keys: tuple[str, ...]) -> dict:
    sample = spec.map_fn(row) if spec.map_fn is not None else row
    missing = [k for k in keys if k not in sample]
    if missing:
        raise DatasetFormatError(
            f'row has no {missing} (found {sorted(sample)}); set dataset_map_fn to a '
            f'preference format (sharegpt_preference, openai_preference, plain_preference, kto)')
    if not sample['conversation'] or 'input' not in sample['conversation'][-1]:
        raise DatasetFormatError('the prompt conversation is empty or does not end with a '
                                 'user turn')
    return sample


class PreferenceRows:
    """Row type 'preference': {'conversation', 'chosen', 'rejected'} -> one two-sequence sample."""

    name = 'preference'
    columns = ('input_ids', 'labels', 'position_ids', 'length', 'num_trained', 'truncated')
    sequences = 2       # a packed row holds up to this many times max_length tokens
    pack_carry: tuple[str, ...] = ()
    default_map_fn = 'sharegpt_preference'

    def collate(self, rows: Sequence[dict], packed: bool) -> dict:
        return PreferenceCollator()(rows)

    def map(self, row: dict, spec: Any, tokenizer: Any) -> tuple[Segments, Segments]:
        sample = _mapped(row, spec, ('conversation', 'chosen', 'rejected'))
        template, system = _format(spec)
        eos = tokenizer.eos_token or ''
        return tuple(reply_segments(sample['conversation'], sample[side], template, system, eos)
                     for side in ('chosen', 'rejected'))

    def validate(self, sample: tuple[Segments, Segments], spec: Any) -> None:
        if sample[0] == sample[1]:
            raise DatasetFormatError('chosen and rejected replies are identical; nothing to '
                                     'prefer')

    def encode(self, samples: list, tokenizer: Any, spec: Any) -> dict[str, list]:
        return encode_sequence_pairs(samples, tokenizer, spec.max_length)


class KtoRows:
    """Row type 'kto': {'conversation', 'completion', 'label'} -> the row's sequence and a
    mismatched KL sequence, plus a ``desirable`` column."""

    name = 'kto'
    columns = (*PreferenceRows.columns, 'desirable')
    sequences = 2
    pack_carry = ('desirable',)
    default_map_fn = 'kto'
    collate = PreferenceRows.collate

    def map(self, row: dict, spec: Any, tokenizer: Any) -> dict:
        sample = _mapped(row, spec, ('conversation', 'completion', 'label'))
        return {**sample, 'eos': tokenizer.eos_token or ''}

    def validate(self, sample: dict, spec: Any) -> None:
        if not isinstance(sample['label'], bool):
            raise DatasetFormatError(f"'label' must be true or false, got {sample['label']!r}")

    def encode(self, samples: list, tokenizer: Any, spec: Any) -> dict[str, list]:
        template, system = _format(spec)
        pairs = []
        for i, sample in enumerate(samples):
            other = samples[(i + 1) % len(samples)]['completion']
            pairs.append(tuple(reply_segments(sample['conversation'], reply, template, system,
                                              sample['eos'])
                               for reply in (sample['completion'], other)))
        columns = encode_sequence_pairs(pairs, tokenizer, spec.max_length)
        columns['desirable'] = [s['label'] for s in samples]
        return columns


class PreferenceCollator:
    """Concatenate a micro-batch of rows (one pair each, or packed pairs) into one row,
    without padding.

    Returns SFT's ``input_ids``, ``labels`` and ``position_ids`` (``[1, total]``) plus
    ``desirable`` (KTO, ``[samples]``) and ``reference_logps`` (``[samples, 2]``, when
    precomputed), in the order of the samples in the row.
    """

    # per-sample columns and the shape of one sample's value
    PER_SAMPLE = {'desirable': (), 'reference_logps': (2,)}

    def __call__(self, rows: Sequence[dict]) -> dict[str, torch.Tensor]:
        batch = SftCollator(pad_token_id=0, packed=True)(rows)
        for key, shape in self.PER_SAMPLE.items():
            if key in rows[0]:
                # a packed row holds a list of its samples' values, an unpacked row one value
                batch[key] = torch.as_tensor(np.concatenate(
                    [np.asarray(row[key]).reshape(-1, *shape) for row in rows]))
        return batch


def preference_collate_fn(rows: Sequence[dict]) -> dict[str, torch.Tensor]:
    """Function form of :class:`PreferenceCollator` for configs."""
    return PreferenceCollator()(rows)


ROW_TYPES.register('preference', PreferenceRows())
ROW_TYPES.register('kto', KtoRows())
PREFERENCE_ROW_TYPES = ('preference', 'kto')

