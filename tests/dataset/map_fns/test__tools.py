"""Tool calls, tool results and tool lists as text."""
import pytest

from xtuner_like.dataset.map_fns._tools import (raw_tool_call_text, tool_call_text,
                                                tool_response_text, tools_system_text)
from xtuner_like.errors import DatasetFormatError


def test_tool_call_text_parses_string_arguments():
    assert tool_call_text('f', '{"x": 1}') == ('<tool_call>\n{"name": "f", "arguments": '
                                               '{"x": 1}}\n</tool_call>')
    with pytest.raises(DatasetFormatError, match='not valid JSON'):
        tool_call_text('f', '{x: 1}')
    with pytest.raises(DatasetFormatError, match='function name'):
        tool_call_text('', {})


def test_raw_calls_and_responses():
    two = raw_tool_call_text('[{"name": "a", "arguments": {}}, {"name": "b"}]')
    assert two.count('<tool_call>') == 2 and '"name": "b"' in two
    with pytest.raises(DatasetFormatError, match="'name', 'arguments'"):
        raw_tool_call_text('{"arguments": {}}')
    assert tool_response_text({'t': 21}) == '<tool_response>\n{"t": 21}\n</tool_response>'


def test_tools_block_in_system():
    text = tools_system_text('[{"type": "function", "function": {"name": "f"}}]', 'Be kind.')
    assert text.startswith('Be kind.\n\n# Tools') and '<tools>\n{"name": "f"}\n</tools>' in text
    assert tools_system_text(None, 'S') == 'S' and tools_system_text('[]') is None
    with pytest.raises(DatasetFormatError, match='must be a list'):
        tools_system_text('{"name": "f"}')
