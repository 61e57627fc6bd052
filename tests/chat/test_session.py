"""Tests for xtuner_like/chat/session.py: history, RESET and prompt building."""
from __future__ import annotations

import pytest

from xtuner_like.chat import session as session_module
from xtuner_like.chat.session import ChatSession
from xtuner_like.errors import ConfigError
from xtuner_like.templates import get_template, render_prompt
from xtuner_like.templates.chat_format import ChatFormat


@pytest.fixture
def replies(monkeypatch):
    prompts = []

    def fake_generate(model, tokenizer, prompt, stops, **kwargs):
        prompts.append(prompt)
        return f'answer {len(prompts)}'
    monkeypatch.setattr(session_module, 'generate_reply', fake_generate)
    return prompts


def test_history_is_in_the_next_prompt_and_reset_clears_it(replies, tiny_tokenizer):
    template = get_template('chatml')
    chat = ChatSession(model=None, tokenizer=tiny_tokenizer,
                       chat_format=ChatFormat.build(template, 'Sys.'))
    assert chat.ask('Q1') == 'answer 1'
    chat.ask('Q2')
    eos = tiny_tokenizer.eos_token
    assert replies[1] == render_prompt([{'input': 'Q1', 'output': 'answer 1'},
                                        {'input': 'Q2'}], template, 'Sys.', eos)
    chat.reset()
    chat.ask('Q3')
    assert replies[2] == render_prompt([{'input': 'Q3'}], template, 'Sys.', eos)


def test_the_tokenizer_chat_template_is_used_without_a_template(replies, tiny_tokenizer):
    import copy

    from xtuner_like.templates import to_chat_template
    tokenizer = copy.deepcopy(tiny_tokenizer)
    tokenizer.chat_template = to_chat_template(get_template('chatml'))
    chat = ChatSession(model=None, tokenizer=tokenizer)
    chat.ask('Q1')
    chat.ask('Q2')
    assert replies[1] == render_prompt([{'input': 'Q1', 'output': 'answer 1'},
                                        {'input': 'Q2'}], get_template('chatml'), None,
                                       tokenizer.eos_token)


def test_no_template_anywhere_is_an_error(tiny_tokenizer):
    with pytest.raises(ConfigError, match='--prompt-template'):
        ChatSession(model=None, tokenizer=tiny_tokenizer)


def test_stops_hold_template_words_eos_and_extra(tiny_tokenizer):
    chat = ChatSession(model=None, tokenizer=tiny_tokenizer,
                       chat_format=ChatFormat.build('chatml', extra_stop_words=['###']))
    assert tiny_tokenizer.eos_token in chat.stops and '###' in chat.stops
    assert set(get_template('chatml').stop_words) <= set(chat.stops)


def test_tools_and_tool_results_are_rendered_as_in_training(replies, tiny_tokenizer):
    from xtuner_like.model.export import chat_tokenizer
    tools = [{'type': 'function', 'function': {'name': 'get_weather', 'parameters': {}}}]
    template = get_template('qwen2_5_chat')
    chat = ChatSession(model=None, tokenizer=tiny_tokenizer,
                       chat_format=ChatFormat.build(template), tools=tools)
    chat.ask('Weather in Paris?')
    chat.ask('21 C', tool_result=True)
    eos = tiny_tokenizer.eos_token
    expected = render_prompt([{'input': 'Weather in Paris?', 'output': 'answer 1', 'tools': tools},
                              {'input': '<tool_response>\n21 C\n</tool_response>'}],
                             template, None, eos)
    assert replies[1] == expected and '# Tools' in expected
    # without our template: the tokenizer's chat_template, tools= and a tool message
    served = chat_tokenizer(tiny_tokenizer, ChatFormat.build('qwen2_5_chat'))
    chat = ChatSession(model=None, tokenizer=served, tools=tools)
    chat.ask('Weather in Paris?')
    chat.ask('21 C', tool_result=True)
    assert replies[3] == expected.replace('answer 1', 'answer 3')


CALL = {'name': 'get_weather', 'arguments': {'city': 'Paris'}, 'id': 'call00001'}
# what a model trained in each style answers when it calls the tool
CALL_REPLIES = {
    'qwen2_5_chat': '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n'
                    '</tool_call>',
    'llama3_1_chat': '{"name": "get_weather", "parameters": {"city": "Paris"}}',
    'mistral': '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}, '
               '"id": "call00001"}]',
}


@pytest.mark.parametrize('name', list(CALL_REPLIES))
def test_a_tool_result_answers_the_call_in_the_templates_tool_style(name, monkeypatch,
                                                                    tiny_tokenizer):
    """The prompt after a call and its result is the training text of the same conversation
    (the call and result as data, the result linked to the call's id), with our template and
    with the exported chat_template alike."""
    from xtuner_like.model.export import chat_tokenizer
    from xtuner_like.templates.tools import tool_calls_in
    prompts, answers = [], iter([CALL_REPLIES[name], 'It is 21 C.'] * 2)
    monkeypatch.setattr(session_module, 'generate_reply',
                        lambda *a, **k: prompts.append(a[2]) or next(answers))
    tools = [{'type': 'function', 'function': {'name': 'get_weather', 'parameters': {}}}]
    call = CALL if name == 'mistral' else {k: v for k, v in CALL.items() if k != 'id'}
    assert tool_calls_in(CALL_REPLIES[name]) == [call]
    template = get_template(name)
    eos = tiny_tokenizer.eos_token
    expected = render_prompt(
        [{'input': 'Weather in Paris?', 'output': '', 'tool_calls': [call], 'tools': tools},
         {'input': '', 'tool_results': [{'content': '21 C', 'call_id': call.get('id'),
                                         'name': 'get_weather'}]}], template, None, eos)
    ours = ChatSession(model=None, tokenizer=tiny_tokenizer,
                       chat_format=ChatFormat.build(template), tools=tools)
    served = ChatSession(model=None, tokenizer=chat_tokenizer(tiny_tokenizer,
                                                              ChatFormat.build(name)), tools=tools)
    for chat in (ours, served):
        chat.ask('Weather in Paris?')
        assert chat.pending_calls == [call]
        chat.ask('21 C', tool_result=True)
        assert chat.pending_calls == []
    assert prompts[1] == expected and prompts[3] == expected


def test_a_mistral_tool_result_without_a_call_to_answer_is_refused(replies, tiny_tokenizer):
    chat = ChatSession(model=None, tokenizer=tiny_tokenizer,
                       chat_format=ChatFormat.build('mistral'), tools=[{'name': 'f'}])
    chat.ask('Hi')                               # 'answer 1': no call
    with pytest.raises(ConfigError, match='the last reply made none'):
        chat.ask('21 C', tool_result=True)
    assert len(chat.history) == 1
