"""A multi-turn chat with a loaded model: history, prompt building and stop words."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from ..errors import ConfigError
from ..model.generate import chat_prompt, generate_reply, stop_strings
from ..templates.chat_format import ChatFormat
from ..templates.tools import TOOL_STYLES, reply_fields, tool_calls_in


@dataclass
class GenerationSettings:
    """Sampling settings of ``chat``; ``temperature`` 0 is greedy."""

    max_new_tokens: int = 512
    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    repetition_penalty: float = 1.0


def generation_stop_words(model: Any, tokenizer: Any) -> list[str]:
    """Texts of the generation config's eos ids (a served model's end-of-turn tokens)."""
    eos = getattr(getattr(model, 'generation_config', None), 'eos_token_id', None)
    ids = [eos] if isinstance(eos, int) else list(eos or [])
    return [tokenizer.decode([i]) for i in ids if i is not None]


@dataclass
class ChatSession:
    """Holds the turns so far and answers the next prompt.

    With a template in ``chat_format`` the prompt is rendered by our templates (as in
    training); without one, by the tokenizer's own ``chat_template``.
    """

    model: Any
    tokenizer: Any
    chat_format: ChatFormat = field(default_factory=lambda: ChatFormat.build(None))
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    history: list[dict] = field(default_factory=list)
    tools: list | None = None       # function schemas the model may call (chat --tools)
    # calls of the last reply not answered yet: each tool result answers the first of them
    pending_calls: list[dict] = field(default_factory=list)

    def __post_init__(self):
        if self.template is None and not getattr(self.tokenizer, 'chat_template', None):
            raise ConfigError('the tokenizer has no chat_template; pass --prompt-template '
                              'NAME (the template the model was trained with)')
        extra = generation_stop_words(self.model, self.tokenizer)
        self.stops = stop_strings([*self.chat_format.stop_words, *extra], self.tokenizer)

    @property
    def template(self):
        return self.chat_format.template

    @property
    def system(self) -> str | None:
        return self.chat_format.system

    def reset(self) -> None:
        """Forget the conversation."""
        self.history.clear()
        self.pending_calls.clear()

    def _turn(self, text: str, tool_result: bool) -> dict:
        """The next turn (no reply yet): a user text, or a tool's result answering the first
        pending call (its id links them, which Mistral's format writes)."""
        if not tool_result:
            return {'input': text}
        if not self.pending_calls and self.template is not None and (
                TOOL_STYLES[self.template.tool_style].call_ids):
            raise ConfigError('a tool result answers a call, and the last reply made none '
                              "(Mistral's format links each result to its call's id); ask "
                              'again instead')
        call = self.pending_calls[0] if self.pending_calls else {}
        return {'input': '', 'tool_results': [{'content': text, 'call_id': call.get('id'),
                                               'name': call.get('name')}]}

    def prompt(self, text: str, tool_result: bool = False) -> str:
        """The text the model continues to answer ``text`` (a tool's result when
        ``tool_result``) after the history: results and calls are written in the template's
        tool style, as in training."""
        turn = self._turn(text, tool_result)
        if self.template is not None:
            return chat_prompt(self.template, self.tokenizer, [*self.history, turn],
                               self.system, self.tools)
        messages = [{'role': 'system', 'content': self.system}] if self.system else []
        for done in [*self.history, turn]:
            for result in done.get('tool_results', []):
                messages.append({'role': 'tool', 'content': result['content'],
                                 **({'tool_call_id': result['call_id']}
                                    if result['call_id'] else {})})
            if done['input'] or not done.get('tool_results'):
                messages.append({'role': 'user', 'content': done['input']})
            if 'output' in done:
                messages.append({'role': 'assistant', 'content': done['output'], **(
                    {'tool_calls': [_openai_call(c) for c in done['tool_calls']]}
                    if done.get('tool_calls') else {})})
        return self.tokenizer.apply_chat_template(messages, tools=self.tools, tokenize=False,
                                                  add_generation_prompt=True)

    def ask(self, text: str, streamer: Any = None, tool_result: bool = False) -> str:
        """Answer ``text`` (a tool's result when ``tool_result``), remember the turn, and
        return the reply (stop words cut)."""
        s = self.settings
        turn = self._turn(text, tool_result)
        prompt = self.prompt(text, tool_result=True) if tool_result else self.prompt(text)
        reply = generate_reply(self.model, self.tokenizer, prompt,
                               self.stops, max_new_tokens=s.max_new_tokens,
                               temperature=s.temperature, top_k=s.top_k, top_p=s.top_p,
                               repetition_penalty=s.repetition_penalty, streamer=streamer)
        if tool_result and self.pending_calls:
            self.pending_calls.pop(0)
        calls = tool_calls_in(reply) if self.tools is not None else []
        if calls:   # a reply that calls tools waits for their results
            self.pending_calls[:] = calls
        # a reply that is only calls is kept as calls, so the history is written as training
        # writes it (e.g. a Mistral call follows [/INST] without a reply's leading space)
        self.history.append({**turn, **reply_fields(reply, calls)})
        return reply


def _openai_call(call: dict) -> dict:
    """A parsed call as an OpenAI-style message's tool call (what chat templates read)."""
    fn = {'type': 'function', 'function': {'name': call['name'], 'arguments': call['arguments']}}
    return {**fn, 'id': call['id']} if 'id' in call else fn
