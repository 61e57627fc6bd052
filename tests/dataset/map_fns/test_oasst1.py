"""Tests for xtuner_like/dataset/map_fns/oasst1.py."""
from __future__ import annotations

import json

import pytest
from map_fn_pipeline import EOS, pipeline  # noqa: F401 (fixture)

from xtuner_like.dataset.map_fns.oasst1 import oasst1_map_fn
from xtuner_like.errors import DatasetFormatError

TEXT = '### Human: Hi there### Assistant: Hello! How can I help? ### Human: 2+2?### Assistant: 4'


def test_turns_and_spans(tmp_path, pipeline):
    assert oasst1_map_fn({'text': TEXT})['conversation'] == [
        {'input': 'Hi there', 'output': 'Hello! How can I help?'},
        {'input': '2+2?', 'output': '4'}]
    path = tmp_path / 'oasst1.jsonl'
    path.write_text(json.dumps({'text': TEXT}) + '\n')
    (_, spans), = pipeline(path, 'oasst1', prompt_template='llama2_chat')
    # Llama-2's reply opens with a space (trained: served ids merge it into the reply)
    assert spans == [' Hello! How can I help? ' + EOS, ' 4 ' + EOS]


@pytest.mark.parametrize('text, message', [
    ('Hi ### Assistant: x', "must start with '### Human:'"),
    ('### Human: a### Human: b', 'must be a non-empty ### Human: then ### Assistant:'),
    ('### Human: only', 'no .* pair'),
])
def test_errors(text, message):
    with pytest.raises(DatasetFormatError, match=message):
        oasst1_map_fn({'text': text})
