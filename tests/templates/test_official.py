"""Each shipped family template renders its family's official chat template, character for
character (official templates and what each is compared on: tests/official_templates.py):
default system texts, no system, multi-turn, text with outer whitespace, tools and thinking
where the family has them."""
from __future__ import annotations

import pytest
from official_templates import OFFICIAL

from xtuner_like.dataset.map_fns.openai import openai_map_fn
from xtuner_like.templates import get_template, render_conversation, render_prompt

TOOLS = [{'type': 'function', 'function': {
    'name': 'get_weather', 'description': 'Weather of a city',
    'parameters': {'type': 'object', 'properties': {'city': {'type': 'string'}}}}}]
U1, A1 = {'role': 'user', 'content': 'Hi there'}, {'role': 'assistant', 'content': 'Hello!'}
U2, A2 = {'role': 'user', 'content': 'What is 2+2?'}, {'role': 'assistant', 'content': '4.'}
SYSTEM = {'role': 'system', 'content': 'You are terse.'}
# Text with outer whitespace: which messages a family strips.
PADDED = [{'role': 'user', 'content': ' Hi there \n'},
          {'role': 'assistant', 'content': ' Hello! \n'},
          {'role': 'user', 'content': '\nWhat? '}, {'role': 'assistant', 'content': '4. '}]
CONVERSATIONS = {
    'single': [U1, A1],
    'multi': [U1, A1, U2, A2],
    'system_single': [SYSTEM, U1, A1],
    'system_multi': [SYSTEM, U1, A1, U2, A2],
    'padded_multi': PADDED,
    'system_padded_multi': [{'role': 'system', 'content': ' Be terse. \n'}, *PADDED],
}
TOOL_CONVERSATIONS = {
    'tools': [U1, A1, {'role': 'user', 'content': 'Weather in Paris and Rome?'},
              {'role': 'assistant', 'content': None, 'tool_calls': [
                  {'type': 'function', 'function': {'name': 'get_weather',
                                                    'arguments': {'city': 'Paris'}}},
                  {'type': 'function', 'function': {'name': 'get_weather',
                                                    'arguments': {'city': 'Rome'}}}]},
              {'role': 'tool', 'content': '21 C'}, {'role': 'tool', 'content': '25 C'},
              {'role': 'assistant', 'content': 'Paris 21 C, Rome 25 C.'}],
    'tools_system': [SYSTEM, {'role': 'user', 'content': 'Weather in Paris?'},
                     {'role': 'assistant', 'content': 'Let me check.', 'tool_calls': [
                         {'type': 'function', 'function': {'name': 'get_weather',
                                                           'arguments': {'city': 'Paris'}}}]},
                     {'role': 'tool', 'content': '21 C'},
                     {'role': 'assistant', 'content': 'It is 21 C.'}],
}
THINKING_CONVERSATIONS = {
    'reasoning_field': [U1, {'role': 'assistant', 'content': 'Hello!', 'reasoning_content':
                             'A greeting.'}, U2,
                        {'role': 'assistant', 'content': '4.', 'reasoning_content': '2+2=4'}],
    'think_in_content': [SYSTEM, U1, {'role': 'assistant', 'content':
                                      '<think>\nA greeting.\n</think>\n\nHello!'}, U2,
                         {'role': 'assistant', 'content': '<think>\n2+2=4\n</think>\n\n4.'}],
    'no_reasoning': [U1, A1, U2, A2],
}


def official(name: str, messages: list[dict], tools=None, **kwargs) -> str:
    from transformers.utils.chat_template_utils import render_jinja_template
    template, bos, eos, compared = OFFICIAL[name]
    head = bos if 'add-bos' in compared else ''  # the bos its tokenizer adds
    if callable(template):
        return head + template(messages, **kwargs)
    rendered, _ = render_jinja_template(conversations=[messages], tools=tools,
                                        chat_template=template, bos_token=bos, eos_token=eos,
                                        **kwargs)
    return head + rendered[0]


def ours(name: str, messages: list[dict], tools=None, prompt: bool = False) -> str:
    template, eos = get_template(name), OFFICIAL[name][2]
    row = {'messages': messages + ([{'role': 'assistant', 'content': '.'}] if prompt else []),
           **({'tools': tools} if tools else {})}
    conversation = openai_map_fn(row)['conversation']
    if prompt:
        last = conversation[-1]
        conversation[-1] = {k: v for k, v in last.items() if k not in ('output', 'thinking')}
        return render_prompt(conversation, template, eos_token=eos)
    return ''.join(text for text, _ in render_conversation(conversation, template,
                                                           eos_token=eos))


def cases():
    for name, (_, _, _, compared) in OFFICIAL.items():
        convs = dict(CONVERSATIONS)
        if 'tools' in compared:
            convs.update(TOOL_CONVERSATIONS)
        if compared & {'thinking', 'thinking-prompt'}:
            convs.update(THINKING_CONVERSATIONS)
        for conv_name, messages in convs.items():
            system = messages[0]['role'] == 'system'
            if system and 'no-system' in compared or (
                    conv_name == 'system_padded_multi' and 'no-padded-system' in compared):
                continue
            thinking = conv_name in THINKING_CONVERSATIONS
            full = ('full' in compared or ('full-no-system' in compared and not system)) and (
                not thinking or 'thinking' in compared)
            prompt = ('prompt' in compared or ('prompt-no-system' in compared and not system)
                      or ('prompt-first' in compared and conv_name.endswith('single')))
            if full:
                yield pytest.param(name, conv_name, False, id=f'{name}-{conv_name}')
            if prompt:
                yield pytest.param(name, conv_name, True, id=f'{name}-{conv_name}-prompt')


