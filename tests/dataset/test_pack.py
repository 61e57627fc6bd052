"""Tests for xtuner_like.dataset.pack: whole-sample packing with small integer ids."""
from __future__ import annotations

import random

import pytest

from xtuner_like.compat import dataset_row_mapping
from xtuner_like.dataset import pack as pack_module
from xtuner_like.dataset.pack import (
    IGNORE_INDEX, pack_dataset, pack_efficiency, pack_group, plan_packs)


def _sample(start: int, n: int, prompt: int = 0) -> dict:
    """Sample with ids start..start+n-1; the first ``prompt`` labels are -100."""
    ids = list(range(start, start + n))
    labels = [IGNORE_INDEX] * prompt + ids[prompt:]
    return {'input_ids': ids, 'labels': labels, 'length': n}


def _check_plan(groups, lengths, max_length):
    flat = sorted(i for g in groups for i in g)
    assert flat == list(range(len(lengths)))  # every sample exactly once, none split
    assert all(sum(lengths[i] for i in g) <= max_length for g in groups)
    assert all(g for g in groups)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_plan_packs_invariants(seed):
    rng = random.Random(seed)
    lengths = [rng.randint(1, 64) for _ in range(500)]
    groups = plan_packs(lengths, 64)
    _check_plan(groups, lengths, 64)
    assert groups == plan_packs(lengths, 64)  # deterministic
    lower_bound = -(-sum(lengths) // 64)
    assert len(groups) <= lower_bound * 1.1 + 1


def test_plan_packs_best_fit():
    # 6 goes to the pack with room 6 (after the 4), not the first pack with room >= 6.
    groups = plan_packs([3, 4, 6, 3, 7], 10)
    _check_plan(groups, [3, 4, 6, 3, 7], 10)
    assert sorted(map(sorted, groups)) == [[0, 4], [1, 2], [3]]


def test_plan_packs_edges():
    assert plan_packs([], 8) == []
    assert plan_packs([8, 8], 8) == [[0], [1]]
    with pytest.raises(ValueError, match='max_length'):
        plan_packs([3, 9], 8)
    with pytest.raises(ValueError):
        plan_packs([0], 8)


def test_plan_packs_at_scale_is_near_optimal():
    """52k samples (the scale of a real dataset): valid, deterministic and within 0.5% of the
    lower bound ceil(total / max_length). Speed is measured in tools/bench_data.py, not here."""
    rng = random.Random(0)
    lengths = [rng.randint(1, 2048) for _ in range(52_000)]
    groups = plan_packs(lengths, 2048)
    _check_plan(groups, lengths, 2048)
    lower_bound = -(-sum(lengths) // 2048)
    assert len(groups) <= lower_bound * 1.005
    assert pack_efficiency([sum(lengths[i] for i in g) for g in groups], 2048) >= 0.995
    assert groups == plan_packs(lengths, 2048)


def test_pack_group_concat_and_positions():
    samples = [_sample(10, 3), _sample(20, 4, prompt=2), _sample(30, 1)]
    packed = pack_group(samples)
    assert packed['input_ids'] == [10, 11, 12, 20, 21, 22, 23, 30]
    assert packed['position_ids'] == [0, 1, 2, 0, 1, 2, 3, 0]
    assert packed['labels'] == [-100, 11, 12, -100, -100, 22, 23, -100]
    assert packed['length'] == 8 and packed['num_samples'] == 3


def _targets(ids, labels, position_ids):
    """(sample of the predicting token, sample of the target) for every causal-shift target."""
    sample_of, s = [], -1
    for p in position_ids:
        s += p == 0
        sample_of.append(s)
    return [(sample_of[t], sample_of[t + 1]) for t in range(len(ids) - 1)
            if labels[t + 1] != IGNORE_INDEX]


def test_pack_group_no_cross_sample_target():
    # Pre-training style: every label is trained, the first one too.
    samples = [_sample(1, 5), _sample(100, 3), _sample(200, 4)]
    packed = pack_group(samples)
    targets = _targets(packed['input_ids'], packed['labels'], packed['position_ids'])
    assert targets and all(a == b for a, b in targets)
    # Nothing trained alone is lost: each sample keeps its own n - 1 targets.
    assert len(targets) == sum(s['length'] - 1 for s in samples)


def test_pack_efficiency():
    assert pack_efficiency([8, 6], 8) == pytest.approx(14 / 16)
    assert pack_efficiency([], 8) == 0.0


def test_pack_dataset():
    datasets = pytest.importorskip('datasets')
    rng = random.Random(0)
    samples = []
    for k in range(40):
        n = rng.randint(1, 16)
        samples.append(_sample(1000 * k, n, prompt=rng.randint(0, n - 1)))
    ds = datasets.Dataset.from_list(samples)
    packed, stats = pack_dataset(ds, 16)
    assert set(packed.column_names) == {
        'input_ids', 'labels', 'position_ids', 'length', 'num_samples'}
    assert stats['num_samples'] == 40 and stats['num_packs'] == len(packed)
    total = sum(s['length'] for s in samples)
    assert stats['efficiency'] == pytest.approx(total / (16 * len(packed)))
    seen = []
    for row in packed:
        assert row['length'] == len(row['input_ids']) <= 16
        starts = [i for i, p in enumerate(row['position_ids']) if p == 0]
        assert len(starts) == row['num_samples']
        for a, b in zip(starts, starts[1:] + [row['length']]):
            sample = samples[row['input_ids'][a] // 1000]
            assert row['input_ids'][a:b] == sample['input_ids']  # whole, unsplit
            assert row['labels'][a + 1:b] == sample['labels'][1:]
            assert row['labels'][a] == IGNORE_INDEX
            seen.append(row['input_ids'][a] // 1000)
    assert sorted(seen) == list(range(40))


@pytest.fixture
def parallel_packing(monkeypatch):
    """Pack small test sets with num_proc workers too (not only from PARALLEL_PACK_MIN)."""
    monkeypatch.setattr(pack_module, 'PARALLEL_PACK_MIN', 0)


def test_pack_dataset_num_proc_matches(parallel_packing):
    datasets = pytest.importorskip('datasets')
    samples = [_sample(10 * k, 1 + k % 7) for k in range(30)]
    ds = datasets.Dataset.from_list(samples)
    one, _ = pack_dataset(ds, 12)
    two, _ = pack_dataset(ds, 12, num_proc=2)
    assert one.to_list() == two.to_list()


def test_small_sets_pack_in_one_process_whatever_num_proc(monkeypatch):
    """Below PARALLEL_PACK_MIN samples the pool costs more than it saves (tools/bench_data.py);
    both ways give the same rows."""
    datasets = pytest.importorskip('datasets')
    ds = datasets.Dataset.from_list([_sample(10 * k, 1 + k % 7) for k in range(30)])
    in_workers = []
    real = pack_module._pack_in_workers
    monkeypatch.setattr(pack_module, '_pack_in_workers',
                        lambda *a, **kw: in_workers.append(a[3]) or real(*a, **kw))
    one, _ = pack_dataset(ds, 12, num_proc=2)
    monkeypatch.setattr(pack_module, 'PARALLEL_PACK_MIN', 30)
    two, _ = pack_dataset(ds, 12, num_proc=2)
    assert in_workers == [2]
    assert one.to_list() == two.to_list() and one.features == two.features


def test_pack_dataset_matches_pack_group():
    datasets = pytest.importorskip('datasets')
    rng = random.Random(3)
    samples = [_sample(50 * k, rng.randint(1, 20), prompt=k % 3 and 1) for k in range(60)]
    for s in samples:
        s['labels'] = [min(x, 7) if x != IGNORE_INDEX else x for x in s['labels']]
    ds = datasets.Dataset.from_list(samples)
    packed, _ = pack_dataset(ds, 24)
    groups = plan_packs([s['length'] for s in samples], 24)
    assert packed.to_list() == [pack_group([samples[i] for i in g]) for g in groups]


@pytest.mark.parametrize('num_proc', [1, 2])
def test_a_filtered_many_chunk_dataset_packs_its_kept_rows(num_proc, parallel_packing):
    """After a filter, datasets reads through a row mapping: the packed rows hold exactly the
    kept samples, as packing the same samples written out afresh (and carried columns too)."""
    datasets = pytest.importorskip('datasets')
    samples = [{**_sample(100 * k, 1 + k % 9), 'keep': k % 3 != 0, 'tag': k} for k in range(50)]
    parts = [datasets.Dataset.from_list(samples[i:i + 10]) for i in range(0, 50, 10)]
    ds = datasets.concatenate_datasets(parts).filter(lambda keep: keep, input_columns='keep')
    assert dataset_row_mapping(ds) is not None and len(ds.data.table.to_batches()) > 1
    fresh = datasets.Dataset.from_list([s for s in samples if s['keep']])
    packed, _ = pack_dataset(ds.remove_columns('keep'), 20, num_proc=num_proc, carry=['tag'])
    expected, _ = pack_dataset(fresh.remove_columns('keep'), 20, carry=['tag'])
    assert packed.to_list() == expected.to_list()
    assert sorted(t for row in packed['tag'] for t in row) == [k for k in range(50) if k % 3]


def test_gather_takes_list_rows_in_any_order_empty_rows_included():
    import numpy as np
    rng = np.random.default_rng(0)
    rows_in = [list(rng.integers(0, 99, size=n)) for n in rng.integers(0, 6, size=40)]
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in rows_in])])
    values = np.concatenate([np.array(r, dtype=np.int64) for r in rows_in])
    order = rng.permutation(40)[:25]
    flat = {'ids': (values, offsets), 'same': (values * 2, offsets.copy()),
            'tag': np.arange(40)}
    out = pack_module._gather(flat, order)
    got_values, got_offsets = out['ids']
    got = [list(got_values[a:b]) for a, b in zip(got_offsets[:-1], got_offsets[1:])]
    assert got == [rows_in[i] for i in order]
    assert np.array_equal(out['same'][0], got_values * 2)
    assert list(out['tag']) == list(order)
