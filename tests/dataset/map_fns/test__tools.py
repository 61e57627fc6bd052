"""Tests for xtuner_like/dataset/map_fns/_tools.py: the shapes data tools give a tool call."""
import pytest

from xtuner_like.dataset.map_fns._tools import call_text, raw_tool_call_text
from xtuner_like.errors import DatasetFormatError

EXPECTED = '<tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call>'


@pytest.mark.parametrize('call', [
    {'type': 'function', 'function': {'name': 'f', 'arguments': {'x': 1}}},   # OpenAI
    {'name': 'f', 'arguments': {'x': 1}},                                    # flat
    {'type': 'tool_use', 'name': 'f', 'input': {'x': 1}},                    # Anthropic
    {'function': {'name': 'f', 'arguments': '{"x": 1}'}},                    # JSON text
])
def test_call_shapes(call):
    assert call_text(call, 'message 1') == EXPECTED


def test_bad_calls():
    with pytest.raises(DatasetFormatError, match='message 1: a tool call must be a dict'):
        call_text('f(1)', 'message 1')
    with pytest.raises(DatasetFormatError, match='function name'):
        call_text({'arguments': {}}, 'message 1')


def test_raw_calls():
    two = raw_tool_call_text('[{"name": "a", "arguments": {}}, {"name": "b"}]')
    assert two.count('<tool_call>') == 2 and '"name": "b"' in two
    with pytest.raises(DatasetFormatError, match="'name', 'arguments'"):
        raw_tool_call_text('{"arguments": {}}')
    with pytest.raises(DatasetFormatError, match='function_call is not valid JSON'):
        raw_tool_call_text('{oops')
