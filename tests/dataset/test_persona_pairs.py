"""Tests for xtuner_like/dataset/persona_pairs.py: the generated preference data of the DPO demo."""
import json

import pytest

from xtuner_like.dataset.persona_pairs import kto_rows, persona_pairs, write_persona_pairs
from xtuner_like.errors import ConfigError


def test_splits_are_disjoint_and_keep_the_persona_on_the_chosen_side():
    train, test = persona_pairs('Tuna', 'ACME'), persona_pairs('Tuna', 'ACME', split='test')
    assert train and test and not {r['prompt'] for r in train} & {r['prompt'] for r in test}
    for row in train + test:
        assert 'Tuna' in row['chosen'] or 'ACME' in row['chosen']
        assert 'Tuna' not in row['rejected'] and row['chosen'] != row['rejected']
    with pytest.raises(ConfigError, match='split='):
        persona_pairs('Tuna', 'ACME', split='eval')


def test_kto_rows_label_each_side_and_files_are_written(tmp_path):
    pairs = persona_pairs('Tuna', 'ACME')
    rows = kto_rows(pairs)
    assert len(rows) == 2 * len(pairs)
    assert [r['label'] for r in rows[:2]] == [True, False]
    path = write_persona_pairs('Tuna', 'ACME', kind='kto', out_dir=tmp_path)
    assert json.loads(open(path).read()) == rows
    with pytest.raises(ConfigError, match='kind='):
        write_persona_pairs(kind='sft', out_dir=tmp_path)
