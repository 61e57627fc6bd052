"""Tests for xtuner_like/dataset/map_fns/sharegpt.py: Glaive tool calls, typed parts; DPO refused."""
from __future__ import annotations

import json

import pytest
from map_fn_pipeline import EOS, read_rows, pipeline  # noqa: F401 (fixture)

from xtuner_like.templates.tools import TOOLS_FOOTER, TOOLS_HEADER
from xtuner_like.dataset.map_fns.sharegpt import sharegpt_map_fn
from xtuner_like.errors import DatasetFormatError


def expected_spans(messages):
    spans = []
    for m in messages:
        if m['from'] == 'gpt':
            spans.append(m['value'] + EOS)
        elif m['from'] == 'function_call':
            spans.append(f'<tool_call>\n{json.dumps(json.loads(m["value"]))}\n</tool_call>{EOS}')
    return spans


def test_glaive_first_row_literally(shared_data, pipeline):
    text, spans = pipeline(shared_data / 'glaive_toolcall_en_demo.json', 'sharegpt',
                           max_rows=1)[0]
    assert spans[:2] == [
        'Of course! I can help you with that. Please tell me what ingredients you have.' + EOS,
        '<tool_call>\n{"name": "search_recipes", "arguments": {"ingredients": ["chicken", '
        '"bell peppers", "rice"]}}\n</tool_call>' + EOS]
    assert text.startswith(f'<|im_start|>system\n{TOOLS_HEADER}\n'
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


def test_dpo_rows_are_refused_not_trained_as_sft(shared_data, pipeline):
    """A DPO file (conversations + chosen/rejected) used to train 'chosen' and drop
    'rejected' silently; an SFT recipe now stops and points to preference recipes."""
    from xtuner_like.errors import DatasetFormatError
    with pytest.raises(DatasetFormatError, match=r"line 1|row 0") as info:
        pipeline(shared_data / 'dpo_en_demo.json', 'sharegpt', max_rows=3)
    assert "['chosen', 'rejected']" in str(info.value) and 'preference recipe' in str(info.value)


def test_typed_parts_and_reasoning():
    row = {'conversations': [
        {'from': 'human', 'value': [{'type': 'text', 'text': 'a'}, 'b']},
        {'from': 'gpt', 'value': [{'type': 'thinking', 'thinking': 'hmm'},
                                  {'type': 'text', 'text': 'c'}]}]}
    assert sharegpt_map_fn(row)['conversation'] == [
        {'input': 'a\nb', 'output': 'c', 'thinking': 'hmm'}]
    with pytest.raises(DatasetFormatError, match="part 0: content part type 'image_url'"):
        sharegpt_map_fn({'conversations': [{'from': 'human', 'value': [{'type': 'image_url'}]},
                                           {'from': 'gpt', 'value': 'x'}]})
    for empty in ('', [], '  '):
        with pytest.raises(DatasetFormatError, match='empty'):
            sharegpt_map_fn({'conversations': [{'from': 'human', 'value': 'a'},
                                               {'from': 'gpt', 'value': empty}]})


def test_errors_name_the_message():
    with pytest.raises(DatasetFormatError, match="message 1 is from 'observation'"):
        sharegpt_map_fn({'conversations': [{'from': 'human', 'value': 'a'},
                                           {'from': 'observation', 'value': 'b'}]})
    with pytest.raises(DatasetFormatError, match='function_call is not valid JSON'):
        sharegpt_map_fn({'conversations': [{'from': 'human', 'value': 'a'},
                                           {'from': 'function_call', 'value': '{oops'}]})
    with pytest.raises(DatasetFormatError, match='no gpt reply'):
        sharegpt_map_fn({'conversations': [{'from': 'human', 'value': 'a'}]})


def test_loss_weight_and_text_parts_under_value():
    """ShareGPT messages honour loss_weight as OpenAI messages do; an observation given as
    text parts is its text."""
    row = {'conversations': [
        {'from': 'human', 'value': [{'type': 'text', 'value': 'Add 2 and 3'}]},
        {'from': 'function_call', 'value': '{"name": "add", "arguments": {"a": 2}}',
         'loss_weight': 0.0},
        {'from': 'observation', 'value': [{'type': 'text', 'value': '5'}]},
        {'from': 'gpt', 'value': 'It is 5.', 'loss_weight': 1.0},
        {'from': 'human', 'value': 'Thanks'},
        {'from': 'gpt', 'value': 'Welcome.', 'loss_weight': 0}]}
    conv = sharegpt_map_fn(row)['conversation']
    assert [t.get('trained', True) for t in conv] == [False, True, False]
    assert conv[0]['input'] == 'Add 2 and 3' and conv[1]['tool_results'][0]['content'] == '5'
    row['conversations'][0]['loss_weight'] = 1.0
    with pytest.raises(DatasetFormatError, match='only assistant replies are trained'):
        sharegpt_map_fn(row)
