import json

import pytest

from xtuner_like.dataset.arithmetic import addition_rows, write_addition_rows
from xtuner_like.errors import ConfigError


def test_addition_rows_are_deterministic_and_splits_disjoint(tmp_path):
    train, test = addition_rows(50), addition_rows(20, 'test')
    assert train == addition_rows(50) and train != addition_rows(50, seed=1)
    assert not {r['prompt'] for r in train} & {r['prompt'] for r in test}
    row = train[0]
    a, b = (int(x) for x in row['prompt'].split('What is ')[1].split('?')[0].split(' + '))
    assert row['answer'] == str(a + b) and '<answer></answer>' in row['prompt']
    path = write_addition_rows(10, out_dir=tmp_path)
    assert json.loads(open(path).read()) == addition_rows(10)
    with pytest.raises(ConfigError, match='raise max_operand'):
        addition_rows(1000, max_operand=3)
    with pytest.raises(ConfigError, match='split'):
        addition_rows(1, 'dev')
