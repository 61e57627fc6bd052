"""Tests for xtuner_like/templates/prompt.py."""
from __future__ import annotations

import dataclasses

import pytest

from xtuner_like.errors import ConfigError, DatasetFormatError
from xtuner_like.templates.prompt import PromptTemplate, fill, render_conversation, render_prompt

TOY = PromptTemplate(name='toy', prefix='<B>', system='S({system})', instruction='U({input})',
                     suffix='{eos}', separator='|')
CONV = [{'input': 'q1', 'output': 'a1'}, {'input': 'q2', 'output': 'a2'}]


def test_segments_layout_multi_turn():
    assert render_conversation(CONV, TOY, system='sys', eos_token='<E>') == [
        ('<B>S(sys)U(q1)', False), ('a1<E>', True), ('|U(q2)', False), ('a2<E>', True),
        ('|', False)]


def test_system_only_when_given_and_first_turn_wins():
    assert render_conversation(CONV[:1], TOY)[0] == ('<B>U(q1)', False)
    conv = [{'input': 'q', 'output': 'a', 'system': 'mine'}]
    assert render_conversation(conv, TOY, system='default')[0] == ('<B>S(mine)U(q)', False)


def test_inline_system_goes_into_first_instruction_only():
    tpl = PromptTemplate(name='inline', system='<<{system}>>', instruction='[{system}{input}]')
    assert render_conversation(CONV, tpl, system='s') == [
        ('[<<s>>q1]', False), ('a1', True), ('[q2]', False), ('a2', True)]


def test_user_text_is_not_rescanned_for_placeholders():
    conv = [{'input': '{eos} {system}', 'output': '{input}'}]
    assert render_conversation(conv, TOY, eos_token='<E>') == [
        ('<B>U({eos} {system})', False), ('{input}<E>', True), ('|', False)]
    assert fill('a{x}b{y}', x='{y}', y='Y') == 'a{y}bY'


def test_render_prompt_is_history_plus_open_turn():
    history = CONV + [{'input': 'q3'}]
    full = ''.join(text for text, _ in render_conversation(CONV, TOY, 'sys', '<E>'))
    assert render_prompt(history, TOY, system='sys', eos_token='<E>') == full + 'U(q3)'
    assert render_prompt([{'input': 'q', 'output': 'ignored'}], TOY) == '<B>U(q)'


def test_pretraining_without_template():
    conv = [{'output': 'Some text.'}]
    assert render_conversation(conv, None, eos_token='<E>') == [('Some text.<E>', True)]


def test_frozen_and_stop_words_tuple():
    tpl = PromptTemplate(name='t', instruction='{input}', stop_words=['x'])
    assert tpl.stop_words == ('x',)
    with pytest.raises(dataclasses.FrozenInstanceError):
        tpl.suffix = 'y'


@pytest.mark.parametrize('kwargs, message', [
    (dict(instruction='no input'), "no '{input}'"),
    (dict(instruction='{inptu}'), '{inptu}'),
    (dict(instruction='{input}', system='no placeholder'), "system has no '{system}'"),
    (dict(instruction='{system}{input}'), 'system field is empty'),
    (dict(instruction='{input}', suffix='{input}'), 'suffix holds {input}'),
])
def test_bad_templates_raise(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace('{', r'\{').replace('}', r'\}')):
        PromptTemplate(name='bad', **kwargs)


def test_system_given_to_template_without_system_part():
    tpl = PromptTemplate(name='nosys', instruction='{input}')
    with pytest.raises(ConfigError, match='no system part'):
        render_conversation(CONV, tpl, system='s')


@pytest.mark.parametrize('conversation, message', [
    ([], 'non-empty list'),
    ({'input': 'q', 'output': 'a'}, 'non-empty list'),
    ([{'input': 'q'}], "'output' must be a string"),
    ([{'input': 'q', 'output': None}], 'NoneType'),
    (['q'], 'turn 0 is str'),
])
def test_bad_conversations_raise(conversation, message):
    with pytest.raises(DatasetFormatError, match=message):
        render_conversation(conversation, TOY)


def test_default_system_and_system_always():
    tpl = dataclasses.replace(TOY, default_system='dflt')
    assert render_conversation(CONV[:1], tpl)[0] == ('<B>S(dflt)U(q1)', False)
    assert render_conversation(CONV[:1], tpl, system='mine')[0] == ('<B>S(mine)U(q1)', False)
    always = dataclasses.replace(TOY, system='S[{system}]', system_always=True)
    assert render_conversation(CONV[:1], always)[0] == ('<B>S[]U(q1)', False)


def test_system_last_goes_into_the_last_instruction():
    tpl = PromptTemplate(name='m', system='<<{system}>>', instruction='[{system}{input}]',
                         system_last=True)
    assert render_conversation(CONV, tpl, system='s') == [
        ('[q1]', False), ('a1', True), ('[<<s>>q2]', False), ('a2', True)]
    assert render_prompt(CONV + [{'input': 'q3'}], tpl, system='s').endswith('[<<s>>q3]')


def test_reply_prefix_and_trim_are_trained_reply_text():
    tpl = PromptTemplate(name='r', instruction='[{input}]', reply_prefix=' ', suffix='</s>',
                         trim='all')
    conv = [{'input': ' q ', 'output': ' a \n'}]
    assert render_conversation(conv, tpl) == [('[q]', False), (' a</s>', True)]
    assert render_prompt(conv, tpl) == '[q]'


@pytest.mark.parametrize('thinking, final, earlier', [
    ('reply', 'A<think>\nr2\n</think>\n\na2', 'a1'),
    ('prompt', 'A<think>\nr2\n</think>\n\na2', 'a1'),
])
def test_thinking_final_turn_trains_reasoning_earlier_turns_drop_it(thinking, final, earlier):
    tpl = PromptTemplate(name='t', instruction='U{input}A', thinking=thinking)
    conv = [{'input': 'q1', 'output': 'a1', 'thinking': 'r1'},
            {'input': 'q2', 'output': '<think>\nr2\n</think>\n\na2'}]
    segments = render_conversation(conv, tpl)
    text = ''.join(t for t, _ in segments)
    assert text == 'Uq1A' + earlier + 'Uq2' + final
    trained = [t for t, flag in segments if flag]
    assert 'r2\n</think>' in trained[1] and trained[0] == earlier
    kept = render_conversation(conv, dataclasses.replace(tpl, keep_thinking=True))
    assert [t for t, f in kept if f][0] == '<think>\nr1\n</think>\n\na1'


def test_reasoning_on_a_template_without_thinking_is_an_error():
    with pytest.raises(DatasetFormatError, match='no thinking format'):
        render_conversation([{'input': 'q', 'output': 'a', 'thinking': 'r'}], TOY)


def test_tool_turns_after_the_last_query_keep_reasoning():
    tpl = PromptTemplate(name='t', instruction='U{input}A', thinking='reply')
    conv = [{'input': 'q', 'output': '<tool_call>x</tool_call>', 'thinking': 'r1'},
            {'input': '<tool_response>\n1\n</tool_response>', 'output': 'a', 'thinking': 'r2'}]
    trained = [t for t, f in render_conversation(conv, tpl) if f]
    assert trained == ['<think>\nr1\n</think>\n\n<tool_call>x</tool_call>',
                       '<think>\nr2\n</think>\n\na']


def test_enable_thinking_false_closes_an_empty_think_block():
    tpl = PromptTemplate(name='t', instruction='U{input}A', thinking='reply')
    assert render_prompt([{'input': 'q'}], tpl, enable_thinking=False) == (
        'UqA<think>\n\n</think>\n\n')
