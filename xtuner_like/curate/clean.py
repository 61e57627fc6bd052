"""Stage 'clean': empty turns, missing replies, replies out of length bounds, repetition,
non-text and mojibake. Each rule is a pure function of one conversation."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from .text import conversation_text

# Latin-1 read of UTF-8 ('Ã©' for 'é', 'â€™' for '’') and the replacement character.
_MOJIBAKE = re.compile('\ufffd|[\u00c2\u00c3][\u0080-\u00bf]|\u00e2\u20ac[\u0080-\u00ff\u2018-\u201e\u2122\u0153\u009d]')
_SYMBOLS = re.compile(r'(?:[^\w\s]|_)+')    # neither letter, digit nor whitespace


def repeated_share(items: list) -> float:
    """Share of ``items`` that repeat an earlier item.

    >>> repeated_share(['a', 'b', 'a', 'a'])
    0.5
    """
    return 1 - len(set(items)) / len(items) if items else 0.0


def line_repetition(text: str) -> float:
    """Share of non-empty lines that repeat an earlier line (0 under three lines)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return repeated_share(lines) if len(lines) >= 3 else 0.0


def ngram_repetition(text: str, n: int = 3) -> float:
    """Share of word ``n``-grams that repeat an earlier one (0 under 4n words)."""
    words = text.split()
    if len(words) < 4 * n:
        return 0.0
    return repeated_share([tuple(words[i:i + n]) for i in range(len(words) - n + 1)])


def char_repetition(text: str, n: int = 10) -> float:
    """Share of character ``n``-grams that repeat an earlier one (0 under 5n characters)."""
    if len(text) < 5 * n:
        return 0.0
    return repeated_share([text[i:i + n] for i in range(len(text) - n + 1)])


def text_ratio(text: str) -> float:
    """Letters, digits and whitespace over all characters (1 for empty text)."""
    if not text:
        return 1.0
    return 1 - sum(map(len, _SYMBOLS.findall(text))) / len(text)


def mojibake_ratio(text: str) -> float:
    """Mis-decoded character sequences per character."""
    return len(_MOJIBAKE.findall(text)) / len(text) if text else 0.0


@lru_cache(maxsize=2)
def _tokenizer(path: str) -> Any:
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(path)


def _bounds(value: int, low: int | None, high: int | None) -> str:
    if low is not None and value < low:
        return f'< {low}'
    if high is not None and value > high:
        return f'> {high}'
    return ''


def clean_reason(turns: list[dict], opts: dict) -> tuple[str, str]:
    """(reason, detail) for a conversation the clean rules reject; ('', '') to keep it."""
    for i, t in enumerate(turns):
        if not t['output'].strip():
            return 'no_reply', f'turn {i} has no assistant reply'
        if (t['input'] or i > 0) and not t['input'].strip():
            return 'empty_turn', f'turn {i} has an empty or whitespace-only prompt'
        bad = _bounds(len(t['output']), opts['min_reply_chars'], opts['max_reply_chars'])
        if bad:
            return 'reply_length', f'turn {i} reply has {len(t["output"])} chars ({bad})'
    # Repetition is judged on the replies: a reply quoting its prompt is not repetitive.
    replies = '\n'.join(t['output'] for t in turns)
    text = conversation_text(turns)
    checks = (('line_repetition', line_repetition, 'max_line_repetition', False),
              ('ngram_repetition', ngram_repetition, 'max_ngram_repetition', False),
              ('char_repetition', char_repetition, 'max_char_repetition', False),
              ('non_text', text_ratio, 'min_text_ratio', True),
              ('mojibake', mojibake_ratio, 'max_mojibake_ratio', False))
    for reason, measure, option, is_min in checks:
        limit = opts[option]
        if limit is None:
            continue
        value = measure(text if reason in ('non_text', 'mojibake') else replies)
        if (value < limit) if is_min else (value > limit):
            return reason, f'{measure.__name__} {value:.2f} {"<" if is_min else ">"} {limit}'
    return '', ''


def clean_batch(batch: dict, *, opts: dict) -> dict:
    """``_reason``/``_detail`` for each row of a batch (see :func:`clean_reason`)."""
    reasons = [clean_reason(turns, opts) for turns in batch['conversation']]
    if opts.get('tokenizer') and (opts['min_reply_tokens'] or opts['max_reply_tokens']):
        reasons = _token_bounds(batch['conversation'], reasons, opts)
    return {'_reason': [r for r, _ in reasons], '_detail': [d for _, d in reasons]}


def _token_bounds(conversations: list, reasons: list, opts: dict) -> list:
    """Replies out of the token bounds (one tokenizer call per batch)."""
    tok = _tokenizer(opts['tokenizer'])
    spans = [(i, t['output']) for i, turns in enumerate(conversations) if not reasons[i][0]
             for t in turns]
    ids = tok([s for _, s in spans], add_special_tokens=False)['input_ids'] if spans else []
    reasons = list(reasons)
    for (i, _), tokens in zip(spans, ids):
        bad = _bounds(len(tokens), opts['min_reply_tokens'], opts['max_reply_tokens'])
        if bad and not reasons[i][0]:
            reasons[i] = ('reply_tokens', f'a reply has {len(tokens)} tokens ({bad})')
    return reasons
