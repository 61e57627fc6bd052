"""Tests for xtuner_like/dataset/map_fns/_parts.py: typed content parts and reasoning."""
from __future__ import annotations

import json

import pytest

from xtuner_like.dataset.map_fns._parts import (Content, is_text_parts, message_reasoning,
                                                message_trained, read_content)
from xtuner_like.errors import DatasetFormatError

WHERE = "message 1 ('assistant')"


def test_a_string_is_the_text():
    assert read_content('Hello', WHERE) == Content(text='Hello')


def test_text_parts_of_every_spelling_join_with_a_newline():
    parts = ['a', {'type': 'text', 'text': 'b'}, {'type': 'input_text', 'text': 'c'},
             {'type': 'output_text', 'text': 'd'}]
    assert read_content(parts, WHERE).text == 'a\nb\nc\nd'


def test_an_assistant_reads_reasoning_and_tool_call_parts():
    parts = [{'type': 'thinking', 'thinking': 'Add them.'}, {'type': 'text', 'text': 'Sure.'},
             {'type': 'tool_use', 'name': 'add', 'input': {'a': 2}, 'id': 'x1'}]
    got = read_content(parts, WHERE, assistant=True)
    assert got == Content(text='Sure.', reasoning=['Add them.'],
                          calls=[{'name': 'add', 'arguments': {'a': 2}, 'id': 'x1'}])


@pytest.mark.parametrize('content, match', [
    ([{'type': 'image_url', 'image_url': 'x'}], "part 0: content part type 'image_url'"),
    ([{'type': 'reasoning', 'text': 'x'}], "part type 'reasoning' is not understood"),
    ([], 'content is an empty list'),
    (None, 'has no text content'),
    ([{'type': 'text'}], r"part 0 \('text'\) has no text"),
])
def test_what_a_user_message_cannot_hold_is_an_error_naming_it(content, match):
    with pytest.raises(DatasetFormatError, match=match):
        read_content(content, "message 0 ('user')")


def test_reasoning_comes_from_the_field_and_the_parts():
    assert message_reasoning({'reasoning_content': 'A'}, ['B'], WHERE) == 'A\nB'
    assert message_reasoning({}, [], WHERE) is None
    with pytest.raises(DatasetFormatError, match='reasoning must be a string, got list'):
        message_reasoning({'reasoning': ['A']}, [], WHERE)


def test_parts_may_keep_their_text_under_value():
    """The newer LLaMA-Factory shape: text and reasoning under 'value', a call as JSON text."""
    call = '{"name": "add", "arguments": {"a": 1}}'
    got = read_content([{'type': 'reasoning', 'value': 'R'}, {'type': 'text', 'value': 'T'},
                        {'type': 'tool_call', 'value': call, 'id': 'abcdefgh1'}], WHERE,
                       assistant=True)
    assert got == Content(text='T', reasoning=['R'], calls=[
        {'name': 'add', 'arguments': {'a': 1}, 'id': 'abcdefgh1'}])
    tools = [{'type': 'function', 'function': {'name': 'add'}}]
    assert read_content([{'type': 'tools', 'value': json.dumps(tools)},
                         {'type': 'text', 'value': 'Hi'}], WHERE).tools == tools


def test_text_parts_and_loss_weights():
    assert is_text_parts([{'type': 'text', 'value': '48'}])
    assert not is_text_parts([{'id': 1}]) and not is_text_parts([]) and not is_text_parts('x')
    assert message_trained({}, WHERE, reply=True) and not message_trained({}, WHERE, reply=False)
    assert not message_trained({'loss_weight': 0.0}, WHERE, reply=True)
    assert message_trained({'loss_weight': 1}, WHERE, reply=True)
    assert not message_trained({'loss_weight': 0}, WHERE, reply=False)
    for weight in (0.3, True, '1'):
        with pytest.raises(DatasetFormatError, match='not supported'):
            message_trained({'loss_weight': weight}, WHERE, reply=True)
    with pytest.raises(DatasetFormatError, match='only assistant replies are trained'):
        message_trained({'loss_weight': 1.0}, WHERE, reply=False)
