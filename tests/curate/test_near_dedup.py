import random

import numpy as np
import pytest

from xtuner_like.curate.near_dedup import (band_keys, candidate_pairs, clusters, jaccard,
                                           lsh_params, shingles, signature_batch)


def conv(text):
    return [{'system': '', 'input': '', 'output': text}]


def test_lsh_params_fill_the_signature_and_favour_recall():
    for threshold in (0.5, 0.7, 0.8, 0.9):
        b, r = lsh_params(threshold, 128)
        assert b * r <= 128
        b0, r0 = lsh_params(threshold, 128, miss_weight=0.5)
        meet, meet0 = 1 - (1 - threshold ** r) ** b, 1 - (1 - threshold ** r0) ** b0
        assert meet > 0.8 and meet >= meet0            # pairs at the threshold meet


def test_similar_rows_share_a_band_and_unrelated_rows_do_not():
    rng = random.Random(0)
    words = [f'w{i}' for i in range(2000)]
    base = [' '.join(rng.choices(words, k=80)) for _ in range(30)]
    edited = [t.replace(t.split()[40], 'changed', 1) for t in base]
    rows = [conv(t) for t in base + edited]
    opts = dict(by='conversation', shingle_size=3, num_perm=128, seed=1, threshold=0.7)
    bands = signature_batch({'_id': list(range(60)), 'conversation': rows}, **opts)['_bands']
    assert bands.shape == (60, lsh_params(0.7, 128)[0]) and bands.dtype == np.int64
    pairs = {tuple(p) for p in candidate_pairs(np.arange(60), bands).tolist()}
    assert {(i, i + 30) for i in range(30)} <= pairs
    assert all(b - a == 30 for a, b in pairs)


def test_band_keys_depend_on_every_value_of_the_band():
    sig = np.arange(12, dtype=np.uint32).reshape(1, 12)
    other = sig.copy()
    other[0, 5] += 1
    k1, k2 = band_keys(sig, 3, 4), band_keys(other, 3, 4)
    assert (k1[0] == k2[0]).tolist() == [True, False, True]


def test_candidate_pairs_are_stars_around_the_smallest_id():
    ids = np.array([5, 2, 9, 7])
    bands = np.array([[1, 4], [1, 5], [1, 6], [2, 6]])
    assert candidate_pairs(ids, bands).tolist() == [[2, 5], [2, 9], [7, 9]]


def test_clusters_join_confirmed_pairs_only():
    pairs = np.array([[1, 4], [4, 6], [2, 3], [7, 8]])
    groups = clusters(pairs, np.array([True, True, True, False]))
    assert groups == {1: [4, 6], 2: [3]}


@pytest.mark.parametrize('by', ['conversation', 'prompt'])
def test_shingles_and_jaccard(by):
    turns = [{'system': '', 'input': 'A b, c', 'output': 'd e'}]
    expected = {'a b c', 'b c d', 'c d e'} if by == 'conversation' else {'a b c'}
    assert shingles(turns, by, 3) == expected
    assert jaccard({1, 2, 3}, {2, 3, 4}) == 0.5 and jaccard(set(), set()) == 1.0
