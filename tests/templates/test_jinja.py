"""Tests for xtuner_like/templates/jinja.py: HF apply_chat_template == our rendering."""
from __future__ import annotations

import pytest

from xtuner_like.errors import ConfigError
from xtuner_like.templates import (TEMPLATES, PromptTemplate, get_template, render_conversation,
                                   render_prompt, to_chat_template)

TURNS = [{'input': 'Hi', 'output': 'Hello!'}, {'input': 'Q2', 'output': 'A2'},
         {'input': 'Q3', 'output': 'A3'}]


def messages_of(turns, system=None, open_last=False):
    messages = [{'role': 'system', 'content': system}] if system else []
    for i, turn in enumerate(turns):
        messages.append({'role': 'user', 'content': turn['input']})
        if not (open_last and i == len(turns) - 1):
            messages.append({'role': 'assistant', 'content': turn['output']})
    return messages


def apply(tokenizer, template, messages, default_system=None, **kwargs):
    return tokenizer.apply_chat_template(
        messages, chat_template=to_chat_template(template, default_system), tokenize=False,
        **kwargs)


def joined(segments):
    return ''.join(text for text, _ in segments)


@pytest.mark.parametrize('name', list(TEMPLATES))
@pytest.mark.parametrize('num_turns', [1, 3])
@pytest.mark.parametrize('system', [None, 'Be brief.'])
def test_training_text_matches(tiny_tokenizer, name, num_turns, system):
    template, turns = get_template(name), TURNS[:num_turns]
    expected = joined(render_conversation(turns, template, system, tiny_tokenizer.eos_token))
    assert apply(tiny_tokenizer, template, messages_of(turns, system)) == expected


@pytest.mark.parametrize('name', list(TEMPLATES))
@pytest.mark.parametrize('num_turns', [1, 3])
@pytest.mark.parametrize('system', [None, 'Be brief.'])
def test_generation_prompt_matches(tiny_tokenizer, name, num_turns, system):
    template, turns = get_template(name), TURNS[:num_turns]
    expected = render_prompt(turns, template, system, tiny_tokenizer.eos_token)
    got = apply(tiny_tokenizer, template, messages_of(turns, system, open_last=True),
                add_generation_prompt=True)
    assert got == expected


@pytest.mark.parametrize('name', list(TEMPLATES))
def test_default_system_and_override(tiny_tokenizer, name):
    template, eos = get_template(name), tiny_tokenizer.eos_token
    expected = joined(render_conversation(TURNS[:2], template, 'Default.', eos))
    assert apply(tiny_tokenizer, template, messages_of(TURNS[:2]), 'Default.') == expected
    expected = joined(render_conversation(TURNS[:2], template, 'Mine.', eos))
    assert apply(tiny_tokenizer, template, messages_of(TURNS[:2], 'Mine.'), 'Default.') == expected


def test_awkward_literals_survive(tiny_tokenizer):
    odd = 'quote " apostrophe \' backslash \\ {{ }} {% %} tab\t newline\n emoji 😀 ünï'
    template = PromptTemplate(name='odd', prefix=odd, system='{system}' + odd,
                              instruction=odd + '{input}' + odd, suffix=odd + '{eos}',
                              separator=odd)
    turns = [dict(t, input=t['input'] + odd, output=t['output'] + odd) for t in TURNS]
    expected = joined(render_conversation(turns, template, odd, tiny_tokenizer.eos_token))
    assert apply(tiny_tokenizer, template, messages_of(turns), default_system=odd) == expected


