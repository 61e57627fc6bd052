"""What text of a row every curation stage sees: one place decides it.

A curated row is a *sample* as the training pipeline's map_fns make it, kept whole:
``{'conversation': [turn, ...]}`` (SFT), plus ``'chosen'``/``'rejected'`` (a preference pair,
one unit) or ``'completion'``/``'label'`` (KTO). A turn may hold ``system``, ``tools`` (first
turn), ``input``, ``tool_results``, ``thinking``, ``output`` and ``tool_calls``. Stages never
read those keys themselves: :func:`pieces` walks a sample into ``(part, text)`` pieces,
:func:`sample_text` joins the pieces of a *view* (:data:`VIEWS`) and :func:`rewrite` maps a
function over every piece of text in place (redaction), so tool arguments and results,
thinking and both replies of a pair are read and scrubbed like any other text.

Also here: normalized text, word n-grams and a stable 64-bit hash (the same in every process
and on every machine).
"""
from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Callable, Iterator

import numpy as np
import xxhash

# The parts of a sample, in the order they are read.
PARTS = ('system', 'tools', 'prompt', 'tool_result', 'thinking', 'reply', 'tool_call')
# Which parts each view reads. Tool *definitions* are boilerplate shared by many rows, so
# similarity views leave them out; redaction (`rewrite`) still visits them.
VIEWS = {
    'conversation': ('system', 'prompt', 'tool_result', 'thinking', 'reply', 'tool_call'),
    'prompt': ('system', 'prompt', 'tool_result'),
    'reply': ('thinking', 'reply', 'tool_call'),
    'all': PARTS,
}
BY = tuple(VIEWS)
_PUNCT = re.compile(r'[^\w\s]+')
_SPACE = re.compile(r'\s+')
# _PUNCT for ASCII text, as a str.translate table (every ASCII character neither \w nor \s)
_ASCII_PUNCT = str.maketrans({chr(c): ' ' for c in range(128) if _PUNCT.match(chr(c))})
REPLY_KEYS = ('chosen', 'rejected', 'completion')   # a pair's replies, KTO's completion


def decode(batch: dict) -> list[dict]:
    """The samples of a batch (stored as JSON text in its ``sample`` column)."""
    return [json.loads(s) for s in batch['sample']]


def encode(sample: dict) -> str:
    """A sample as the JSON text the engines carry (key order kept, UTF-8 as is)."""
    return json.dumps(sample, ensure_ascii=False)


