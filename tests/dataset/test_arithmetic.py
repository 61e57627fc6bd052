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


def test_shots_put_solved_train_examples_before_the_question():
    plain, rows = addition_rows(5, 'test'), addition_rows(5, 'test', shots=1)
    messages = rows[0]['messages']
    assert [m['role'] for m in messages] == ['user', 'assistant', 'user']
    assert messages[1]['content'] == '<answer>6</answer>' and '2 + 4' in messages[0]['content']
    assert messages[-1]['content'] == plain[0]['prompt'] and rows[0]['answer'] == plain[0]['answer']
    train = {r['prompt'] for r in addition_rows(294, 'train')}   # every train question
    assert all(m['content'] in train for m in addition_rows(1, shots=3)[0]['messages'][:-1:2])
    with pytest.raises(ConfigError, match='shots=4'):
        addition_rows(1, shots=4)
