"""Tests for xtuner_like.dataset.samplers.LengthGroupedSampler."""
from __future__ import annotations

import random
from unittest import mock

import pytest

from xtuner_like.dataset.samplers import LengthGroupedSampler


class _Lengths:
    def __init__(self, lengths):
        self.lengths = lengths

    def __len__(self):
        return len(self.lengths)


def _lengths(n=203, seed=0):
    rng = random.Random(seed)
    return [rng.randint(1, 500) for _ in range(n)]


def test_covers_every_index_once():
    lengths = _lengths()
    sampler = LengthGroupedSampler(_Lengths(lengths), batch_size=4, seed=0, mega_batch_mult=5)
    order = list(sampler)
    assert len(order) == len(sampler) == len(lengths)
    assert sorted(order) == list(range(len(lengths)))


def test_batches_are_length_grouped():
    lengths = _lengths(400)
    sampler = LengthGroupedSampler(_Lengths(lengths), batch_size=8, seed=0, mega_batch_mult=10)
    order = list(sampler)
    batches = [order[i:i + 8] for i in range(0, len(order), 8)]
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches)
    rng = random.Random(1)
    shuffled = order[:]
    rng.shuffle(shuffled)
    rand_batches = [shuffled[i:i + 8] for i in range(0, len(shuffled), 8)]
    rand_spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b)
                      for b in rand_batches)
    assert spread < rand_spread / 3
    assert lengths[order[0]] == max(lengths)  # the longest batch comes first


def test_deterministic_per_seed_and_epoch():
    ds = _Lengths(_lengths())
    a = LengthGroupedSampler(ds, batch_size=4, seed=3)
    b = LengthGroupedSampler(ds, batch_size=4, seed=3)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) == list(b) != first
    assert list(LengthGroupedSampler(ds, batch_size=4, seed=4)) != first


def test_no_shuffle_is_sorted_within_mega_batches():
    lengths = _lengths(50)
    sampler = LengthGroupedSampler(_Lengths(lengths), batch_size=5, shuffle=False,
                                   seed=0, mega_batch_mult=100)
    assert [lengths[i] for i in sampler] == sorted(lengths, reverse=True)


def test_reads_length_column_of_hf_dataset():
    datasets = pytest.importorskip('datasets')
    ds = datasets.Dataset.from_dict({'length': [5, 1, 9, 3], 'x': [0, 1, 2, 3]})
    sampler = LengthGroupedSampler(ds, batch_size=2, shuffle=False, seed=0)
    assert list(sampler) == [2, 0, 3, 1]


def test_missing_lengths_is_an_error():
    with pytest.raises(TypeError, match='lengths'):
        LengthGroupedSampler([1, 2, 3], batch_size=2, seed=0)


@pytest.mark.parametrize('world_size', [2, 3])
def test_distributed_split(world_size):
    lengths = _lengths(101)
    per_rank = []
    for rank in range(world_size):
        with mock.patch('xtuner_like.dataset.samplers.get_dist_info',
                        return_value=(rank, world_size)):
            sampler = LengthGroupedSampler(_Lengths(lengths), batch_size=4, seed=0,
                                           mega_batch_mult=3)
        per_rank.append(list(sampler))
        assert len(per_rank[-1]) == len(sampler) == -(-101 // world_size)
    assert set().union(*per_rank) == set(range(101))
    # In each step the ranks' batches together form one length-sorted global batch.
    order = sampler._global_order()
    gbs = 4 * world_size
    for s in range(len(per_rank[0]) // 4):
        step = sorted(i for r in per_rank for i in r[4 * s:4 * s + 4])
        assert step == sorted(order[s * gbs:(s + 1) * gbs])


def test_mmengine_builds_it():
    from mmengine.registry import DATA_SAMPLERS
    sampler = DATA_SAMPLERS.build(
        dict(type=LengthGroupedSampler, batch_size=2),
        default_args=dict(dataset=_Lengths([3, 1, 2]), seed=0))
    assert isinstance(sampler, LengthGroupedSampler) and len(sampler) == 3
