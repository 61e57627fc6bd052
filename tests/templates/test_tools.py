"""Tests for xtuner_like/templates/tools.py: the tool styles (Hermes, Llama-3.1, Mistral)."""
import pytest

from xtuner_like.errors import DatasetFormatError
from xtuner_like.templates.tools import (TOOL_STYLES, derive_call_id, is_tool_response,
                                         mistral_call_id, normalize_tools, reply_fields,
                                         results_text, tool_call_text, tool_calls_in,
                                         tool_response_text, tools_block, tools_system_text,
                                         turn_text)


def test_tool_call_text_keeps_string_arguments_as_written():
    assert tool_call_text('f', '{"x": 1}') == ('<tool_call>\n{"name": "f", "arguments": '
                                               '{"x": 1}}\n</tool_call>')
    assert tool_call_text('f', {'x': 'é'}) == ('<tool_call>\n{"name": "f", "arguments": '
                                               '{"x": "é"}}\n</tool_call>')
    with pytest.raises(DatasetFormatError, match='not valid JSON'):
        tool_call_text('f', '{x: 1}')
    with pytest.raises(DatasetFormatError, match='function name'):
        tool_call_text('', {})


def test_responses():
    assert tool_response_text({'t': 21}) == '<tool_response>\n{"t": 21}\n</tool_response>'
    assert is_tool_response(tool_response_text('a') + '\n' + tool_response_text('b'))
    assert not is_tool_response('What is <tool_response>?')


def test_tools_block_is_qwens():
    tools = normalize_tools('[{"type": "function", "function": {"name": "f"}}]')
    text = tools_system_text(tools, 'Be kind.')
    assert text == (
        'Be kind.\n\n# Tools\n\nYou may call one or more functions to assist with the user '
        'query.\n\nYou are provided with function signatures within <tools></tools> XML tags:'
        '\n<tools>\n{"type": "function", "function": {"name": "f"}}\n</tools>\n\nFor each '
        'function call, return a json object with function name and arguments within '
        '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, '
        '"arguments": <args-json-object>}\n</tool_call>')
    assert tools_system_text(tools, None).startswith('# Tools')
    assert tools_system_text(None, 'S') == 'S' and normalize_tools('[]') is None
    with pytest.raises(DatasetFormatError, match='must be a list'):
        normalize_tools('{"name": "f"}')


def test_llama_tools_are_indented_json_after_the_preamble_and_results_json():
    style = TOOL_STYLES['llama3_1']
    block = tools_block(style, [{'name': 'f'}, {'name': 'g'}])
    assert block.endswith('Do not use variables.\n\n{\n    "name": "f"\n}\n\n'
                          '{\n    "name": "g"\n}\n\n')
    assert results_text(style, [{'content': 'a'}, {'content': {'t': 1}}], 'w') == (
        '<|start_header_id|>ipython<|end_header_id|>\n\n"a"<|eot_id|>'
        '<|start_header_id|>ipython<|end_header_id|>\n\n{"t": 1}<|eot_id|>'
        '<|start_header_id|>assistant<|end_header_id|>\n\n')


def test_mistral_tools_write_strings_raw_and_leave_out_return():
    tool = {'type': 'function', 'function': {'name': 'f', 'description': 'D', 'parameters': {
        'type': 'object'}, 'return': {'type': 'string'}}}
    assert tools_block(TOOL_STYLES['mistral'], [tool, {'name': 'g'}]) == (
        '[AVAILABLE_TOOLS] [{"type": "function", "function": {"name": "f", "description": "D", '
        '"parameters": {"type": "object"}}}, {"type": "function", "function": {"name": "g"}}]'
        '[/AVAILABLE_TOOLS]')


def test_call_ids():
    assert derive_call_id('seed', 0) == derive_call_id('seed', 0) != derive_call_id('seed', 1)
    assert mistral_call_id('abcDEF123', 'w') == 'abcDEF123'
    assert mistral_call_id('call_1', 'w') == derive_call_id('call_1', 0)
    with pytest.raises(DatasetFormatError, match='w: Mistral tool calls and results need'):
        mistral_call_id('', 'w')


def test_turn_text_writes_calls_and_results_as_hermes_text():
    turn = {'input': '', 'tool_results': [{'content': 'R'}], 'output': 'ok',
            'tool_calls': [{'name': 'f', 'arguments': {}}]}
    assert turn_text(turn)['input'] == '<tool_response>\nR\n</tool_response>'
    assert turn_text(turn)['output'] == ('ok\n<tool_call>\n{"name": "f", "arguments": {}}\n'
                                         '</tool_call>')
    assert turn_text({'input': 'q', 'output': 'a'}) == {'input': 'q', 'output': 'a'}


PARIS = {'name': 'get_weather', 'arguments': {'city': 'Paris'}}


@pytest.mark.parametrize('reply, calls', [
    ('Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n'
     '</tool_call>\n<tool_call>\nnot json\n</tool_call>', [PARIS]),
    ('{"name": "get_weather", "parameters": {"city": "Paris"}}', [PARIS]),
    ('[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "abcdefghi"}, '
     '{"name": "get_time", "arguments": {}}]',
     [{**PARIS, 'id': 'abcdefghi'}, {'name': 'get_time', 'arguments': {}}]),
    ('{"name": "Ada", "age": 36}', []),                   # JSON, but not a Llama call
    ('[TOOL_CALLS] oops', []), ('It is sunny.', []),
])
def test_calls_are_read_back_in_every_style(reply, calls):
    assert tool_calls_in(reply) == calls


def test_a_reply_of_bare_calls_becomes_calls_and_any_other_stays_text():
    mistral = '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}]'
    assert reply_fields(mistral) == {'output': '', 'tool_calls': [PARIS]}
    hermes = 'Sure.\n<tool_call>\n{"name": "get_weather", "arguments": {}}\n</tool_call>'
    assert reply_fields(hermes) == {'output': hermes}
    assert reply_fields('It is sunny.') == {'output': 'It is sunny.'}
