import numpy as np

from xtuner_like.curate.split import assign_batch, eval_ids, split_key_batch

from .conftest import batch, sample


def convs(n, start=0):
    return [sample({'system': '', 'input': f'question {i}', 'output': f'answer {i}'})
            for i in range(start, start + n)]


def test_ratio_split_is_stable_under_reorder_and_new_rows():
    rows = convs(400)
    first = split_key_batch(batch(rows), seed=0, eval_ratio=0.1)['_split']
    moved = split_key_batch(batch(convs(100, 400) + rows[::-1]), seed=0,
                            eval_ratio=0.1)['_split'][100:][::-1]
    assert moved == first
    assert 20 <= first.count('eval') <= 60                    # ~40 expected
    other_seed = split_key_batch(batch(rows), seed=1, eval_ratio=0.1)['_split']
    assert other_seed != first


def test_count_split_takes_exactly_count_rows():
    u = np.array(split_key_batch(batch(convs(50)), seed=0,
                                 eval_ratio=0)['_split_u'])
    ids = np.arange(50) * 3
    chosen = eval_ids(ids, u, 7)
    assert len(chosen) == 7 and set(chosen) == set(ids[np.argsort(u)[:7]])
    out = assign_batch({'_id': ids.tolist()}, eval_ids=chosen)['_split']
    assert out.count('eval') == 7
