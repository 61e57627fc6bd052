"""Tests for xtuner_like/templates/tools.py: Qwen's tool text, parsed and written once."""
import pytest

from xtuner_like.errors import DatasetFormatError
from xtuner_like.templates.tools import (is_tool_response, normalize_tools, tool_call_text,
                                         tool_response_text, tools_system_text)


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
