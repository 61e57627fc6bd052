"""Stage 'safe': personal data and secrets become typed placeholders (or drop the row).

What is personal data is decided by :mod:`.pii` (one finder per kind, in its order; no
partial redactions); which text is scrubbed by :func:`.text.rewrite` (every turn, tool
arguments and results, thinking, both replies of a pair).
"""
from __future__ import annotations

import difflib
from typing import Any

from .pii import FINDERS, find_pii, luhn_ok  # noqa: F401  (luhn_ok: the card check)
from .stage import CURATION_STAGES, ENABLED, Option, Stage
from .text import decode, encode, rewrite

PLACEHOLDERS = {'api_key': '<API_KEY>', 'secret': '<SECRET>', 'iban': '<IBAN>',
                'credit_card': '<CREDIT_CARD>', 'email': '<EMAIL>',
                'ip_address': '<IP_ADDRESS>', 'phone': '<PHONE>'}
KINDS = tuple(FINDERS)
assert set(KINDS) == set(PLACEHOLDERS)


def redact(text: str, kinds: tuple[str, ...] | list[str]) -> tuple[str, dict[str, int]]:
    """``text`` with every find of ``kinds`` replaced by its placeholder, and the counts.

    >>> redact('mail bob@example.com or call +1 415-555-0132', KINDS)
    ('mail <EMAIL> or call <PHONE>', {'email': 1, 'phone': 1})
    """
    counts: dict[str, int] = {}
    out, end = [], 0
    for a, b, kind in find_pii(text, kinds):
        out += [text[end:a], PLACEHOLDERS[kind]]
        counts[kind] = counts.get(kind, 0) + 1
        end = b
    return (''.join(out) + text[end:] if counts else text), counts


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