def test_saved_tokenizer_keeps_the_template(tiny_tokenizer, tmp_path):
    from transformers import AutoTokenizer
    template = get_template('chatml')
    tiny_tokenizer.save_pretrained(tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    tokenizer.chat_template = to_chat_template(template)
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    messages = messages_of(TURNS, 'Be brief.')
    expected = joined(render_conversation(TURNS, template, 'Be brief.', reloaded.eos_token))
    assert reloaded.apply_chat_template(messages, tokenize=False) == expected


def test_system_on_template_without_system_part(tiny_tokenizer):
    template = PromptTemplate(name='nosys', instruction='{input}')
    with pytest.raises(ConfigError, match='no system part'):
        to_chat_template(template, default_system='x')
    with pytest.raises(Exception, match='no system part'):
        apply(tiny_tokenizer, template, messages_of(TURNS, 'sys'))
    assert apply(tiny_tokenizer, template, messages_of(TURNS[:1])) == 'HiHello!'


TOOLS = [{'type': 'function', 'function': {'name': 'weather', 'parameters': {'type': 'object'}}}]
TOOL_MESSAGES = [
    {'role': 'user', 'content': 'Paris?'},
    {'role': 'assistant', 'content': 'Checking.', 'tool_calls': [
        {'type': 'function', 'function': {'name': 'weather', 'arguments': {'city': 'Paris'}}},
        {'type': 'function', 'function': {'name': 'weather', 'arguments': '{"city": "Nice"}'}}]},
    {'role': 'tool', 'content': '21 C'}, {'role': 'tool', 'content': {'t': 25}},
    {'role': 'assistant', 'content': 'Paris 21 C, Nice 25 C.'},
    {'role': 'user', 'content': [{'type': 'text', 'text': 'And'}, {'type': 'text', 'text': 'Rome?'}]},
    {'role': 'assistant', 'content': None, 'tool_calls': [
        {'type': 'function', 'function': {'name': 'weather', 'arguments': {'city': 'Rome'}}}]},
    {'role': 'tool', 'content': '30 C'}, {'role': 'assistant', 'content': 'Rome 30 C.'}]

# Llama-3.1 and Mistral v0.3 (tool styles with bare calls): one call per message, no text beside
# it, 9-character ids (Mistral's rule; data ids of other shapes are mapped in training only).
BARE_TOOL_MESSAGES = [
    {'role': 'user', 'content': 'Paris?'},
    {'role': 'assistant', 'content': None, 'tool_calls': [{'id': 'call00001', 'type': 'function',
        'function': {'name': 'weather', 'arguments': {'city': 'Paris'}}}]},
    {'role': 'tool', 'tool_call_id': 'call00001', 'content': '21 C'},
    {'role': 'assistant', 'content': 'Paris 21 C.'},
    {'role': 'user', 'content': [{'type': 'text', 'text': 'And'},
                                 {'type': 'text', 'text': 'Rome?'}]},
    {'role': 'assistant', 'content': '', 'tool_calls': [{'id': 'call00002', 'type': 'function',
        'function': {'name': 'weather', 'arguments': '{"city": "Rome"}'}}]},
    {'role': 'tool', 'tool_call_id': 'call00002', 'content': {'t': 30}},
    {'role': 'assistant', 'content': 'Rome 30 C.'}]


def trained_text(tokenizer, template, messages, tools=None, system=None):
    from xtuner_like.dataset.map_fns.openai import openai_map_fn
    row = {'messages': messages, **({'tools': tools} if tools else {})}
    return joined(render_conversation(openai_map_fn(row)['conversation'], template, system,
                                      tokenizer.eos_token))


@pytest.mark.parametrize('name', list(TEMPLATES))
@pytest.mark.parametrize('system', [None, 'Be brief.'])
def test_tool_messages_and_tools_are_served_as_trained(tiny_tokenizer, name, system):
    """Every template's exported chat_template renders `tool` messages, tool calls and
    `tools=` exactly as training renders the same openai row."""
    template = get_template(name)
    tool_messages = TOOL_MESSAGES if template.tool_style == 'hermes' else BARE_TOOL_MESSAGES
    messages = ([{'role': 'system', 'content': system}] if system else []) + tool_messages
    expected = trained_text(tiny_tokenizer, template, messages, TOOLS)
    assert apply(tiny_tokenizer, template, messages, tools=TOOLS) == expected
    if template.tool_style == 'hermes':
        assert '<tool_response>\n21 C\n</tool_response>\n<tool_response>\n{"t": 25}' in expected
    else:
        assert '<tool_response>' not in expected
        assert ('call00002' in expected) == (template.tool_style == 'mistral')
    if template.system_last:  # Mistral v0.3: the system text moves to the last user turn
        return
    # generation prompts after each user turn and each group of tool results
    for cut in [k + 1 for k, m in enumerate(tool_messages[:-1])
                if m['role'] != 'assistant' and tool_messages[k + 1]['role'] == 'assistant']:
        history = messages[:len(messages) - len(tool_messages) + cut]
        prompt = apply(tiny_tokenizer, template, history, tools=TOOLS,
                       add_generation_prompt=True)
        assert expected.startswith(prompt.removesuffix('<think>\n'))


@pytest.mark.parametrize('name', [n for n in TEMPLATES if get_template(n).thinking])
def test_reasoning_is_served_as_trained(tiny_tokenizer, name):
    template = get_template(name)
    for messages in (
            [{'role': 'user', 'content': 'Q1'},
             {'role': 'assistant', 'content': 'A1', 'reasoning_content': 'r1'},
             {'role': 'user', 'content': 'Q2'},
             {'role': 'assistant', 'content': '<think>\nr2\n</think>\n\nA2'}],
            [{'role': 'user', 'content': 'Q'}, {'role': 'assistant', 'content': 'A'}],
            TOOL_MESSAGES):
        expected = trained_text(tiny_tokenizer, template, messages)
        assert apply(tiny_tokenizer, template, messages) == expected
        assert '</think>' in expected


def test_unanswered_turns_are_an_error(tiny_tokenizer):
    template = get_template('chatml')
    with pytest.raises(Exception, match='follows an unanswered turn'):
        apply(tiny_tokenizer, template, [{'role': 'user', 'content': 'a'},
                                         {'role': 'user', 'content': 'b'}])
    with pytest.raises(Exception, match='answers no user or tool turn'):
        apply(tiny_tokenizer, template, [{'role': 'assistant', 'content': 'a'}])


def test_round_numbers_turns_and_placeholders_in_text_stay_text(tiny_tokenizer):
    """'{round}' counts turns from 1 (ChatGLM2) in the exported template as in training;
    placeholders a user or system text holds are text, never filled."""
    template = PromptTemplate(name='rounds', system='{system}\n',
                              instruction='[Round {round}] {input} {system}=>', suffix='{eos}')
    turns = [{'input': 'a {round}', 'output': 'x {eos}'}, {'input': 'b {system}', 'output': 'y'},
             {'input': 'c', 'output': 'z'}]
    eos = tiny_tokenizer.eos_token
    expected = (f'[Round 1] a {{round}} S {{round}}\n=>x {{eos}}{eos}'
                f'[Round 2] b {{system}} =>y{eos}[Round 3] c =>z{eos}')
    assert joined(render_conversation(turns, template, 'S {round}', eos)) == expected
    assert apply(tiny_tokenizer, template, messages_of(turns, 'S {round}')) == expected
    prompt = render_prompt(turns, template, 'S {round}', eos)
    assert prompt.endswith('[Round 3] c =>') and apply(
        tiny_tokenizer, template, messages_of(turns, 'S {round}', open_last=True),
        add_generation_prompt=True) == prompt


@pytest.mark.parametrize('style', ['hermes', 'llama3_1', 'mistral'])
def test_every_tool_style_is_served_as_trained_on_any_template(tiny_tokenizer, style):
    """A tool style is the template's choice: a custom template with '{tool_env}' and no
    system text still writes the style's environment line when tools are given."""
    template = PromptTemplate(name='styled', prefix='<s>', system='<sys>{tool_env}{system}</sys>',
                              instruction='<u>{input}</u><a>', reply_prefix=' ', suffix='</a>',
                              tool_style=style)
    messages = TOOL_MESSAGES if style == 'hermes' else BARE_TOOL_MESSAGES
    expected = trained_text(tiny_tokenizer, template, messages, TOOLS)
    assert apply(tiny_tokenizer, template, messages, tools=TOOLS) == expected
    assert expected.startswith('<s><sys>Environment: ipython\n</sys>') == (style == 'llama3_1')


@pytest.mark.parametrize('name, change, message', [
    ('llama3_1_chat', {'content': 'Checking.'}, 'cannot have text beside them'),
    ('mistral', {'content': 'Checking.'}, 'cannot have text beside them'),
    ('llama3_1_chat', {'tool_calls': BARE_TOOL_MESSAGES[1]['tool_calls'] * 2},
     'one tool call per assistant message'),
    ('mistral', {'tool_calls': [{'id': 'call_1', 'function': {'name': 'f', 'arguments': {}}}]},
     'need a 9-character id'),
])
def test_served_tool_messages_the_official_format_cannot_write_are_errors(
        tiny_tokenizer, name, change, message):
    messages = [*BARE_TOOL_MESSAGES[:1], {**BARE_TOOL_MESSAGES[1], **change}]
    with pytest.raises(Exception, match=message):
        apply(tiny_tokenizer, get_template(name), messages, tools=TOOLS)
