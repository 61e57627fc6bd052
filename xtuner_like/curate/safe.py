"""Stage 'safe': personal data and secrets become typed placeholders (or drop the row).

Kinds are matched in the order of :data:`PATTERNS`: secrets and card numbers first, so a
long digit run inside a key or a card is not also taken for a phone number.
"""
from __future__ import annotations

import difflib
import re
from typing import Any, Callable

from .stage import CURATION_STAGES, ENABLED, Option, Stage
from .text import decode, encode, rewrite

PLACEHOLDERS = {'api_key': '<API_KEY>', 'credit_card': '<CREDIT_CARD>', 'email': '<EMAIL>',
                'ip_address': '<IP_ADDRESS>', 'phone': '<PHONE>'}
KINDS = tuple(PLACEHOLDERS)

_OCTET = r'(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)'
_H16 = r'[0-9A-Fa-f]{1,4}'
PATTERNS: dict[str, re.Pattern] = {
    # Shapes of common provider keys, JWTs and PEM private keys.
    'api_key': re.compile(
        r'-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----'
        r'|\b(?:sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}'
        r'|(?:AKIA|ASIA)[0-9A-Z]{16}'
        r'|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}'
        r'|xox[abposr]-[A-Za-z0-9-]{10,}'
        r'|AIza[0-9A-Za-z_\-]{35}'
        r'|hf_[A-Za-z0-9]{30,}'
        r'|(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}'
        r'|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})'),
    # 13-19 digits in one run, or in the groups cards print (4-4-4-4[-3], 4-6-5) split by
    # one space or dash; Luhn-checked below.
    'credit_card': re.compile(r'(?<![\w.,])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}'
                              r'|\d{4}([ -])\d{6}\2\d{4,5})(?![\w]|[.,]\d)'),
    'email': re.compile(r'(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*'
                        r'\.[A-Za-z]{2,}\b'),
    'ip_address': re.compile(
        rf'(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w.]\d)'
        rf'|(?<![\w:])(?:{_H16}:){{7}}{_H16}(?![\w:])'
        rf'|(?<![\w:])(?:{_H16}:){{1,6}}:(?:{_H16}:){{0,5}}{_H16}(?![\w:])'),
    # An optional (+)country code, then at least three digit groups split by space, dot or
    # dash (an area code may be in parentheses), 9 to 15 digits in all; or +<10-14 digits>.
    # Not inside a longer run of digit groups (a card number that fails Luhn, an id).
    'phone': re.compile(
        r'(?<![\w+])(?<!\d[ .-])(?:\+?\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])'
        r'\d{2,4}[ .-]\d{3,5}(?!\w|[ .-]\d)|(?<![\w+])\+\d{10,14}(?!\w)'),
}


# Cheap tests that rule a kind out before its full pattern runs (most text has no PII).
_HAS_DIGIT = re.compile(r'\d')
HINTS: dict[str, Callable[[str], bool]] = {
    'api_key': re.compile(r'sk-|_live_|_test_|AKIA|ASIA|gh[pousr]_|github_pat_|xox|AIza|hf_'
                          r'|eyJ|-----BEGIN').search,
    'credit_card': _HAS_DIGIT.search,
    'email': lambda text: '@' in text,
    'ip_address': _HAS_DIGIT.search,
    'phone': _HAS_DIGIT.search,
}


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a card number.

    >>> luhn_ok('4111111111111111'), luhn_ok('4111111111111112')
    (True, False)
    """
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _accept(kind: str) -> Callable[[str], bool]:
    if kind == 'credit_card':
        return lambda s: luhn_ok(re.sub(r'\D', '', s))
    if kind == 'phone':
        return lambda s: 9 <= sum(c.isdigit() for c in s) <= 15
    return lambda s: True


def redact(text: str, kinds: tuple[str, ...] | list[str]) -> tuple[str, dict[str, int]]:
    """``text`` with every match of ``kinds`` replaced by its placeholder, and the counts.

    >>> redact('mail bob@example.com or call +1 415-555-0132', KINDS)
    ('mail <EMAIL> or call <PHONE>', {'email': 1, 'phone': 1})
    """
    counts: dict[str, int] = {}
    for kind in KINDS:
        if kind not in kinds or not HINTS[kind](text):
            continue
        accept = _accept(kind)

        def sub(m: re.Match, kind=kind, accept=accept) -> str:
            if not accept(m.group(0)):
                return m.group(0)
            counts[kind] = counts.get(kind, 0) + 1
            return PLACEHOLDERS[kind]
        text = PATTERNS[kind].sub(sub, text)
    return text, counts


def safe_batch(batch: dict, *, kinds: list[str], action: str) -> dict:
    """Redacted samples (every piece of text, tool arguments and results included) and
    per-kind counts (``_pii_<kind>``); or, with ``action='drop'``, the rows that hold any
    of ``kinds`` marked as removed."""
    out: dict[str, list] = {'sample': [], '_reason': [], '_detail': []}
    out.update({f'_pii_{k}': [] for k in KINDS})
    for text, sample in zip(batch['sample'], decode(batch)):
        found: dict[str, int] = {}

        def scrub(value: str) -> str:
            new, counts = redact(value, kinds) if value else (value, {})
            for k, n in counts.items():
                found[k] = found.get(k, 0) + n
            return new
        redacted = rewrite(sample, scrub)
        dropped = action == 'drop' and bool(found)
        out['sample'].append(text if dropped or not found else encode(redacted))
        out['_reason'].append('pii' if dropped else '')
        out['_detail'].append(', '.join(f'{k} x{n}' for k, n in sorted(found.items()))
                              if dropped else '')
        for k in KINDS:
            out[f'_pii_{k}'].append(found.get(k, 0))
    return out


def _kinds_problem(value: Any) -> str:
    bad = [k for k in value if k not in KINDS] if isinstance(value, (list, tuple)) else value
    if not bad:
        return ''
    close = difflib.get_close_matches(str(bad[0] if isinstance(bad, list) else bad), KINDS, 1)
    return f"unknown {bad}; {f'did you mean {close[0]!r}?' if close else f'known: {KINDS}'}"


class SafeStage(Stage):
    """Row by row: placeholders for personal data and secrets (or the row dropped)."""

    name, order = 'safe', 50
    options = {
        'enabled': ENABLED,
        'kinds': Option(list(KINDS), check=_kinds_problem, help='what is redacted'),
        'action': Option('redact', choices=('redact', 'drop'),
                         help="'redact' writes placeholders; 'drop' removes the row"),
    }

    def run(self, run: Any, data: Any, opts: dict) -> tuple[Any, None]:
        data = run.engine.map(data, safe_batch, 'safe', kinds=list(opts['kinds']),
                              action=opts['action'])
        cols = run.engine.gather(data, [f'_pii_{k}' for k in KINDS])
        run.report.redactions = {k: int(cols[f'_pii_{k}'].sum()) for k in KINDS
                                 if k in opts['kinds']}
        return data, None


CURATION_STAGES.register('safe', SafeStage())
