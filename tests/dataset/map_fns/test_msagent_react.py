"""Tests for xtuner_like/dataset/map_fns/msagent_react.py."""
from __future__ import annotations

import json

import pytest
from map_fn_pipeline import EOS, pipeline  # noqa: F401 (fixture)

from xtuner_like.dataset.map_fns.msagent_react import msagent_react_map_fn
from xtuner_like.errors import DatasetFormatError

REPLY = ('I will look it up.<|startofthink|>```JSON\n{"api_name": "search", "parameters": '
         '{"q": "MS-Agent"}}\n```<|endofthink|>\n\n<|startofexec|>```JSON\n{"hits": 3}\n```'
         '<|endofexec|>\nThere are 3 hits.')
ROW = {'id': 1, 'conversations': json.dumps([
    {'from': 'system', 'value': 'Tools: search'}, {'from': 'user', 'value': 'Find MS-Agent'},
    {'from': 'assistant', 'value': REPLY}, {'from': 'user', 'value': 'Thanks'},
    {'from': 'assistant', 'value': 'Welcome.'}])}


def test_react_lines_trained_observations_not(tmp_path, pipeline):
    conv = msagent_react_map_fn(ROW)['conversation']
    assert conv == [
        {'system': 'Tools: search', 'input': 'Find MS-Agent',
         'output': 'Thought: I will look it up.\nAction: search\nAction Input: {"q": "MS-Agent"}'},
        {'input': 'Observation: {"hits": 3}', 'output': 'Final Answer: There are 3 hits.'},
        {'input': 'Thanks', 'output': 'Welcome.'}]
    path = tmp_path / 'msagent.jsonl'
    path.write_text(json.dumps(ROW) + '\n')
    (text, spans), = pipeline(path, 'msagent_react')
    assert spans == [conv[0]['output'] + EOS, conv[1]['output'] + EOS, 'Welcome.' + EOS]
    assert '<|im_start|>user\nObservation: {"hits": 3}<|im_end|>' in text


def test_errors():
    with pytest.raises(DatasetFormatError, match='not valid JSON'):
        msagent_react_map_fn({'conversations': '[oops'})
    bad = REPLY.replace('"api_name"', 'api_name')
    with pytest.raises(DatasetFormatError, match='API call is not valid JSON'):
        msagent_react_map_fn({'conversations': [{'from': 'user', 'value': 'q'},
                                                {'from': 'assistant', 'value': bad}]})
