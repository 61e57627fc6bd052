"""turns_to_messages: the map_fns' conversation shape back to OpenAI messages."""
from __future__ import annotations

from xtuner_like.templates.messages import turns_to_messages


def test_plain_turns_with_system():
    turns = [{'system': 'Be brief.', 'input': 'Hi', 'output': 'Hello'},
             {'input': 'And you?', 'output': 'Fine'}]
    assert turns_to_messages(turns) == [
        {'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hi'},
        {'role': 'assistant', 'content': 'Hello'}, {'role': 'user', 'content': 'And you?'},
        {'role': 'assistant', 'content': 'Fine'}]


def test_tool_calls_results_and_thinking():
    turns = [{'input': 'Weather in Paris?', 'output': '', 'thinking': 'need the tool',
              'tool_calls': [{'id': 'c1', 'name': 'weather', 'arguments': {'city': 'Paris'}}]},
             {'tool_results': [{'call_id': 'c1', 'name': 'weather', 'content': '21 C'}],
              'output': 'It is 21 C.'}]
    messages = turns_to_messages(turns)
    assert messages[1] == {'role': 'assistant', 'content': None, 'reasoning_content': 'need the tool',
                           'tool_calls': [{'id': 'c1', 'type': 'function', 'function': {
                               'name': 'weather', 'arguments': {'city': 'Paris'}}}]}
    assert messages[2] == {'role': 'tool', 'content': '21 C', 'tool_call_id': 'c1', 'name': 'weather'}
    assert [m['role'] for m in messages] == ['user', 'assistant', 'tool', 'assistant']


def test_prompt_turn_without_reply_gives_no_assistant_message():
    messages = turns_to_messages([{'input': '你好', 'output': '嗨'}, {'input': '再见'}])
    assert messages[-1] == {'role': 'user', 'content': '再见'}
    assert len(messages) == 3