@pytest.mark.parametrize('name, conv_name, prompt', list(cases()))
def test_matches_the_official_template(name, conv_name, prompt):
    messages = {**CONVERSATIONS, **TOOL_CONVERSATIONS, **THINKING_CONVERSATIONS}[conv_name]
    tools = TOOLS if conv_name.startswith('tools') else None
    if prompt:  # the history up to the last user turn, and the generation prompt
        messages = messages[:max(i for i, m in enumerate(messages) if m['role'] == 'user') + 1]
        expected = official(name, messages, tools, add_generation_prompt=True)
    else:
        expected = official(name, messages, tools)
    assert ours(name, messages, tools, prompt) == expected


def test_every_official_family_is_compared_on_both_kinds_of_text():
    compared = {name for name, *_ in (p.values for p in cases())}
    assert compared == set(OFFICIAL) and len(compared) >= 14


def test_every_family_template_has_an_official_reference():
    """Every shipped template is compared, except those with no family format to follow:
    'default' (Alpaca-style text for any tokenizer) and 'moss_sft' (MOSS-003's markers are in
    its data, see the moss_sft map_fn; MOSS ships no chat template)."""
    from xtuner_like.templates import TEMPLATES
    assert set(TEMPLATES) - set(OFFICIAL) == {'default', 'moss_sft'}


def test_mistral_system_goes_to_the_last_user_turn_as_the_official_prompt_does():
    messages = [SYSTEM, U1, A1, U2]
    text = ours('mistral', messages, prompt=True)
    assert text == official('mistral', messages, add_generation_prompt=True)
    assert text.endswith('[INST] You are terse.\n\nWhat is 2+2?[/INST]')


def test_qwen3_without_thinking_prompt():
    template = get_template('qwen3_chat')
    assert render_prompt([{'input': 'Hi there'}], template, enable_thinking=False) == official(
        'qwen3_chat', [U1], add_generation_prompt=True, enable_thinking=False)


# Llama-3.1's and Mistral v0.3's own tool formats (the 'llama3_1' and 'mistral' tool styles):
# one tool call with an id (Mistral requires 9 characters), its result, and the answer.
ID_CALL = [{'role': 'user', 'content': 'Weather in Paris?'},
           {'role': 'assistant', 'content': None, 'tool_calls': [
               {'id': 'call00001', 'type': 'function',
                'function': {'name': 'get_weather', 'arguments': {'city': 'Paris'}}}]},
           {'role': 'tool', 'tool_call_id': 'call00001', 'content': '21 C'},
           {'role': 'assistant', 'content': 'It is 21 C.'}]


@pytest.mark.parametrize('name', ['llama3_1_chat', 'mistral'])
def test_tool_turns_follow_the_official_tool_format(name):
    assert ours(name, ID_CALL, TOOLS) == official(name, ID_CALL, TOOLS)


def _call(call_id, city):
    return {'id': call_id, 'type': 'function',
            'function': {'name': 'get_weather', 'arguments': {'city': city}}}


# Mistral v0.3 only: two calls in one reply, each result naming its call (given in the other
# order), then a second question: the tools move to the last user turn.
TWO_CALLS = [{'role': 'user', 'content': 'Paris and Rome?'},
             {'role': 'assistant', 'content': None,
              'tool_calls': [_call('call00001', 'Paris'), _call('call00002', 'Rome')]},
             {'role': 'tool', 'tool_call_id': 'call00002', 'content': '25 C'},
             {'role': 'tool', 'tool_call_id': 'call00001', 'content': '21 C'},
             {'role': 'assistant', 'content': 'Paris 21 C, Rome 25 C.'}, U2, A2]
# Both: a system text, the call, its result, a second question answered with a call.
SECOND_CALL = [SYSTEM, *ID_CALL, {'role': 'user', 'content': 'And Rome?'},
               {'role': 'assistant', 'content': None, 'tool_calls': [_call('call00002', 'Rome')]},
               {'role': 'tool', 'tool_call_id': 'call00002', 'content': '25 C'},
               {'role': 'assistant', 'content': 'It is 25 C.'}]


@pytest.mark.parametrize('name, messages', [
    ('llama3_1_chat', SECOND_CALL), ('mistral', TWO_CALLS), ('mistral', SECOND_CALL[1:])])
def test_tool_conversations_follow_the_official_tool_format(name, messages):
    assert ours(name, messages, TOOLS) == official(name, messages, TOOLS)


@pytest.mark.parametrize('name', ['llama3_1_chat', 'mistral'])
@pytest.mark.parametrize('cut', [1, 3])
def test_tool_prompts_follow_the_official_tool_format(name, cut):
    """The generation prompt after the user's question and after the tool's result."""
    messages = ID_CALL[:cut]
    assert ours(name, messages, TOOLS, prompt=True) == official(
        name, messages, TOOLS, add_generation_prompt=True)
