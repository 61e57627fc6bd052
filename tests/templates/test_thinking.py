"""Tests for xtuner_like/templates/thinking.py: reasoning split from replies and rendered back."""
import pytest

from xtuner_like.errors import DatasetFormatError
from xtuner_like.templates import get_template
from xtuner_like.templates.thinking import last_query_turn, reply_with_thinking, split_thinking


def test_reasoning_is_read_from_its_field_or_from_think_tags():
    qwen3 = get_template('qwen3_chat')
    assert split_thinking({'output': 'Four.', 'thinking': '2+2'}, qwen3) == ('Four.', '2+2')
    assert split_thinking({'output': '<think>\n2+2\n</think>\n\nFour.'}, qwen3) == ('Four.', '2+2')
    assert split_thinking({'output': 'Four.'}, qwen3) == ('Four.', '')
    with pytest.raises(DatasetFormatError, match='no thinking format'):
        split_thinking({'output': 'Four.', 'thinking': '2+2'}, get_template('chatml'))


def test_the_final_reply_of_a_thinking_template_shows_its_reasoning():
    qwen3 = get_template('qwen3_chat')
    assert reply_with_thinking('Four.', '2+2', qwen3, final=True, show=True) == \
        '<think>\n2+2\n</think>\n\nFour.'
    assert reply_with_thinking('Four.', '', qwen3, final=True, show=True).startswith('<think>')
    assert reply_with_thinking('Four.', '2+2', qwen3, final=False, show=False) == 'Four.'
    assert reply_with_thinking('Four.', '', get_template('chatml'), True, True) == 'Four.'


def test_last_query_turn_skips_turns_of_tool_results():
    turns = [{'input': 'Weather?'}, {'input': '<tool_response>\n21 C\n</tool_response>'}]
    assert last_query_turn(turns) == 0
    assert last_query_turn([{'input': 'a'}, {'input': 'b'}]) == 1
