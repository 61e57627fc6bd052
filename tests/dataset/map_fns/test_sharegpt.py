"""Tests for xtuner_like/dataset/map_fns/sharegpt.py: Glaive tool calls and DPO prompts."""
from __future__ import annotations

import json

import pytest
from map_fn_pipeline import EOS, read_rows, pipeline  # noqa: F401 (fixture)

from xtuner_like.dataset.map_fns._tools import TOOLS_FOOTER, TOOLS_HEADER
from xtuner_like.dataset.map_fns.sharegpt import sharegpt_map_fn
from xtuner_like.errors import DatasetFormatError


def expected_spans(messages, chosen=None):
    spans = []
    for m in messages:
        if m['from'] == 'gpt':
            spans.append(m['value'] + EOS)
        elif m['from'] == 'function_call':
            spans.append(f'<tool_call>\n{json.dumps(json.loads(m["value"]))}\n</tool_call>{EOS}')
    return spans + ([chosen['value'] + EOS] if chosen else [])


def test_glaive_first_row_literally(shared_data, pipeline):
    text, spans = pipeline(shared_data / 'glaive_toolcall_en_demo.json', 'sharegpt',
                           max_rows=1)[0]
    assert spans[:2] == [
        'Of course! I can help you with that. Please tell me what ingredients you have.' + EOS,
        '<tool_call>\n{"name": "search_recipes", "arguments": {"ingredients": ["chicken", '
        '"bell peppers", "rice"]}}\n</tool_call>' + EOS]
    assert text.startswith(f'<|im_start|>system\n{TOOLS_HEADER}\n<tools>\n'
                           '{"name": "search_recipes", "description": "Search for recipes '
                           'based on ingredients"')
    # the observation is the next user turn, not trained
    assert ('<|im_start|>user\n<tool_response>\n{"recipes": [{"name": "Chicken and Bell '
            'Pepper Stir Fry"') in text
    assert not any('<tool_response>' in s or TOOLS_FOOTER in s for s in spans)


def test_glaive_rows_train_gpt_and_function_calls_only(shared_data, pipeline):
    path = shared_data / 'glaive_toolcall_en_demo.json'
    rows = read_rows(path)
    samples = pipeline(path, 'sharegpt', max_rows=len(rows))
    assert len(samples) == len(rows) == 300
    with_calls = [k for k, r in enumerate(rows)
                  if any(m['from'] == 'function_call' for m in r['conversations'])][:5]
    for k in [0, 1, 2, *with_calls]:
        text, spans = samples[k]
        assert spans == expected_spans(rows[k]['conversations'])
        for m in rows[k]['conversations']:
            if m['from'] in ('human', 'observation'):
                assert m['value'] in text and not any(m['value'] in s for s in spans)


def test_dpo_prompts_take_the_chosen_reply(shared_data, pipeline):
    path = shared_data / 'dpo_en_demo.json'
    rows = read_rows(path)
    samples = pipeline(path, 'sharegpt', max_rows=len(rows))
    assert len(samples) == len(rows)
    system_row = next(k for k, r in enumerate(rows) if r['conversations'][0]['from'] == 'system')
    multi = next(k for k, r in enumerate(rows) if len(r['conversations']) >= 5)
    for k in (0, 1, system_row, multi):
        text, spans = samples[k]
        assert spans == expected_spans(rows[k]['conversations'], rows[k]['chosen'])
        assert rows[k]['rejected']['value'] not in text
    sys_text = rows[system_row]['conversations'][0]['value']
    assert samples[system_row][0].startswith(f'<|im_start|>system\n{sys_text}<|im_end|>\n')


def test_errors_name_the_message():
    with pytest.raises(DatasetFormatError, match="message 1 is from 'observation'"):
        sharegpt_map_fn({'conversations': [{'from': 'human', 'value': 'a'},
                                           {'from': 'observation', 'value': 'b'}]})
    with pytest.raises(DatasetFormatError, match='function_call is not valid JSON'):
        sharegpt_map_fn({'conversations': [{'from': 'human', 'value': 'a'},
                                           {'from': 'function_call', 'value': '{oops'}]})
    with pytest.raises(DatasetFormatError, match='no gpt reply'):
        sharegpt_map_fn({'conversations': [{'from': 'human', 'value': 'a'}]})
