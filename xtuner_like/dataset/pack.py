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


# A table's columns as numpy: a list column as (values, offsets), a scalar column as values.
Flat = dict[str, 'tuple[np.ndarray, np.ndarray] | np.ndarray']


def _flat_column(table, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(values, offsets) of a list column of an Arrow table."""
    col = table[name].combine_chunks()
    offsets = col.offsets.to_numpy()
    return col.values.to_numpy(zero_copy_only=False)[offsets[0]:offsets[-1]], offsets - offsets[0]


def _flatten(table: 'pa.Table') -> Flat:
    """Every column of ``table`` as numpy (see :data:`Flat`)."""
    import pyarrow as pa
    return {name: _flat_column(table, name) if pa.types.is_list(table.schema.field(name).type)
            else table[name].to_numpy() for name in table.column_names}


def _gather_index(offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions in the flat values, new offsets) of list entries ``rows`` in that order.

    One running sum: +1 inside a row, a jump to the row's start at its first position
    (np.repeat + np.arange took three times as long here).
    """
    sizes = offsets[rows + 1] - offsets[rows]
    new_offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(sizes, out=new_offsets[1:])
    keep = sizes > 0
    starts, firsts, sizes = offsets[rows][keep], new_offsets[:-1][keep], sizes[keep]
    index = np.ones(new_offsets[-1], dtype=np.int64)
    if len(starts):
        index[0] = starts[0]
        index[firsts[1:]] = starts[1:] - (starts[:-1] + sizes[:-1] - 1)
    np.cumsum(index, out=index)
    return index, new_offsets


def _gather(flat: Flat, rows: np.ndarray) -> Flat:
    """Rows ``rows`` of ``flat``, in that order, gathered by numpy.

    Arrow's ``take`` on a list column costs 0.24 s for 52k samples (0.29 s on the ~200
    chunks the encoded file holds, which it joins on every call); numpy indexing of the
    flat values, a few tens of milliseconds. List columns of equal offsets share one index.
    """
    out: Flat = {}
    index = offsets = None
    for name, column in flat.items():
        if not isinstance(column, tuple):
            out[name] = column[rows]
            continue
        values, own = column
        if offsets is None or not np.array_equal(own, offsets):
            offsets = own
            index, new_offsets = _gather_index(offsets.astype(np.int64), rows)
        out[name] = (values[index], new_offsets)
    return out


def _selected_rows(ds: datasets.Dataset) -> np.ndarray | None:
    """The table rows ``ds`` selects, in its order (None: all, in order)."""
    mapping = dataset_row_mapping(ds)
    return None if mapping is None else mapping.column(0).to_numpy()


def _flat_rows(ds: datasets.Dataset) -> tuple[Flat, np.ndarray | None]:
    """The columns of ``ds``'s table as numpy (see :data:`Flat`), and the rows it selects."""
    return _flatten(ds.data.table), _selected_rows(ds)


def column_values(ds: datasets.Dataset, name: str) -> np.ndarray:
    """A scalar column of ``ds`` as numpy, read from its Arrow table (selected rows only).

    Iterating ``ds[name]`` formats row by row: 7 s for five such reads over 52k samples; and
    datasets' own Arrow read gathers a selected dataset's rows in Python-sized chunks.
    """
    values, selected = ds.data.table.column(name).to_numpy(), _selected_rows(ds)
    return values if selected is None else values[selected]


def _pack_batch(batch: dict, source: 'datasets.Dataset | tuple[Flat, np.ndarray | None]',
                carry: tuple[str, ...] = ()) -> 'pa.Table':
    """Vectorized :func:`pack_group` over a batch of index groups, as an Arrow table.

    The source rows (a dataset, or its columns as :func:`_flat_rows` gives them) are
    gathered once, in group order; each packed row is a contiguous slice of the flattened
    columns, so the packed list columns are built from offsets in one go (returning per-row
    numpy slices made ``datasets`` convert every row: most of the packing time). A source
    ``position_ids`` column (samples of several sequences) is kept as it is.
    """
    import pyarrow as pa
    groups = batch['indices']
    order = np.fromiter((i for g in groups for i in g), dtype=np.int64)
    if isinstance(source, tuple):
        flat, selected = source
        rows = _gather(flat, order if selected is None else selected[order])
    else:  # a worker process: its share of a large memory-mapped dataset
        selected = _selected_rows(source)
        rows = _flatten(source.data.table.take(
            pa.array(order if selected is None else selected[order])))
    ids, offsets = rows['input_ids']
    labels, label_offsets = rows['labels']
    if not np.array_equal(offsets, label_offsets):
        raise ValueError('input_ids and labels differ in length in some sample')
    labels = labels.astype(np.int32)
    labels[offsets[:-1]] = IGNORE_INDEX  # see the module docstring
    if 'position_ids' in rows:
        positions = rows['position_ids'][0].astype(np.int32)
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
        columns[c] = lists(rows[c], bounds)
    return pa.table(columns)


def pack_fingerprint(source: datasets.Dataset, max_length: int, carry: tuple[str, ...]) -> str:
    """The packed dataset's fingerprint, from its source's: datasets would hash the table."""
    from datasets.fingerprint import Hasher
    return Hasher.hash(('pack_dataset/v1', dataset_fingerprint(source), max_length, *carry))


def _pack_in_workers(source: datasets.Dataset, groups: list[list[int]],
                     features: datasets.Features, num_proc: int, carry: tuple[str, ...],
                     max_length: int) -> datasets.Dataset:
    """:func:`_pack_batch` over batches of groups in ``num_proc`` processes (a large set)."""
    import datasets
    index_ds = datasets.Dataset.from_dict(
        {'indices': groups},
        features=datasets.Features({'indices': datasets.List(datasets.Value('int64'))}))
    return index_ds.map(
        _pack_batch, batched=True, batch_size=256, num_proc=num_proc,
        remove_columns=['indices'], features=features, fn_kwargs={'source': source, 'carry': carry},
        new_fingerprint=pack_fingerprint(source, max_length, carry),
        desc=f'Packing to {max_length} tokens')


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
    if num_proc > 1 and len(lengths) >= PARALLEL_PACK_MIN:
        packed = _pack_in_workers(source, groups, features, num_proc, carry, max_length)
    else:  # all rows in one go, straight into one Arrow table
        table = _pack_batch({'indices': groups}, _flat_rows(source), carry)
        packed = datasets.Dataset(datasets.table.InMemoryTable(
            table.cast(features.arrow_schema)), info=datasets.DatasetInfo(features=features),
            fingerprint=pack_fingerprint(source, max_length, carry))  # spares hashing the table
    pack_lengths = column_values(packed, 'length').tolist()
    stats = {'num_samples': len(lengths), 'num_packs': len(groups),
             'efficiency': pack_efficiency(pack_lengths, max_length)}
    return packed, stats
