"""Text views of a conversation that several curation stages share: normalized text, word
n-grams and a stable 64-bit hash (the same in every process and on every machine)."""
from __future__ import annotations

import re
import unicodedata

import numpy as np
import xxhash

BY = ('conversation', 'prompt')
_PUNCT = re.compile(r'[^\w\s]+')
_SPACE = re.compile(r'\s+')


def normalize(text: str) -> str:
    """Lower case, punctuation dropped, runs of whitespace as one space (NFKC first).

    >>> normalize('  Hello,   WORLD!\\n')
    'hello world'
    """
    text = unicodedata.normalize('NFKC', text).lower()
    return _SPACE.sub(' ', _PUNCT.sub(' ', text)).strip()


def conversation_text(conversation: list[dict], by: str = 'conversation') -> str:
    """Every turn's text (system, prompts and replies) or, with ``by='prompt'``, the prompts.

    >>> conversation_text([{'system': '', 'input': 'Hi', 'output': 'Hello'}], 'prompt')
    'Hi'
    """
    keys = ('system', 'input') if by == 'prompt' else ('system', 'input', 'output')
    return '\n'.join(t[k] for t in conversation for k in keys if t.get(k))


def stable_hash(text: str, seed: int = 0) -> int:
    """A signed 64-bit hash of ``text`` (Arrow and numpy columns hold int64)."""
    return int(np.uint64(xxhash.xxh3_64_intdigest(text.encode('utf-8'), seed)).view(np.int64))


def word_ngrams(words: list[str], n: int) -> list[str]:
    """Word n-grams; a text shorter than ``n`` words is one n-gram of all its words.

    >>> word_ngrams(['a', 'b', 'c'], 2)
    ['a b', 'b c']
    >>> word_ngrams(['a'], 3)
    ['a']
    """
    if len(words) <= n:
        return [' '.join(words)] if words else []
    return [' '.join(words[i:i + n]) for i in range(len(words) - n + 1)]
