"""Tests for xtuner_like/dataset/map_fns/openai.py: chat, tool calls and tool results."""
from __future__ import annotations

import json

import pytest
from map_fn_pipeline import EOS, pipeline  # noqa: F401 (fixture)

from xtuner_like.dataset.map_fns.openai import openai_map_fn
from xtuner_like.dataset.template import template_map_fn
from xtuner_like.errors import DatasetFormatError
from xtuner_like.templates import TEMPLATES, get_template

CALL = {'role': 'assistant', 'content': None, 'tool_calls': [
    {'id': 'c1', 'type': 'function',
     'function': {'name': 'weather', 'arguments': '{"city": "Paris"}'}},
    {'id': 'c2', 'type': 'function', 'function': {'name': 'time', 'arguments': {}}}]}
TOOLS = [{'type': 'function', 'function': {'name': 'weather', 'parameters': {}}}]
ROW = {'messages': [{'role': 'system', 'content': 'S'}, {'role': 'user', 'content': 'Paris?'},
                    CALL, {'role': 'tool', 'tool_call_id': 'c1', 'content': '21 C'},
                    {'role': 'tool', 'tool_call_id': 'c2', 'content': '9:00'},
                    {'role': 'assistant', 'content': '21 C at 9:00.'},
                    {'role': 'user', 'content': 'Thanks'},
                    {'role': 'assistant', 'content': 'You are welcome.'}],
       'tools': TOOLS}


def test_tool_calls_are_outputs_and_results_inputs():
    conv = openai_map_fn(ROW)['conversation']
    assert conv == [
        {'system': 'S', 'tools': TOOLS, 'input': 'Paris?', 'output': '', 'tool_calls': [
            {'name': 'weather', 'arguments': '{"city": "Paris"}', 'id': 'c1'},
            {'name': 'time', 'arguments': {}, 'id': 'c2'}]},
        {'input': '', 'tool_results': [{'content': '21 C', 'call_id': 'c1', 'name': 'weather'},
                                       {'content': '9:00', 'call_id': 'c2', 'name': 'time'}],
         'output': '21 C at 9:00.'},
        {'input': 'Thanks', 'output': 'You are welcome.'}]


def test_results_without_ids_answer_the_calls_in_order_and_get_derived_ids():
    calls = [{'type': 'function', 'function': {'name': n, 'arguments': {}}} for n in 'ab']
    row = {'messages': [{'role': 'user', 'content': 'q'},
                        {'role': 'assistant', 'content': None, 'tool_calls': calls},
                        {'role': 'tool', 'content': '1'}, {'role': 'tool', 'content': '2'},
                        {'role': 'assistant', 'content': 'done'}]}
    first, second = openai_map_fn(row)['conversation']
    ids = [c['id'] for c in first['tool_calls']]
    assert len(set(ids)) == 2 and all(len(i) == 9 and i.isalnum() for i in ids)
    assert [(r['call_id'], r['name']) for r in second['tool_results']] == list(zip(ids, 'ab'))
    assert openai_map_fn(row)['conversation'][0]['tool_calls'][0]['id'] == ids[0]  # stable


def test_a_result_that_answers_no_call_is_an_error():
    row = {'messages': [{'role': 'user', 'content': 'q'}, {'role': 'assistant', 'content': None,
            'tool_calls': [{'id': 'c1', 'function': {'name': 'f', 'arguments': {}}}]},
                        {'role': 'tool', 'content': '1'}, {'role': 'tool', 'content': '2'},
                        {'role': 'assistant', 'content': 'done'}]}
    with pytest.raises(DatasetFormatError, match=r"message 3 \('tool'\): .*answers no call"):
        openai_map_fn(row)
    row['messages'][2] = {'role': 'tool', 'tool_call_id': 'c7', 'content': '1'}
    with pytest.raises(DatasetFormatError, match="message 2 .*'c7' answers no open call"):
        openai_map_fn(row)


@pytest.mark.parametrize('content, text', [
    ([{'type': 'text', 'text': 'a'}, {'type': 'text', 'text': 'b'}], 'a\nb'),
    (['a', 'b'], 'a\nb'),
    ([{'type': 'input_text', 'text': 'a'}], 'a'),
])
def test_typed_text_parts_join_with_newlines(content, text):
    row = {'messages': [{'role': 'user', 'content': content},
                        {'role': 'assistant', 'content': content}]}
    assert openai_map_fn(row)['conversation'] == [{'input': text, 'output': text}]


