"""Tests for xtuner_like/dataset/map_fns/openai.py: chat, tool calls and tool results."""
from __future__ import annotations

import json

import pytest
from map_fn_pipeline import EOS, pipeline  # noqa: F401 (fixture)

from xtuner_like.dataset.map_fns.openai import openai_map_fn
from xtuner_like.errors import DatasetFormatError

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
        {'system': 'S\n\n# Tools\nYou may call one or more functions to assist with the user '
                   'query.\n<tools>\n{"name": "weather", "parameters": {}}\n</tools>\nFor each '
                   'function call, return a JSON object inside <tool_call></tool_call> tags.',
         'input': 'Paris?',
         'output': '<tool_call>\n{"name": "weather", "arguments": {"city": "Paris"}}\n'
                   '</tool_call>\n<tool_call>\n{"name": "time", "arguments": {}}\n</tool_call>'},
        {'input': '<tool_response>\n21 C\n</tool_response>\n<tool_response>\n9:00\n'
                  '</tool_response>', 'output': '21 C at 9:00.'},
        {'input': 'Thanks', 'output': 'You are welcome.'}]


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
    assert text2 == ('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!' + EOS)
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
