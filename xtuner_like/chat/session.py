"""A multi-turn chat with a loaded model: history, prompt building and stop words."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from ..errors import ConfigError
from ..model.generate import chat_prompt, generate_reply, stop_strings
from ..templates.chat_format import ChatFormat
from ..templates.tools import tool_response_text


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

    def prompt(self, text: str, tool_result: bool = False) -> str:
        """The text the model continues to answer ``text`` (a tool's result when
        ``tool_result``) after the history."""
        if self.template is not None:
            user = tool_response_text(text) if tool_result else text
            return chat_prompt(self.template, self.tokenizer, self.history, user, self.system,
                               self.tools)
        messages = [{'role': 'system', 'content': self.system}] if self.system else []
        for turn in self.history:
            messages += [{'role': turn.get('role', 'user'), 'content': turn['input']},
                         {'role': 'assistant', 'content': turn['output']}]
        messages.append({'role': 'tool' if tool_result else 'user', 'content': text})
        return self.tokenizer.apply_chat_template(messages, tools=self.tools, tokenize=False,
                                                  add_generation_prompt=True)

    def ask(self, text: str, streamer: Any = None, tool_result: bool = False) -> str:
        """Answer ``text`` (a tool's result when ``tool_result``), remember the turn, and
        return the reply (stop words cut)."""
        s = self.settings
        prompt = self.prompt(text, tool_result=True) if tool_result else self.prompt(text)
        reply = generate_reply(self.model, self.tokenizer, prompt,
                               self.stops, max_new_tokens=s.max_new_tokens,
                               temperature=s.temperature, top_k=s.top_k, top_p=s.top_p,
                               repetition_penalty=s.repetition_penalty, streamer=streamer)
        if self.template is not None and tool_result:
            self.history.append({'input': tool_response_text(text), 'output': reply})
        else:
            self.history.append({'input': text, 'output': reply,
                                 **({'role': 'tool'} if tool_result else {})})
        return reply
