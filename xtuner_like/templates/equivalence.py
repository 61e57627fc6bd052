"""Whether a model's own chat_template renders what our template renders.

When it does, export keeps the base model's template (users and servers get the text they
know), else it writes ours. "Renders alike" means alike on every feature a training
conversation can carry, not only plain turns: SmolLM2's own template renders plain ChatML
turns exactly as ``smollm2_chat`` does, yet ignores ``tools=``, drops ``tool_calls``, writes a
``tool`` message as a role of its own and raises on a reply whose ``content`` is None, so a
model trained on tool calls and served with it never saw the text it is served.

The probes (:func:`probes`): one and two plain turns, ``tools=`` without calls, a call with
object arguments and one with string (JSON) arguments answered by tool results (text and an
object), reasoning (``reasoning_content`` and a ``<think>`` block), ``content`` None and ''
beside calls, each with and without a system message, as whole conversations and as
generation prompts after every user or tool turn. A probe our template cannot render (e.g.
text beside a Llama-3.1 call) is skipped: no training conversation has it either. A template
that raises on a probe ours renders is not equivalent.
"""
from __future__ import annotations

from typing import Any, Iterator

TOOLS = [{'type': 'function', 'function': {
    'name': 'get_weather', 'description': 'The weather in a city.',
    'parameters': {'type': 'object', 'properties': {'city': {'type': 'string'}},
                   'required': ['city']}}}]
_PLAIN = [('Hi there', 'Hello! How can I help?'), ('What is 2+2?', '4.')]


def _call(call_id: str, arguments: Any) -> dict:
    # 9 alphanumeric characters: Mistral's rule, which every other style accepts
    return {'id': call_id, 'type': 'function',
            'function': {'name': 'get_weather', 'arguments': arguments}}


def _conversations() -> Iterator[tuple[list[dict], list | None]]:
    """``(messages without system, tools)`` for each feature a training row may carry."""
    plain: list[dict] = []
    for user, reply in _PLAIN:
        plain += [{'role': 'user', 'content': user}, {'role': 'assistant', 'content': reply}]
        yield list(plain), None
    yield plain[:2], TOOLS                                   # tools offered, none called
    for content, arguments, result in ((None, {'city': 'Paris'}, '21 C'),
                                       ('', '{"city": "Nice"}', {'celsius': 25})):
        yield [{'role': 'user', 'content': 'Weather in Paris?'},
               {'role': 'assistant', 'content': content,
                'tool_calls': [_call('call00001', arguments)]},
               {'role': 'tool', 'tool_call_id': 'call00001', 'content': result},
               {'role': 'assistant', 'content': 'It is 21 C.'},
               {'role': 'user', 'content': 'Thanks!'},
               {'role': 'assistant', 'content': 'You are welcome.'}], TOOLS
    # several calls with text beside them (Hermes; a bare-call style cannot write it)
    yield [{'role': 'user', 'content': 'Paris and Nice?'},
           {'role': 'assistant', 'content': 'Checking both.',
            'tool_calls': [_call('call00001', {'city': 'Paris'}),
                           _call('call00002', '{"city": "Nice"}')]},
           {'role': 'tool', 'tool_call_id': 'call00001', 'content': '21 C'},
           {'role': 'tool', 'tool_call_id': 'call00002', 'content': '25 C'},
           {'role': 'assistant', 'content': 'Paris 21 C, Nice 25 C.'}], TOOLS
    yield [{'role': 'user', 'content': 'Q1'},
           {'role': 'assistant', 'content': 'A1', 'reasoning_content': 'Thought one.'},
           {'role': 'user', 'content': 'Q2'},
           {'role': 'assistant', 'content': 'A2', 'reasoning_content': 'Thought two.'}], None
    yield [{'role': 'user', 'content': 'Q'},
           {'role': 'assistant', 'content': '<think>\nThought.\n</think>\n\nA'}], None


def probes() -> Iterator[tuple[list[dict], list | None, bool]]:
    """``(messages, tools, add_generation_prompt)``: each conversation with and without a
    system message, whole and cut before each reply (a generation prompt)."""
    for system in (None, 'You are terse.'):
        head = [{'role': 'system', 'content': system}] if system else []
        for messages, tools in _conversations():
            messages = head + messages
            yield messages, tools, False
            for k in range(len(head) + 1, len(messages)):
                if messages[k]['role'] == 'assistant' and messages[k - 1]['role'] != 'assistant':
                    yield messages[:k], tools, True


def _render(tokenizer: Any, template: str, messages: list[dict], tools: list | None,
            prompt: bool) -> str:
    return tokenizer.apply_chat_template(messages, chat_template=template, tools=tools,
                                         tokenize=False, add_generation_prompt=prompt)


def first_difference(tokenizer: Any, theirs: str | None, ours: str) -> str | None:
    """None when ``theirs`` renders every probe ours renders exactly as ours does, else a
    short description of the first probe that differs (for the export's log line)."""
    if not theirs or not isinstance(theirs, str):
        return 'no chat_template'
    for messages, tools, prompt in probes():
        try:
            expected = _render(tokenizer, ours, messages, tools, prompt)
        except Exception:  # a feature our template cannot write: no training row has it
            continue
        what = (f'{len(messages)} messages ({", ".join(m["role"] for m in messages)})'
                f'{", tools" if tools else ""}{", generation prompt" if prompt else ""}')
        try:
            got = _render(tokenizer, theirs, messages, tools, prompt)
        except Exception as exc:  # a template that cannot render a probe (no tool role ...)
            return f'raises on {what}: {type(exc).__name__}: {str(exc)[:80]}'
        if got != expected:
            return f'renders {what} differently'
    return None


def renders_alike(tokenizer: Any, theirs: str | None, ours: str) -> bool:
    """True when ``theirs`` renders every probe exactly as ``ours`` does."""
    return first_difference(tokenizer, theirs, ours) is None
