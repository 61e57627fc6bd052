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
    (dict(instruction='{input}', tool_style='qwen'), "tool_style='qwen'"),
    (dict(instruction='{input}{tool_env}'), 'instruction holds {tool_env}'),
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


# A question, a reply of calls, their results and the answer, as the map_fns give them.
TOOL_TURNS = [{'tools': [{'type': 'function', 'function': {'name': 'f'}}], 'input': ' Q ',
               'output': '',
               'tool_calls': [{'name': 'f', 'arguments': {'x': 1}, 'id': 'abc123XYZ'}]},
              {'input': '', 'tool_results': [{'content': 'R', 'call_id': 'abc123XYZ'}],
               'output': 'A'}]
STYLED = PromptTemplate(name='styled', prefix='<s>', system='<sys>{tool_env}{system}</sys>',
                        instruction='<u>{input}</u><a>', reply_prefix=' ', suffix='</a>')


def test_tool_style_places_tools_and_writes_calls_and_results():
    def text(style, turns=TOOL_TURNS):
        template = dataclasses.replace(STYLED, tool_style=style)
        return ''.join(t for t, _ in render_conversation(turns, template))
    hermes = text('hermes')
    assert hermes.startswith('<s><sys># Tools') and '<u> Q </u><a> <tool_call>\n' in hermes
    assert '<u><tool_response>\nR\n</tool_response></u><a> A</a>' in hermes
    llama = text('llama3_1')   # tools open the first user text; the env line fills {tool_env}
    assert llama.startswith('<s><sys>Environment: ipython\n</sys><u>Given the following')
    assert llama.endswith(' Q </u><a>{"name": "f", "parameters": {"x": 1}}</a>'
                          '<|start_header_id|>ipython<|end_header_id|>\n\n"R"<|eot_id|>'
                          '<|start_header_id|>assistant<|end_header_id|>\n\n A</a>')
    assert text('mistral') == (
        '<s>[AVAILABLE_TOOLS] [{"type": "function", "function": {"name": "f"}}][/AVAILABLE_TOOLS]'
        '<u> Q </u><a>[TOOL_CALLS] [{"name": "f", "arguments": {"x": 1}, "id": "abc123XYZ"}]</a>'
        '[TOOL_RESULTS] {"content": R, "call_id": "abc123XYZ"}[/TOOL_RESULTS] A</a>')
    assert '{tool_env}' not in text('hermes', [{'input': 'q', 'output': 'a'}])


@pytest.mark.parametrize('style', ['llama3_1', 'mistral'])
def test_text_beside_a_call_is_an_error_where_the_official_format_has_no_place_for_it(style):
    turns = [dict(TOOL_TURNS[0], output='Let me check.'), TOOL_TURNS[1]]
    with pytest.raises(DatasetFormatError, match='conversation turn 0: .* cannot have text'):
        render_conversation(turns, dataclasses.replace(STYLED, tool_style=style))
    assert render_conversation(turns, STYLED)  # Hermes writes the text, then the calls


def test_llama_makes_one_call_per_message():
    two = dict(TOOL_TURNS[0], tool_calls=TOOL_TURNS[0]['tool_calls'] * 2)
    with pytest.raises(DatasetFormatError, match='turn 0: Llama-3.1 makes one tool call per '
                                                 'assistant message, this one makes 2; split'):
        render_conversation([two, TOOL_TURNS[1]], dataclasses.replace(STYLED,
                                                                      tool_style='llama3_1'))


def test_mistral_maps_other_call_ids_to_nine_characters_and_needs_one():
    def calls_and_results(call_id):
        first = dict(TOOL_TURNS[0], tool_calls=[dict(TOOL_TURNS[0]['tool_calls'][0],
                                                     id=call_id)])
        second = dict(TOOL_TURNS[1], tool_results=[{'content': 'R', 'call_id': call_id}])
        template = dataclasses.replace(STYLED, tool_style='mistral')
        return ''.join(t for t, _ in render_conversation([first, second], template))
    text = calls_and_results('call_0123456789abcdef')
    ids = [part.split('"')[0] for part in text.split('id": "')[1:]]
    assert len(ids) == 2 and ids[0] == ids[1] and len(ids[0]) == 9 and ids[0].isalnum()
    with pytest.raises(DatasetFormatError, match='turn 0: Mistral tool calls and results need'):
        calls_and_results(None)


def test_a_turn_marked_not_trained_is_context():
    """``'trained': False`` (a loss_weight of 0 in the data) renders the reply untrained."""
    conv = [{'input': 'q1', 'output': 'a1', 'trained': False}, {'input': 'q2', 'output': 'a2'}]
    segments = render_conversation(conv, TOY, eos_token='<E>')
    assert segments == [('<B>U(q1)a1<E>|U(q2)', False), ('a2<E>', True), ('|', False)]
    plain = render_conversation([{'input': 'x', 'output': 'y', 'trained': False},
                                 {'input': '', 'output': 'z'}], None, eos_token='<E>')
    assert plain == [('xy<E>', False), ('z<E>', True)]
    with pytest.raises(DatasetFormatError, match="'trained' must be true or false"):
        render_conversation([{'input': 'q', 'output': 'a', 'trained': 0}], TOY)