def _values(value: Any) -> Iterator[str]:
    """Every string inside a JSON value (arguments and results may be objects)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _values(v)
    elif isinstance(value, list):
        for v in value:
            yield from _values(v)


Piece = tuple[Any, str, str]      # (unit: turn number or reply key, part, text)


def _turn_pieces(unit: Any, turn: dict, prompt: bool = True) -> Iterator[Piece]:
    if prompt:
        if isinstance(turn.get('system'), str):
            yield unit, 'system', turn['system']
        for text in _values(turn.get('tools')):
            yield unit, 'tools', text
        if isinstance(turn.get('input'), str):
            yield unit, 'prompt', turn['input']
        for result in turn.get('tool_results') or []:
            for text in _values(result.get('content') if isinstance(result, dict) else result):
                yield unit, 'tool_result', text
    if isinstance(turn.get('thinking'), str):
        yield unit, 'thinking', turn['thinking']
    if isinstance(turn.get('output'), str):
        yield unit, 'reply', turn['output']
    for call in turn.get('tool_calls') or []:
        if isinstance(call, dict):
            if isinstance(call.get('name'), str):
                yield unit, 'tool_call', call['name']
            yield from ((unit, 'tool_call', t) for t in _values(call.get('arguments')))


def pieces(sample: dict) -> Iterator[Piece]:
    """``(unit, part, text)`` of every piece of text in a sample, in reading order (see the
    module docstring). ``unit`` is the turn's number, or for a pair's (or KTO's) replies,
    which come after the prompt conversation, their key.

    >>> list(pieces({'conversation': [{'input': 'Hi'}], 'chosen': 'Hello', 'rejected': 'Go'}))
    [(0, 'prompt', 'Hi'), ('chosen', 'reply', 'Hello'), ('rejected', 'reply', 'Go')]
    """
    for i, turn in enumerate(sample.get('conversation') or []):
        if isinstance(turn, dict):
            yield from _turn_pieces(i, turn)
    for key in REPLY_KEYS:
        reply = sample.get(key)
        if isinstance(reply, str):
            yield key, 'reply', reply
        elif isinstance(reply, dict):
            yield from _turn_pieces(key, reply, prompt=False)


def sample_text(sample: dict, by: str = 'conversation') -> str:
    """The text of a sample that a view reads: ``'conversation'`` (every turn, thinking,
    tool calls and results), ``'prompt'`` (system, prompts, tool results), ``'reply'``
    (thinking, replies, tool calls) or ``'all'`` (tool definitions too).

    >>> sample_text({'conversation': [{'system': '', 'input': 'Hi', 'output': 'Hello'}]},
    ...             'prompt')
    'Hi'
    """
    parts = VIEWS[by]
    return '\n'.join(text for _, part, text in pieces(sample) if part in parts and text)


def part_texts(sample: dict, parts: tuple[str, ...]) -> list[str]:
    """The non-empty texts of some parts, one per piece (e.g. each reply of a pair)."""
    return [text for _, part, text in pieces(sample) if part in parts and text]


def _map_value(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _map_value(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_value(v, fn) for v in value]
    return value


def _map_turn(turn: dict, fn: Callable[[str], str]) -> dict:
    out = dict(turn)
    for key in ('system', 'input', 'output', 'thinking', 'tools'):
        if key in out:
            out[key] = _map_value(out[key], fn)
    if out.get('tool_calls'):
        out['tool_calls'] = [{**c, 'arguments': _map_value(c.get('arguments'), fn)}
                             if isinstance(c, dict) else c for c in out['tool_calls']]
    if out.get('tool_results'):
        out['tool_results'] = [{**r, 'content': _map_value(r.get('content'), fn)}
                               if isinstance(r, dict) else r for r in out['tool_results']]
    return out


def rewrite(sample: dict, fn: Callable[[str], str]) -> dict:
    """A copy of ``sample`` with ``fn`` applied to every piece of text that :func:`pieces`
    reads (tool names, call ids and labels are read but left alone)."""
    out = dict(sample)
    if isinstance(out.get('conversation'), list):
        out['conversation'] = [_map_turn(t, fn) if isinstance(t, dict) else t
                               for t in out['conversation']]
    for key in REPLY_KEYS:
        if isinstance(out.get(key), str):
            out[key] = fn(out[key])
        elif isinstance(out.get(key), dict):
            out[key] = _map_turn(out[key], fn)
    return out


def normalize(text: str) -> str:
    """Lower case, punctuation dropped, runs of whitespace as one space (NFKC first).

    >>> normalize('  Hello,   WORLD!\\n')
    'hello world'
    """
    if text.isascii():          # the same result, 3x faster: NFKC leaves ASCII alone
        return ' '.join(text.lower().translate(_ASCII_PUNCT).split())
    text = unicodedata.normalize('NFKC', text).lower()
    return _SPACE.sub(' ', _PUNCT.sub(' ', text)).strip()


def stable_hash(text: str, seed: int = 0) -> int:
    """A signed 64-bit hash of ``text`` (Arrow and numpy columns hold int64)."""
    return int(np.uint64(xxhash.xxh3_64_intdigest(text.encode('utf-8'), seed)).view(np.int64))


_CJK = re.compile(r'[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]')


def is_cjk(text: str) -> bool:
    """Whether ``text`` is partly written without spaces between words (Chinese, Japanese,
    Korean): a tenth or more of its non-space characters are CJK.

    >>> is_cjk('今天天气很好, ok'), is_cjk('The weather is fine')
    (True, False)
    """
    if text.isascii():
        return False
    chars = len(text) - text.count(' ')
    return bool(chars) and len(_CJK.findall(text)) * 10 >= chars


_CJK_CHARS = r'\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff'
_TOKEN = re.compile(rf'[{_CJK_CHARS}]|[^\W{_CJK_CHARS}]+')


def ngrams(text: str, n: int, cjk_n: int | None = None) -> list[str]:
    """Shingles of the normalized ``text``, chosen by its script: word ``n``-grams, or for
    CJK text (no spaces between words) character ``cjk_n``-grams (default ``n + 1``).

    >>> ngrams('A b, c', 2), ngrams('我爱北京', 2, 2)
    (['a b', 'b c'], ['我爱', '爱北', '北京'])
    """
    return script_ngrams(text, n, cjk_n)[0]


def script_ngrams(text: str, n: int, cjk_n: int | None = None) -> tuple[list[str], bool]:
    """(:func:`ngrams` of ``text``, whether they are CJK character n-grams): a stage that
    weighs the two kinds differently (near dedup's threshold) reads the script here.

    >>> script_ngrams('我爱北京', 1, 2)
    (['我爱', '爱北', '北京'], True)
    """
    norm = normalize(text)
    if is_cjk(norm):               # each CJK character a token, other words whole
        toks = _TOKEN.findall(norm)
        k = cjk_n or n + 1
        return [''.join(toks[i:i + k]) for i in range(len(toks) - k + 1)] or (
            [''.join(toks)] if toks else []), True
    return word_ngrams(norm.split(), n), False


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
