"""Tests for xtuner_like/dataset/identity.py."""
from __future__ import annotations

import json
import os
from pathlib import Path

from xtuner_like.dataset.identity import identity_rows, write_identity_dataset


def test_rows_are_alpaca_and_state_the_identity():
    rows = identity_rows('Tuna', 'Acme Labs')
    assert 60 <= len(rows) <= 90
    for row in rows:
        assert set(row) == {'instruction', 'input', 'output'}
        assert all(isinstance(v, str) for v in row.values())
        assert row['output'].strip()
        assert '{' not in row['output'] and '{' not in row['instruction']
        assert 'Tuna' in row['output']
    assert sum('Acme Labs' in r['output'] for r in rows) >= 0.9 * len(rows)
    questions = [r['instruction'] + '|' + r['input'] for r in rows]
    assert len(set(questions)) == len(questions)


def test_who_are_you_and_paraphrases_are_present():
    rows = identity_rows('Tuna', 'Acme Labs')
    by_q = {r['instruction']: r['output'] for r in rows if not r['input']}
    assert by_q['Who are you?'].startswith('I am Tuna, an AI assistant developed by Acme Labs.')
    for q in ('What is your name?', 'Who created you?', 'Introduce yourself.'):
        assert q in by_q


def test_write_is_keyed_by_identity_and_stable(tmp_path, monkeypatch):
    monkeypatch.setenv('XTUNER_LIKE_HOME', str(tmp_path / 'home'))
    path = write_identity_dataset()
    assert Path(path).parent == tmp_path / 'home' / 'data'
    assert json.loads(Path(path).read_text()) == identity_rows('Tuna', 'the xtuner_like team')

    os.utime(path, (1, 1))
    assert write_identity_dataset() == path
    assert os.stat(path).st_mtime == 1  # identical content is not rewritten (cache keys)

    other = write_identity_dataset('Orca', 'Sea Corp', out_dir=str(tmp_path / 'x'))
    assert Path(other).parent == tmp_path / 'x' and other != path
    assert 'Orca' in json.loads(Path(other).read_text())[0]['output']
    assert [p.name for p in (tmp_path / 'x').iterdir()] == [Path(other).name]
