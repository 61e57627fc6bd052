import numpy as np

from xtuner_like.curate.split import (assign_batch, eval_ids, eval_ids_by_groups, group_draws,
                                      split_key_batch)

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


def test_a_group_takes_its_root_rows_draw_and_counts_take_whole_groups():
    ids, u = np.array([10, 11, 12, 13]), np.array([0.7, 0.2, 0.9, 0.4])
    roots = np.array([10, 11, 10, 11])
    assert group_draws(ids, u, roots).tolist() == [0.7, 0.2, 0.7, 0.2]
    assert eval_ids_by_groups(ids, group_draws(ids, u, roots), roots, 3).tolist() == [11, 13]
    assert eval_ids_by_groups(ids, u, np.array([10] * 4), 2).tolist() == [11, 13]  # none fits


def test_near_duplicate_groups_stay_on_one_side_deterministically(tmp_path):
    import json
    import random
    from xtuner_like.curate.config import load_curate_config
    from xtuner_like.curate.pipeline import curate
    rng = random.Random(0)
    words = [f'w{i}' for i in range(5000)]
    rows, twin = [], {}
    for i in range(150):
        reply = rng.sample(words, 40)
        rows.append({'instruction': f'q{i}', 'output': ' '.join(reply)})
        for k in rng.sample(range(40), 5):                  # ~0.78 alike: kept by near_dedup
            reply[k] = f'edit{i}x{k}'
        rows.append({'instruction': f'q{i}', 'output': ' '.join(reply)})
        twin[2 * i], twin[2 * i + 1] = 2 * i + 1, 2 * i
    path = tmp_path / 'pairs.jsonl'
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))

    def sides(out, **options):
        cfg = load_curate_config(None, {'split.eval_ratio': 0.2, **options})
        report = curate([str(path)], tmp_path / out, cfg)
        assert report.rows_out == 300                       # nothing deduplicated
        return {json.loads(line)['row']: split for split in ('train', 'eval')
                for line in (tmp_path / out / f'{split}.jsonl').read_text().splitlines()}
    got = sides('a')
    assert all(got[r] == got[twin[r]] for r in got) and 20 < list(got.values()).count('eval')
    assert sides('b') == got                                 # deterministic
    apart = sides('c', **{'split.group_similarity': None})
    assert any(apart[r] != apart[twin[r]] for r in apart)   # what grouping prevents
    counted = sides('d', **{'split.eval_count': 41})
    assert all(counted[r] == counted[twin[r]] for r in counted)
    assert list(counted.values()).count('eval') == 40        # whole groups that fit
