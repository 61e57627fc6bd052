"""Tests for xtuner_like/chat/streamer.py: stop words are never printed, not even partly."""
from __future__ import annotations

import io

import pytest
import torch

from xtuner_like.chat.streamer import StopWordStreamer, held_back


class CharTokenizer:
    """One character per token id."""

    def decode(self, ids, skip_special_tokens=False):
        return ''.join(chr(i) for i in ids)


def stream(text: str, stops, chunks=1) -> list[str]:
    out = io.StringIO()
    writes = []
    out.write = lambda s: writes.append(s)  # noqa: E731 - record each write
    streamer = StopWordStreamer(CharTokenizer(), stops, out)
    streamer.put(torch.tensor([[1, 2, 3]]))  # the prompt: skipped
    ids = [ord(c) for c in text]
    for i in range(0, len(ids), chunks):
        streamer.put(torch.tensor(ids[i:i + chunks]))
    streamer.end()
    return writes


def test_held_back():
    assert held_back('abc<|im', ['<|im_end|>']) == 4
    assert held_back('abc', ['<|im_end|>']) == 0
    assert held_back('abc<', ['<|im_end|>', 'STOP']) == 1


@pytest.mark.parametrize('chunks', [1, 3])
def test_stop_word_is_never_printed(chunks):
    writes = stream(' Hello<|im_end|>garbage', ['<|im_end|>'], chunks)
    assert ''.join(writes) == 'Hello\n'
    assert not any('<' in w for w in writes)


def test_multi_token_stop_word_and_false_alarm():
    writes = stream('a <b c<|im_x done', ['<|im_end|>'])
    assert ''.join(writes) == 'a <b c<|im_x done\n'
    writes = stream('one STO two STOP three', ['STOP'])
    assert ''.join(writes) == 'one STO two \n'


def test_streamer_is_reusable_for_the_next_reply():
    out = io.StringIO()
    streamer = StopWordStreamer(CharTokenizer(), ['#'], out)
    for text in ('ab#c', 'de'):
        streamer.put(torch.tensor([0]))
        streamer.put(torch.tensor([ord(c) for c in text]))
        streamer.end()
    assert out.getvalue() == 'ab\nde\n'
