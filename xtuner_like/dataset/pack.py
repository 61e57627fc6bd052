"""Packing of whole encoded samples into rows of at most ``max_length`` tokens.

A sample is ``{'input_ids': [...], 'labels': [...], 'length': n}``. Samples are
never cut: :func:`plan_packs` groups whole samples by best-fit decreasing and
:func:`pack_group` concatenates one group into a row whose ``position_ids``
restart at 0 for each sample. With ``attention_mask=None`` transformers turns
those restarts into a block-diagonal causal mask, so samples stay isolated.

Samples of several sequences (a preference pair: prompt + chosen, prompt + rejected) keep
their own ``position_ids`` (restarting at each of their sequences) when they carry that
column, and per-sample columns named in ``carry`` (e.g. KTO's ``desirable``) become one list
per packed row, in the order of the samples in it.

Label boundary: causal-LM losses shift labels left by one over the whole row,
so the last token of sample ``i`` would be trained to predict the first token
of sample ``i + 1``. That target does not exist when the samples are trained
alone (nothing precedes a sample's first token), so the packed row sets the
label at the first position of every sample to -100. Nothing real is lost:
position 0's label is never a target, packed or not.
"""
from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..compat import dataset_fingerprint, dataset_row_mapping
from ..utils.labels import IGNORE_INDEX

if TYPE_CHECKING:
    import datasets
    import pyarrow as pa

PACK_COLUMNS = ('input_ids', 'labels', 'position_ids', 'length', 'num_samples')
# Fewer samples than this pack in one process whatever num_proc says: packing 52k Alpaca
# samples took 0.88 s in one process and 1.53 s in two (pool start-up and pickling outweigh
# the ~17 us of work per sample until ~80k samples; tools/bench_data.py).
PARALLEL_PACK_MIN = 100_000


def plan_packs(lengths: Sequence[int], max_length: int) -> list[list[int]]:
    """Group sample indices into packs by best-fit decreasing.

    Args:
        lengths: Token count of each sample.
        max_length: Capacity of one pack.

    Returns:
        Groups of indices (ascending within a group); each group's total
        length is <= ``max_length`` and every index appears exactly once.

    Raises:
        ValueError: A length is < 1 or > ``max_length``.
    """
    if max_length < 1:
        raise ValueError(f'max_length must be >= 1, got {max_length}')
    for idx, n in enumerate(lengths):
        if not 1 <= n <= max_length:
            raise ValueError(
                f'sample {idx} has length {n}, outside [1, max_length={max_length}]; '
                'truncate samples to max_length when encoding, before packing')
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    groups: list[list[int]] = []
    # Open packs by remaining room: a sorted list of distinct rooms (at most
    # max_length + 1 values) and, per room, a stack of pack ids.
    rooms: list[int] = []
    packs_by_room: dict[int, list[int]] = {}
    for idx in order:
        n = lengths[idx]
        pos = bisect.bisect_left(rooms, n)
        if pos < len(rooms):
            room = rooms[pos]
            stack = packs_by_room[room]
            pack_id = stack.pop()
            if not stack:
                del packs_by_room[room]
                rooms.pop(pos)
        else:
            room, pack_id = max_length, len(groups)
            groups.append([])
        groups[pack_id].append(idx)
        left = room - n
        if left > 0:
            if left not in packs_by_room:
                bisect.insort(rooms, left)
                packs_by_room[left] = []
            packs_by_room[left].append(pack_id)
    return [sorted(g) for g in groups]


def pack_group(samples: list[dict]) -> dict:
    """Concatenate whole samples into one packed row.

    Args:
        samples: Encoded samples with ``input_ids`` and ``labels``.

    Returns:
        ``{'input_ids', 'labels', 'position_ids', 'length', 'num_samples'}``;
        ``position_ids`` restart at 0 per sample and the label at each
        sample's first position is -100 (see the module docstring).
    """
    input_ids: list[int] = []
    labels: list[int] = []
    position_ids: list[int] = []
    for sample in samples:
        ids, lab = sample['input_ids'], sample['labels']
        assert len(ids) == len(lab), 'input_ids and labels differ in length'
        input_ids.extend(ids)
        labels.append(IGNORE_INDEX)
        labels.extend(lab[1:])
        position_ids.extend(range(len(ids)))
    return {'input_ids': input_ids, 'labels': labels, 'position_ids': position_ids,
            'length': len(input_ids), 'num_samples': len(samples)}


def pack_efficiency(pack_lengths: Sequence[int], max_length: int) -> float:
    """Real tokens / slots: ``sum(pack_lengths) / (len(pack_lengths) * max_length)``."""
    if not pack_lengths:
        return 0.0
    return sum(pack_lengths) / (len(pack_lengths) * max_length)


