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
        ('<B>S(sys)U(q1)', False), ('a1<E>', True), ('|U(q2)', False), ('a2<E>', True)]


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
        ('<B>U({eos} {system})', False), ('{input}<E>', True)]
    assert fill('a{x}b{y}', x='{y}', y='Y') == 'a{y}bY'


def test_render_prompt_is_history_plus_open_turn():
    history = CONV + [{'input': 'q3'}]
    full = ''.join(text for text, _ in render_conversation(CONV, TOY, 'sys', '<E>'))
    assert render_prompt(history, TOY, system='sys', eos_token='<E>') == full + '|U(q3)'
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
