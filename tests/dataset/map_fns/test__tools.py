"""Tests for xtuner_like/dataset/map_fns/_tools.py: the shapes data tools give a tool call, and
each tool result linked to its call."""
import pytest

from xtuner_like.dataset.map_fns._tools import CallLinks, input_of, raw_calls, read_call
from xtuner_like.errors import DatasetFormatError

EXPECTED = {'name': 'f', 'arguments': {'x': 1}}


@pytest.mark.parametrize('call', [
    {'type': 'function', 'function': {'name': 'f', 'arguments': {'x': 1}}},   # OpenAI
    {'name': 'f', 'arguments': {'x': 1}},                                    # flat
    {'type': 'tool_use', 'name': 'f', 'input': {'x': 1}},                    # Anthropic
])
def test_call_shapes(call):
    assert read_call(call, 'message 1') == EXPECTED


def test_string_arguments_are_kept_as_written_and_ids_kept():
    call = {'id': 'abc', 'function': {'name': 'f', 'arguments': '{"x":  1}'}}
    assert read_call(call, 'm') == {'name': 'f', 'arguments': '{"x":  1}', 'id': 'abc'}
    with pytest.raises(DatasetFormatError, match='m: arguments of tool call .f. is not valid'):
        read_call({'name': 'f', 'arguments': '{x: 1}'}, 'm')


def test_bad_calls():
    with pytest.raises(DatasetFormatError, match='message 1: a tool call must be a dict'):
        read_call('f(1)', 'message 1')
    with pytest.raises(DatasetFormatError, match='message 1: a tool call needs a function name'):
        read_call({'arguments': {}}, 'message 1')


def test_raw_calls():
    two = raw_calls('[{"name": "a", "arguments": {}}, {"name": "b"}]', 'message 2')
    assert two == [{'name': 'a', 'arguments': {}}, {'name': 'b', 'arguments': {}}]
    with pytest.raises(DatasetFormatError, match="message 2: a function_call must be"):
        raw_calls('{"arguments": {}}', 'message 2')
    with pytest.raises(DatasetFormatError, match='not valid JSON'):
        raw_calls('{oops', 'message 2')


def test_derived_ids_are_nine_characters_deterministic_and_differ_by_message_and_index():
    def ids(message):
        return [c['id'] for c in CallLinks().calls([{'name': 'a'}, {'name': 'b'}], message)]
    first = ids({'content': 1})
    assert first == ids({'content': 1}) and first[0] != first[1]
    assert all(len(i) == 9 and i.isalnum() for i in first)
    assert ids({'content': 2}) != first


def test_results_link_by_id_else_by_order():
    links = CallLinks()
    links.calls([{'name': 'a', 'id': 'x'}, {'name': 'b'}], {})
    derived = links._open[1]['id']
    assert links.result('1', 'm3', call_id='x') == {'content': '1', 'call_id': 'x', 'name': 'a'}
    assert links.result('2', 'm4') == {'content': '2', 'call_id': derived, 'name': 'b'}
    with pytest.raises(DatasetFormatError, match='m5: this tool result answers no call'):
        links.result('3', 'm5')


def test_a_result_naming_an_unknown_call_is_an_error():
    links = CallLinks()
    links.calls([{'name': 'a', 'id': 'x'}], {})
    with pytest.raises(DatasetFormatError, match="m2: tool_call_id 'y' answers no open call"):
        links.result('1', 'm2', call_id='y')


def test_results_of_calls_written_as_text_keep_what_the_data_gives():
    links = CallLinks()
    links.calls([], {})      # the reply's calls were <tool_call> text
    assert links.result('1', 'm', call_id='c9', name='f') == {'content': '1', 'call_id': 'c9',
                                                               'name': 'f'}
    assert links.result('2', 'm') == {'content': '2'}


def test_input_of():
    assert input_of(['Hi'], 'user') == {'input': 'Hi'}
    assert input_of([{'content': '1'}], 'tool') == {'input': '', 'tool_results': [{'content': '1'}]}
