"""Tests for xtuner_like/dataset/template.py."""
from __future__ import annotations

import pytest

from xtuner_like.dataset.template import template_map_fn
from xtuner_like.errors import DatasetFormatError, UnknownNameError

ROW = {'conversation': [{'input': 'Hi', 'output': 'Hello!'}]}


def test_segments_are_plain_dicts():
    out = template_map_fn(ROW, 'chatml')
    assert out == {'segments': [
        {'text': '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n', 'trained': False},
        {'text': 'Hello!<|im_end|>', 'trained': True}, {'text': '\n', 'trained': False}]}


def test_system_name_is_resolved_and_literal_kept():
    named = template_map_fn(ROW, 'chatml', system='alpaca')['segments'][0]['text']
    assert 'Below is an instruction' in named
    literal = template_map_fn(ROW, 'chatml', system='Be a pirate.')['segments'][0]['text']
    assert literal.startswith('<|im_start|>system\nBe a pirate.<|im_end|>\n')


def test_eos_and_pretraining():
    assert template_map_fn(ROW, 'default', eos_token='</s>')['segments'][-2] == {
        'text': 'Hello!</s>', 'trained': True}
    out = template_map_fn({'conversation': [{'output': 'text'}]}, None, eos_token='</s>')
    assert out == {'segments': [{'text': 'text</s>', 'trained': True}]}


def test_errors():
    with pytest.raises(DatasetFormatError, match="no 'conversation'"):
        template_map_fn({'instruction': 'x'}, 'chatml')
    with pytest.raises(UnknownNameError, match="did you mean 'chatml'"):
        template_map_fn(ROW, 'chatm1')


def test_works_in_datasets_map():
    datasets = pytest.importorskip('datasets')
    ds = datasets.Dataset.from_list([ROW, ROW])
    ds = ds.map(template_map_fn, fn_kwargs={'template': 'chatml'},
                remove_columns=['conversation'])
    assert ds[0] == template_map_fn(ROW, 'chatml')