def test_reasoning_and_tool_call_parts():
    row = {'messages': [{'role': 'user', 'content': 'q'}, {'role': 'assistant', 'content': [
        {'type': 'reasoning', 'text': 'think'}, {'type': 'text', 'text': 'ok'},
        {'type': 'tool_call', 'name': 'f', 'arguments': {'x': 1}}]}]}
    [turn] = openai_map_fn(row)['conversation']
    assert turn['thinking'] == 'think' and turn['output'] == 'ok'
    assert [(c['name'], c['arguments']) for c in turn['tool_calls']] == [('f', {'x': 1})]
    row['messages'][1] = {'role': 'assistant', 'content': 'ok', 'reasoning_content': 'r'}
    assert openai_map_fn(row)['conversation'][0]['thinking'] == 'r'


@pytest.mark.parametrize('content, message', [
    ([], 'content is an empty list'),
    ([{'type': 'image_url', 'image_url': {'url': 'x'}}], "part 0: content part type 'image_url'"),
    ([{'type': 'text'}], "part 0 \\('text'\\) has no text"),
    (3, 'has no text content'),
])
def test_bad_parts_name_the_problem(content, message):
    row = {'messages': [{'role': 'user', 'content': content},
                        {'role': 'assistant', 'content': 'a'}]}
    with pytest.raises(DatasetFormatError, match=message):
        openai_map_fn(row)


@pytest.mark.parametrize('reply', [{'content': ''}, {'content': '  '}, {'content': None},
                                   {'content': []}])
def test_empty_assistant_reply_is_a_bad_row(reply):
    row = {'messages': [{'role': 'user', 'content': 'q'}, {'role': 'assistant', **reply}]}
    with pytest.raises(DatasetFormatError, match='empty|no text content'):
        openai_map_fn(row)


def test_pipeline_spans(tmp_path, pipeline):
    path = tmp_path / 'chats.jsonl'
    path.write_text(json.dumps(ROW) + '\n' + json.dumps(
        {'messages': [{'role': 'user', 'content': 'Hi'},
                      {'role': 'assistant', 'content': 'Hello!'}]}) + '\n')
    (text1, spans1), (text2, spans2) = pipeline(path, 'openai')
    assert spans1 == [
        '<tool_call>\n{"name": "weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "time", "arguments": {}}\n</tool_call>' + EOS,
        '21 C at 9:00.' + EOS, 'You are welcome.' + EOS]
    assert ('<|im_start|>user\n<tool_response>\n21 C\n</tool_response>\n<tool_response>\n9:00'
            '\n</tool_response><|im_end|>\n<|im_start|>assistant\n') in text1
    assert text2 == ('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!' + EOS + '\n')
    assert spans2 == ['Hello!' + EOS]


@pytest.mark.parametrize('messages, message', [
    ([{'role': 'user', 'content': 'a'}, {'role': 'tool', 'content': 'x'}],
     "message 1 has role 'tool' where 'assistant'"),
    ([{'role': 'user', 'content': 'a'}, CALL, {'role': 'user', 'content': 'b'}],
     "message 2 has role 'user' where 'tool'"),
    ([{'role': 'user', 'content': 'a'}, {'role': 'assistant', 'content': 3}],
     'message 1 .* has no text content'),
    ([{'role': 'user', 'content': 'a'}], 'no assistant reply'),
])
def test_errors(messages, message):
    with pytest.raises(DatasetFormatError, match=message):
        openai_map_fn({'messages': messages})


# --- the newer LLaMA-Factory shape: parts under 'value', JSON-text calls, loss_weight ---------
V1_TOOLS = [{'type': 'function', 'function': {
    'name': 'multiply', 'description': 'Multiply two numbers',
    'parameters': {'type': 'object', 'properties': {'a': {'type': 'number'},
                                                    'b': {'type': 'number'}}}}}]


def v1_row(reasoning=True, call_id=None):
    call = {'type': 'tool_call', 'value': json.dumps({'name': 'multiply',
                                                      'arguments': {'a': 6, 'b': 8}}),
            **({'id': call_id} if call_id else {})}
    first = [{'type': 'reasoning', 'value': 'Multiply them.'}] if reasoning else []
    return {'tools': V1_TOOLS, 'messages': [
        {'role': 'system', 'content': [{'type': 'text', 'value': 'You help.'}],
         'loss_weight': 0.0},
        {'role': 'user', 'content': [{'type': 'text', 'value': 'What is 6*8?'}],
         'loss_weight': 0.0},
        {'role': 'assistant', 'content': first + [call], 'loss_weight': 0.0},
        {'role': 'tool', 'content': [{'type': 'text', 'value': '48'}]},
        {'role': 'assistant', 'content': [{'type': 'text', 'value': '6*8 is 48.'}],
         'loss_weight': 1.0}]}


