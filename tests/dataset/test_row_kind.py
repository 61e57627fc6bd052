"""Tests for xtuner_like/dataset/row_kind.py: preference and KTO rows are not SFT data."""
from __future__ import annotations

import json

import pytest

from xtuner_like.dataset import build_sft_dataset
from xtuner_like.dataset.check import check_dataset
from xtuner_like.dataset.row_kind import refuse_non_sft_row
from xtuner_like.errors import DatasetFormatError

MESSAGES = [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello!'}]
DPO_SHAREGPT = {'conversations': [{'from': 'human', 'value': 'Hi'}],
                'chosen': {'from': 'gpt', 'value': 'Hello!'},
                'rejected': {'from': 'gpt', 'value': 'Go away.'}}
DPO_OPENAI = {'messages': MESSAGES, 'chosen': MESSAGES, 'rejected': MESSAGES}
KTO = {'messages': MESSAGES, 'label': False}


@pytest.mark.parametrize('row, message', [
    (DPO_SHAREGPT, r"\['chosen', 'rejected'\] \(a preference pair\)"),
    (DPO_OPENAI, r"\['chosen', 'rejected'\]"),
    ({'prompt': 'Hi', 'chosen': 'Hello!'}, r"\['chosen'\]"),
    (KTO, "a KTO row: label=False marks the reply as undesirable"),
    ({**KTO, 'label': True}, 'as desirable'),
])
def test_preference_rows_are_refused(row, message):
    with pytest.raises(DatasetFormatError, match=message) as info:
        refuse_non_sft_row(row)
    assert 'preference recipe' in str(info.value)


@pytest.mark.parametrize('row', [
    {'messages': MESSAGES},
    {'messages': MESSAGES, 'chosen': None, 'rejected': None},  # columns of other rows
    {'messages': MESSAGES, 'label': 3},                          # a class label, not KTO
])
def test_sft_rows_pass(row):
    refuse_non_sft_row(row)


@pytest.mark.parametrize('row, map_fn', [(DPO_SHAREGPT, 'sharegpt'), (KTO, 'openai')])
def test_build_and_check_stop_at_the_row(tmp_path, tiny_tokenizer, row, map_fn):
    path = tmp_path / 'pref.jsonl'
    path.write_text(json.dumps(row) + '\n')
    with pytest.raises(DatasetFormatError, match=rf'{path}, line 1: row holds'):
        build_sft_dataset(tiny_tokenizer, data_files=str(path), dataset_map_fn=map_fn,
                          cache_dir=str(tmp_path / 'cache'))
    report = check_dataset({'type': build_sft_dataset, 'tokenizer': tiny_tokenizer,
                            'data_files': str(path),
                            'dataset_map_fn': map_fn, 'prompt_template': 'chatml',
                            'max_length': 64})
    assert not report.ok and 'preference recipe' in report.bad_rows[0].problem
