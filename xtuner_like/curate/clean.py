"""Stage 'clean': empty turns, missing replies, replies out of length bounds, repetition,
non-text and mojibake. Each rule is a pure function of one sample (read through
:mod:`.text`: a tool call is a reply, tool results are a prompt, a pair's replies are
replies)."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from ..errors import ConfigError
from .stage import CURATION_STAGES, ENABLED, Option, Stage
from .text import decode, part_texts, pieces, sample_text

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


def _units(sample: dict) -> dict:
    """Per unit (turn or reply key): whether it is a reply, its reply text, its prompt text
    and whether it holds tool calls or results."""
    units: dict = {}
    for unit, part, text in pieces(sample):
        u = units.setdefault(unit, {'reply': None, 'prompt': None, 'calls': False,
                                    'results': False})
        if part == 'reply':
            u['reply'] = (u['reply'] or '') + text
        elif part == 'prompt':
            u['prompt'] = (u['prompt'] or '') + text
        elif part == 'tool_call':
            u['calls'] = True
        elif part == 'tool_result':
            u['results'] = True
    return units


def clean_reason(sample: dict, opts: dict) -> tuple[str, str]:
    """(reason, detail) for a sample the clean rules reject; ('', '') to keep it."""
    units = _units(sample)
    for i, (unit, u) in enumerate(units.items()):
        where = f'turn {unit}' if isinstance(unit, int) else f'{unit!r} reply'
        if u['reply'] is not None and not u['reply'].strip() and not u['calls']:
            return 'no_reply', f'{where} has no assistant reply'
        if u['prompt'] is not None and (u['prompt'] or i > 0) and not u['prompt'].strip() \
                and not u['results']:
            return 'empty_turn', f'{where} has an empty or whitespace-only prompt'
        if u['reply'] is not None and (u['reply'] or not u['calls']):
            bad = _bounds(len(u['reply']), opts['min_reply_chars'], opts['max_reply_chars'])
            if bad:
                return 'reply_length', f'{where} reply has {len(u["reply"])} chars ({bad})'
    # Repetition and garbage are judged on the replies: a reply quoting its prompt is not
    # repetitive, and a normal prompt must not hide a garbage reply.
    replies = sample_text(sample, 'reply')
    text = sample_text(sample)
    checks = (('line_repetition', line_repetition, 'max_line_repetition', False),
              ('ngram_repetition', ngram_repetition, 'max_ngram_repetition', False),
              ('char_repetition', char_repetition, 'max_char_repetition', False),
              ('non_text', text_ratio, 'min_text_ratio', True),
              ('mojibake', mojibake_ratio, 'max_mojibake_ratio', False))
    for reason, measure, option, is_min in checks:
        limit = opts[option]
        if limit is None:
            continue
        value = measure(text if reason == 'mojibake' else replies)
        if (value < limit) if is_min else (value > limit):
            return reason, f'{measure.__name__} {value:.2f} {"<" if is_min else ">"} {limit}'
    return '', ''


def clean_batch(batch: dict, *, opts: dict) -> dict:
    """``_reason``/``_detail`` for each row of a batch (see :func:`clean_reason`)."""
    samples = decode(batch)
    reasons = [clean_reason(sample, opts) for sample in samples]
    if opts.get('tokenizer') and (opts['min_reply_tokens'] or opts['max_reply_tokens']):
        reasons = _token_bounds(samples, reasons, opts)
    return {'_reason': [r for r, _ in reasons], '_detail': [d for _, d in reasons]}


def _token_bounds(samples: list, reasons: list, opts: dict) -> list:
    """Replies out of the token bounds (one tokenizer call per batch)."""
    tok = _tokenizer(opts['tokenizer'])
    spans = [(i, text) for i, sample in enumerate(samples) if not reasons[i][0]
             for text in part_texts(sample, ('reply',))]
    ids = tok([s for _, s in spans], add_special_tokens=False)['input_ids'] if spans else []
    reasons = list(reasons)
    for (i, _), tokens in zip(spans, ids):
        bad = _bounds(len(tokens), opts['min_reply_tokens'], opts['max_reply_tokens'])
        if bad and not reasons[i][0]:
            reasons[i] = ('reply_tokens', f'a reply has {len(tokens)} tokens ({bad})')
    return reasons


def _tokens_problem(value: Any) -> str:
    return '' if value is None or (isinstance(value, int) and value >= 0) else \
        f'{value!r}; give a number of tokens or None'


class CleanStage(Stage):
    """Row by row: the rules of :func:`clean_reason`."""

    name, order = 'clean', 10
    options = {
        'enabled': ENABLED,
        'min_reply_chars': Option(1, help='replies shorter than this (characters) are dropped'),
        'max_reply_chars': Option(32000, help='replies longer than this are dropped'),
        'tokenizer': Option(None, help='a tokenizer folder to bound replies in tokens as well'),
        'min_reply_tokens': Option(None, check=_tokens_problem),
        'max_reply_tokens': Option(None, check=_tokens_problem),
        'max_line_repetition': Option(0.5, fraction=True, help='share of non-empty reply '
                                                                'lines that repeat an earlier one'),
        'max_ngram_repetition': Option(0.5, fraction=True, help='share of word 3-grams that '
                                                                 'repeat an earlier one'),
        'max_char_repetition': Option(0.6, fraction=True, help='share of character 10-grams '
                                                                'that repeat an earlier one'),
        'min_text_ratio': Option(0.4, fraction=True, help='letters, digits and spaces over all '
                                                          'characters of the replies'),
        'max_mojibake_ratio': Option(0.01, fraction=True, help="mis-decoded characters "
                                                               "(U+FFFD, 'Ã©'-like pairs) per "
                                                               'character'),
    }

    def run(self, run: Any, data: Any, opts: dict) -> tuple[Any, None]:
        if (opts['min_reply_tokens'] or opts['max_reply_tokens']) and not opts['tokenizer']:
            raise ConfigError('clean.min_reply_tokens/max_reply_tokens need clean.tokenizer=<a '
                              'tokenizer folder>')
        return run.engine.map(data, clean_batch, 'clean', opts=opts), None


CURATION_STAGES.register('clean', CleanStage())
