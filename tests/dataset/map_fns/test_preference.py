"""Preference and KTO map_fns: every accepted shape gives the same sample; bad rows say why."""
from __future__ import annotations

import json

import pytest

from xtuner_like.dataset.map_fns.preference import (
    kto_map_fn, openai_preference_map_fn, plain_preference_map_fn, sharegpt_preference_map_fn)
from xtuner_like.errors import DatasetFormatError

from .map_fn_pipeline import check_docstring

EXPECTED = {'conversation': [{'system': 'Be kind.', 'input': 'Hi'}, ],
            'chosen': 'Hello!', 'rejected': 'Go away.'}
MULTI = {'conversation': [{'input': 'Hi', 'output': 'Hello.'}, {'input': 'Name?'}],
         'chosen': 'Tuna.', 'rejected': 'No.'}


def _msgs(*pairs):
    return [{'role': r, 'content': c} for r, c in pairs]


@pytest.mark.parametrize('row', [
    dict(prompt=_msgs(('system', 'Be kind.'), ('user', 'Hi')),
         chosen=_msgs(('assistant', 'Hello!')), rejected=_msgs(('assistant', 'Go away.'))),
    dict(prompt=_msgs(('system', 'Be kind.'), ('user', 'Hi')), chosen='Hello!',
         rejected={'role': 'assistant', 'content': 'Go away.'}),
    # implicit prompt: the shared start of chosen and rejected
    dict(chosen=_msgs(('system', 'Be kind.'), ('user', 'Hi'), ('assistant', 'Hello!')),
         rejected=_msgs(('system', 'Be kind.'), ('user', 'Hi'), ('assistant', 'Go away.'))),
    # UltraFeedback: a prompt string, and replies that repeat it
    dict(prompt=_msgs(('system', 'Be kind.'), ('user', 'Hi')),
         chosen=_msgs(('system', 'Be kind.'), ('user', 'Hi'), ('assistant', 'Hello!')),
         rejected=_msgs(('system', 'Be kind.'), ('user', 'Hi'), ('assistant', 'Go away.'))),
])
def test_openai_preference_shapes(row):
    assert openai_preference_map_fn(row) == EXPECTED


def test_sharegpt_and_plain_give_the_same_sample():
    sharegpt = {'conversations': [{'from': 'system', 'value': 'Be kind.'},
                                  {'from': 'human', 'value': 'Hi'}],
                'chosen': {'from': 'gpt', 'value': 'Hello!'},
                'rejected': {'from': 'gpt', 'value': 'Go away.'}}
    assert sharegpt_preference_map_fn(sharegpt) == EXPECTED
    assert plain_preference_map_fn({'system': 'Be kind.', 'prompt': 'Hi', 'chosen': 'Hello!',
                                    'rejected': 'Go away.'}) == EXPECTED


def test_multi_turn_prompt_keeps_earlier_replies_as_context():
    row = {'prompt': _msgs(('user', 'Hi'), ('assistant', 'Hello.'), ('user', 'Name?')),
           'chosen': 'Tuna.', 'rejected': 'No.'}
    assert openai_preference_map_fn(row) == MULTI


def test_kto_rows():
    assert kto_map_fn({'prompt': 'Hi', 'completion': 'Hello!', 'label': False}) == {
        'conversation': [{'input': 'Hi'}], 'completion': 'Hello!', 'label': False}
    with pytest.raises(DatasetFormatError, match="'label' must be a JSON boolean"):
        kto_map_fn({'prompt': 'Hi', 'completion': 'Hello!', 'label': 'yes'})


@pytest.mark.parametrize('fn,row,message', [
    (sharegpt_preference_map_fn, {'conversations': [{'from': 'human', 'value': 'Hi'}]},
     r"missing \['chosen', 'rejected'\]"),
    (openai_preference_map_fn, {'prompt': 'Hi', 'chosen': 3, 'rejected': 'x'},
     "'chosen' must be a string"),
    (plain_preference_map_fn, {'prompt': 'Hi', 'chosen': ['x'], 'rejected': 'y'},
     'use openai_preference'),
    (openai_preference_map_fn,
     {'chosen': _msgs(('user', 'A'), ('assistant', 'x')),
      'rejected': _msgs(('user', 'B'), ('assistant', 'y'))}, 'different prompts'),
])
def test_bad_rows_say_what_and_how(fn, row, message):
    with pytest.raises(DatasetFormatError, match=message):
        fn(row)


@pytest.mark.parametrize('fn', [sharegpt_preference_map_fn, openai_preference_map_fn,
                                plain_preference_map_fn, kto_map_fn])
def test_docstrings_show_data(fn):
    check_docstring(fn)


def test_every_row_of_the_real_dpo_file_maps(shared_data):
    rows = json.loads((shared_data / 'dpo_en_demo.json').read_text())
    samples = [sharegpt_preference_map_fn(r) for r in rows]
    assert all(s['chosen'] and s['rejected'] and 'output' not in s['conversation'][-1]
               for s in samples)
    assert max(len(s['conversation']) for s in samples) > 1  # multi-turn prompts survive