def _flat_column(table, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(values, offsets) of a list column of an Arrow table."""
    col = table[name].combine_chunks()
    offsets = col.offsets.to_numpy()
    return col.values.to_numpy(zero_copy_only=False)[offsets[0]:offsets[-1]], offsets - offsets[0]


def column_values(ds: datasets.Dataset, name: str) -> np.ndarray:
    """A scalar column of ``ds`` as numpy, read as Arrow in one go (selected rows only).

    Iterating ``ds[name]`` formats row by row: 7 s for five such reads over 52k rows.
    """
    return ds.select_columns([name]).with_format('arrow')[:][name].to_numpy()


def _take_rows(ds: datasets.Dataset, rows: list[int]) -> 'pa.Table':
    """Rows of ``ds`` in the given order as one Arrow table, gathered by Arrow in one call.

    ``ds[rows]`` gathers row by row in Python (half of the packing time for 52k samples);
    a filtered dataset reads through datasets' row mapping."""
    import pyarrow as pa
    order = np.asarray(rows, dtype=np.int64)
    mapping = dataset_row_mapping(ds)
    if mapping is not None:
        order = mapping.column(0).to_numpy()[order]
    return ds.data.table.take(pa.array(order))


def _pack_batch(batch: dict, source, carry: tuple[str, ...] = ()) -> 'pa.Table':
    """Vectorized :func:`pack_group` over a batch of index groups, as an Arrow table.

    The source rows are gathered once, in group order, as Arrow; each packed row is a
    contiguous slice of the flattened columns, so the packed list columns are built from
    offsets in one go (returning per-row numpy slices made ``datasets`` convert every row:
    most of the packing time). A source ``position_ids`` column (samples of several
    sequences) is kept as it is.
    """
    import pyarrow as pa
    groups = batch['indices']
    table = _take_rows(source, [i for g in groups for i in g])
    ids, offsets = _flat_column(table, 'input_ids')
    labels, label_offsets = _flat_column(table, 'labels')
    if not np.array_equal(offsets, label_offsets):
        raise ValueError('input_ids and labels differ in length in some sample')
    labels = labels.astype(np.int32)
    labels[offsets[:-1]] = IGNORE_INDEX  # see the module docstring
    if 'position_ids' in table.column_names:
        positions = _flat_column(table, 'position_ids')[0].astype(np.int32)
    else:
        sizes = np.diff(offsets)
        positions = np.arange(len(ids), dtype=np.int32) - np.repeat(offsets[:-1], sizes)
    samples = np.array([len(g) for g in groups], dtype=np.int32)
    bounds = np.concatenate([[0], np.cumsum(samples)]).astype(np.int32)  # samples per row
    row_offsets = offsets[bounds].astype(np.int32)                       # tokens per row

    def lists(values: np.ndarray, at: np.ndarray = row_offsets) -> pa.ListArray:
        return pa.ListArray.from_arrays(pa.array(at), pa.array(values))
    columns = {'input_ids': lists(ids.astype(np.int32, copy=False)), 'labels': lists(labels),
               'position_ids': lists(positions), 'length': pa.array(np.diff(row_offsets)),
               'num_samples': pa.array(samples)}
    for c in carry:
        columns[c] = lists(table[c].combine_chunks(), bounds)
    return pa.table(columns)


def pack_dataset(ds: datasets.Dataset, max_length: int, num_proc: int = 1,
                 carry: Sequence[str] = ()) -> tuple[datasets.Dataset, dict]:
    """Pack an encoded ``datasets.Dataset`` into rows of at most ``max_length``.

    Args:
        ds: Dataset with ``input_ids``, ``labels`` and ``length`` columns (and
            ``position_ids`` when a sample holds several sequences).
        max_length: Capacity of one packed row.
        num_proc: Processes for building the rows (one below ``PARALLEL_PACK_MIN`` samples).
        carry: Per-sample columns kept as one list per packed row.

    Returns:
        ``(packed, stats)``: the packed dataset with columns ``input_ids``,
        ``labels``, ``position_ids``, ``length``, ``num_samples``, and
        ``{'num_samples', 'num_packs', 'efficiency'}``.
    """
    import datasets
    from datasets.fingerprint import Hasher

    lengths = column_values(ds, 'length').tolist()
    groups = plan_packs(lengths, max_length)
    carry = tuple(carry)
    source = ds.select_columns(['input_ids', 'labels', *carry] + (
        ['position_ids'] if 'position_ids' in ds.column_names else []))
    features = datasets.Features({
        'input_ids': datasets.List(datasets.Value('int32')),
        'labels': datasets.List(datasets.Value('int32')),
        'position_ids': datasets.List(datasets.Value('int32')),
        'length': datasets.Value('int32'),
        'num_samples': datasets.Value('int32'),
        **{c: datasets.List(ds.features[c]) for c in carry},
    })
    index_ds = datasets.Dataset.from_dict(
        {'indices': groups},
        features=datasets.Features({'indices': datasets.List(datasets.Value('int64'))}))
    # An explicit fingerprint spares datasets from hashing the source table.
    fingerprint = Hasher.hash(('pack_dataset/v1', dataset_fingerprint(ds), max_length,
                               *carry))
    parallel = num_proc > 1 and len(lengths) >= PARALLEL_PACK_MIN
    packed = index_ds.map(
        _pack_batch, batched=True, batch_size=256, num_proc=num_proc if parallel else None,
        remove_columns=['indices'], features=features, fn_kwargs={'source': source, 'carry': carry},
        new_fingerprint=fingerprint, desc=f'Packing to {max_length} tokens')
    pack_lengths = [sum(lengths[i] for i in g) for g in groups]
    stats = {'num_samples': len(lengths), 'num_packs': len(groups),
             'efficiency': pack_efficiency(pack_lengths, max_length)}
    return packed, stats
