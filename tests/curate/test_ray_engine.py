"""The Ray Data engine gives the same surviving rows as the `datasets` engine."""
import json
import random

import pytest

pytest.importorskip('ray.data', reason='Ray Data is an optional extra: '
                                       'pip install -r requirements/ray.txt')

from xtuner_like.curate.config import load_curate_config  # noqa: E402
from xtuner_like.curate.pipeline import curate  # noqa: E402

from .conftest import SURVIVORS, survivors  # noqa: E402


@pytest.fixture(scope='module')
def ray_local():
    import ray
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    yield
    ray.shutdown()


def planted(tmp_path):
    """120 random rows, 30 exact copies (case/punctuation changed), 30 one-word edits."""
    rng = random.Random(0)
    words = [f'w{i}' for i in range(3000)]
    base = [{'instruction': ' '.join(rng.choices(words, k=8)),
             'output': ' '.join(rng.choices(words, k=60))} for _ in range(120)]
    exact = [{'instruction': r['instruction'].upper() + '!', 'output': r['output']}
             for r in base[:30]]
    near = [{'instruction': r['instruction'],
             'output': r['output'].replace(r['output'].split()[30], 'edited', 1)}
            for r in base[30:60]]
    rows = base + exact + near
    rng.shuffle(rows)
    path = tmp_path / 'planted.jsonl'
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    return str(path)


def test_exact_and_near_dedup_on_ray_keep_the_same_rows(ray_local, corpus, tmp_path):
    only_dedup = {f'{s}.enabled': False for s in ('clean', 'safe', 'split')}
    inputs = corpus + [planted(tmp_path)]
    kept = {}
    for engine in ('datasets', 'ray'):
        cfg = load_curate_config(None, {**only_dedup, 'engine.type': engine,
                                        'engine.batch_size': 16})
        report = curate(inputs, tmp_path / engine, cfg)
        kept[engine] = survivors(tmp_path / engine)
        removed = {s.name: s.removed for s in report.stages}
        assert removed['exact_dedup']['exact_duplicate'] == 2 + 30
        assert removed['near_dedup']['near_duplicate'] == 1 + 30
    assert kept['ray'] == kept['datasets']
    assert len(kept['ray']) == 11 - 1 - 3 + 120
    assert (tmp_path / 'ray' / 'train.jsonl').read_text() == \
        (tmp_path / 'datasets' / 'train.jsonl').read_text()


def test_all_stages_on_ray(ray_local, corpus, tmp_path):
    curate(corpus, tmp_path / 'out', load_curate_config(None, {'engine.type': 'ray'}))
    assert survivors(tmp_path / 'out') == SURVIVORS