def test_replies_that_call_tools_keep_their_calls_and_share_the_prompts_call_ids():
    """A tool call in the prompt gets the same derived id in both rows; a reply's calls go
    with the reply (the template writes them), not into the prompt."""
    def call(city):
        return {'role': 'assistant', 'content': None, 'tool_calls': [
            {'type': 'function', 'function': {'name': 'weather', 'arguments': {'city': city}}}]}
    prompt = [{'role': 'user', 'content': 'Paris?'}, call('Paris'),
              {'role': 'tool', 'content': '21 C'}, {'role': 'assistant', 'content': '21 C.'},
              {'role': 'user', 'content': 'Rome?'}]
    sample = openai_preference_map_fn({'prompt': prompt, 'chosen': [call('Rome')],
                                       'rejected': [call('Paris')]})
    assert 'tool_calls' not in sample['conversation'][-1]
    assert sample['chosen']['output'] == '' and [
        c['arguments'] for c in sample['chosen']['tool_calls']] == [{'city': 'Rome'}]
    assert sample['rejected']['tool_calls'][0]['arguments'] == {'city': 'Paris'}


# --- KTO rows as one conversation + label (issue 23 item 3) -----------------------------------
def test_kto_reads_a_whole_conversation_whose_last_reply_is_the_completion():
    messages = [{'role': 'system', 'content': 'Be kind.'}, {'role': 'user', 'content': 'Hi'},
                {'role': 'assistant', 'content': 'Go away.'}]
    expected = {'conversation': [{'system': 'Be kind.', 'input': 'Hi'}],
                'completion': 'Go away.', 'label': False}
    assert kto_map_fn({'messages': messages, 'label': False}) == expected
    assert kto_map_fn({'prompt': messages[:2], 'completion': 'Go away.', 'label': False}) == \
        expected
    sharegpt = {'conversations': [{'from': 'system', 'value': 'Be kind.'},
                                  {'from': 'human', 'value': 'Hi'},
                                  {'from': 'gpt', 'value': 'Go away.'}], 'kto_tag': False}
    assert kto_map_fn(sharegpt) == expected


def test_kto_conversation_with_earlier_turns_and_a_tool_call_completion():
    tools = [{'type': 'function', 'function': {'name': 'add', 'parameters': {}}}]
    row = {'tools': tools, 'label': True, 'messages': [
        {'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello!'},
        {'role': 'user', 'content': '2+3?'},
        {'role': 'assistant', 'content': None, 'tool_calls': [
            {'id': 'abcdefgh1', 'function': {'name': 'add', 'arguments': {'a': 2, 'b': 3}}}]}]}
    sample = kto_map_fn(row)
    assert sample['conversation'] == [{'tools': tools, 'input': 'Hi', 'output': 'Hello!'},
                                      {'input': '2+3?'}]
    assert sample['completion'] == {'output': '', 'tool_calls': [
        {'name': 'add', 'arguments': {'a': 2, 'b': 3}, 'id': 'abcdefgh1'}]}


@pytest.mark.parametrize('row', [
    {'messages': [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'a'},
                  {'role': 'user', 'content': 'more?'}], 'label': True},
    {'conversations': [{'from': 'human', 'value': 'Hi'}], 'label': True},
])
def test_a_kto_conversation_must_end_with_the_reply_to_score(row):
    with pytest.raises(DatasetFormatError, match='must be the assistant reply to score'):
        kto_map_fn(row)


# --- bad preference rows (issue 23 item 6) ----------------------------------------------------
GPT = {'from': 'gpt', 'value': 'b'}


@pytest.mark.parametrize('fn, row', [
    (plain_preference_map_fn, {'prompt': 'Hi', 'chosen': '  ', 'rejected': 'b'}),
    (plain_preference_map_fn, {'prompt': 'Hi', 'chosen': 'a', 'rejected': '\n\t'}),
    (plain_preference_map_fn, {'prompt': ' ', 'chosen': 'a', 'rejected': 'b'}),
    (openai_preference_map_fn, {'prompt': 'Hi', 'chosen': ' ', 'rejected': 'b'}),
    (openai_preference_map_fn, {'prompt': 'Hi', 'chosen': 'a',
                                'rejected': [{'role': 'assistant', 'content': ' '}]}),
    (sharegpt_preference_map_fn, {'conversations': [{'from': 'human', 'value': 'Hi'}],
                                  'chosen': {'from': 'gpt', 'value': '  '}, 'rejected': GPT}),
    (kto_map_fn, {'prompt': 'Hi', 'completion': '  ', 'label': True}),
    (kto_map_fn, {'messages': [{'role': 'user', 'content': 'Hi'},
                               {'role': 'assistant', 'content': ' '}], 'label': True}),
])
def test_blank_replies_are_refused_by_every_preference_map_fn(fn, row):
    with pytest.raises(DatasetFormatError, match='empty'):
        fn(row)


def test_an_empty_chosen_is_reported_as_empty_not_missing():
    with pytest.raises(DatasetFormatError) as info:
        plain_preference_map_fn({'prompt': 'Hi', 'chosen': '', 'rejected': 'b'})
    assert "['chosen'] empty (blank text" in str(info.value)
    assert 'missing' not in str(info.value)


@pytest.mark.parametrize('label', ['false', 'true', 'False', 0, 1, 0.0, [True], {'v': True}])
@pytest.mark.parametrize('shape', [
    {'prompt': 'Hi', 'completion': 'a'},
    {'messages': [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'a'}]}])
def test_a_kto_label_must_be_a_json_boolean(label, shape):
    with pytest.raises(DatasetFormatError, match="'label' must be a JSON boolean") as info:
        kto_map_fn({**shape, 'label': label})
    assert ('without quotes' in str(info.value)) == isinstance(label, str)