def plain_equivalent(reasoning=True, call_id='abcdefgh1'):
    """The same conversation in the OpenAI shape, every reply trained."""
    first = {'role': 'assistant', 'content': None, 'tool_calls': [
        {'id': call_id, 'type': 'function',
         'function': {'name': 'multiply', 'arguments': {'a': 6, 'b': 8}}}]}
    if reasoning:
        first['reasoning_content'] = 'Multiply them.'
    return {'tools': V1_TOOLS, 'messages': [
        {'role': 'system', 'content': 'You help.'}, {'role': 'user', 'content': 'What is 6*8?'},
        first, {'role': 'tool', 'content': '48'},
        {'role': 'assistant', 'content': '6*8 is 48.'}]}


def test_the_newer_llamafactory_shape_loads():
    conv = openai_map_fn(v1_row())['conversation']
    call_id = conv[0]['tool_calls'][0]['id']
    assert conv == [
        {'system': 'You help.', 'tools': V1_TOOLS, 'input': 'What is 6*8?', 'output': '',
         'tool_calls': [{'name': 'multiply', 'arguments': {'a': 6, 'b': 8}, 'id': call_id}],
         'thinking': 'Multiply them.', 'trained': False},
        {'input': '', 'tool_results': [{'content': '48', 'call_id': call_id,
                                        'name': 'multiply'}], 'output': '6*8 is 48.'}]


@pytest.mark.parametrize('name', list(TEMPLATES))
def test_loss_weight_zero_renders_the_reply_as_context_in_every_template(name):
    """The same text as the OpenAI shape; only the reply with loss_weight 1 is trained."""
    reasoning = bool(get_template(name).thinking)
    ours = template_map_fn(openai_map_fn(v1_row(reasoning, 'abcdefgh1')), name,
                           eos_token=EOS)['segments']
    plain = template_map_fn(openai_map_fn(plain_equivalent(reasoning)), name,
                            eos_token=EOS)['segments']
    assert ''.join(s['text'] for s in ours) == ''.join(s['text'] for s in plain)
    trained = [s['text'] for s in plain if s['trained']]
    assert len(trained) == 2 and [s['text'] for s in ours if s['trained']] == trained[1:]


def test_loss_weight_is_honoured_through_the_pipeline(tmp_path, pipeline):
    data = tmp_path / 'v1.jsonl'
    data.write_text(json.dumps(v1_row(reasoning=False)) + '\n')
    [(text, spans)] = pipeline(data, 'openai', prompt_template='qwen2_5_chat')
    assert '"name": "multiply"' in text and '<tool_response>\n48\n</tool_response>' in text
    assert spans == [f'6*8 is 48.{EOS}']


@pytest.mark.parametrize('message, match', [
    ({'role': 'user', 'content': 'Hi', 'loss_weight': 1.0}, 'only assistant replies'),
    ({'role': 'assistant', 'content': 'Hi', 'loss_weight': 0.5}, 'loss_weight 0.5'),
    ({'role': 'assistant', 'content': 'Hi', 'loss_weight': '1'}, "loss_weight '1'"),
])
def test_unsupported_loss_weights_are_errors(message, match):
    messages = [{'role': 'user', 'content': 'Q'}, {'role': 'assistant', 'content': 'A'},
                message, *([{'role': 'assistant', 'content': 'B'}]
                           if message['role'] == 'user' else [])]
    if message['role'] == 'assistant':
        messages = [{'role': 'user', 'content': 'Q'}, message]
    with pytest.raises(DatasetFormatError, match=match):
        openai_map_fn({'messages': messages})


def test_a_tool_call_part_whose_value_is_not_a_call_is_an_error():
    row = v1_row(reasoning=False)
    row['messages'][2]['content'] = [{'type': 'tool_call', 'value': '[1, 2]'}]
    with pytest.raises(DatasetFormatError, match='must be a JSON object'):
        openai_map_fn(row)
    row['messages'][2]['content'] = [{'type': 'tool_call', 'value': '{"name": '}]
    with pytest.raises(DatasetFormatError, match='not valid JSON'):
        openai_map_fn(row)
