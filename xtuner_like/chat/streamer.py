"""A token streamer that never prints a stop word, not even its first characters.

transformers' TextStreamer prints every decoded token, so a reply ending in ``<|im_end|>``
(or in a stop word made of several tokens) shows it. Here the text that could still become a
stop word is held back until it cannot, and printing ends at the first stop word.
"""
from __future__ import annotations

import sys
from typing import Any, Sequence, TextIO

from transformers.generation.streamers import BaseStreamer


def held_back(text: str, stops: Sequence[str]) -> int:
    """Length of the longest end of ``text`` that is the start of a stop word."""
    longest = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:n]):
                longest = n
                break
    return longest


class StopWordStreamer(BaseStreamer):
    """Prints generated text as it comes, cut before the first stop word.

    Args:
        tokenizer: decodes the generated ids.
        stops: stop words (the eos text included); none of them is ever printed.
        out: where the text goes (stdout).
    """

    def __init__(self, tokenizer: Any, stops: Sequence[str], out: TextIO | None = None):
        self.tokenizer = tokenizer
        self.stops = [s for s in stops if s]
        self.out = out
        self.reset()

    def reset(self) -> None:
        """Forget the previous reply; the next ``put`` is a new prompt."""
        self.ids: list[int] = []
        self.printed = 0
        self.stopped = False
        self.prompt_seen = False

    def put(self, value: Any) -> None:
        if not self.prompt_seen:  # generate() first passes the prompt
            self.prompt_seen = True
            return
        if self.stopped:
            return
        self.ids.extend(int(i) for i in value.reshape(-1).tolist())
        text = self.tokenizer.decode(self.ids, skip_special_tokens=False)
        if text.endswith('\ufffd'):  # an incomplete multi-byte character: wait for more
            return
        cut = min((text.find(s) for s in self.stops if s in text), default=-1)
        if cut >= 0:
            self.stopped = True
            self._write(text[:cut])
            return
        self._write(text[:len(text) - held_back(text, self.stops)])

    def end(self) -> None:
        if not self.stopped:  # a held-back start that never became a stop word is text
            text = self.tokenizer.decode(self.ids, skip_special_tokens=False)
            self._write(text)
        self._emit('\n')
        self.reset()

    def _write(self, text: str) -> None:
        """Print what ``text`` (a start of the reply) adds to what was printed."""
        if self.printed == 0:  # the returned reply is stripped, so skip leading whitespace
            skip = len(text) - len(text.lstrip())
            if skip == len(text):
                return
            self.printed = skip
        if len(text) > self.printed:
            self._emit(text[self.printed:])
            self.printed = len(text)

    def _emit(self, text: str) -> None:
        out = self.out or sys.stdout
        out.write(text)
        out.flush()
