"""Where personal data and secrets are in a text: one finder per kind, spans out.

Kinds are found in the order of :data:`FINDERS` (keys and secrets, IBANs and cards before
phones), and a later kind never takes a span that overlaps an earlier one, so a digit run
inside a key, an IBAN or a card is not also taken for a phone, and nothing is half
redacted. Well-kept libraries decide what their formats allow: ``phonenumbers`` (phones in
international and national formats), ``schwifty`` (IBANs with their mod-97 check),
``detect-secrets`` (AWS key patterns, key names of secrets, Shannon entropy).

Context rules keep ordinary numbers out: a candidate right after a word such as
'version', 'ISBN' or 'ZIP', an operand of arithmetic (``123456789012345 + 7``), a date, a
range of years ('1601-1613'), a decimal number or a coordinate is not personal data.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Callable, Iterator

Span = tuple[int, int]

_OCTET = r'(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)'
_H16 = r'[0-9A-Fa-f]{1,4}'
API_KEY = re.compile(
    r'-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----'
    r'|\b(?:sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}'
    r'|(?:AKIA|ASIA)[0-9A-Z]{16}'
    r'|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}'
    r'|xox[abposr]-[A-Za-z0-9-]{10,}'
    r'|AIza[0-9A-Za-z_\-]{35}'
    r'|hf_[A-Za-z0-9]{30,}'
    r'|(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}'
    r'|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})')
# 13-19 digits in one run, or in the groups cards print (4-4-4-4[-3], 4-6-5); Luhn-checked.
CARD = re.compile(r'(?<![A-Za-z0-9_.,])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}'
                  r'|\d{4}([ -])\d{6}\2\d{4,5})(?![A-Za-z0-9_]|[.,]\d)')
EMAIL = re.compile(r'(?<![A-Za-z0-9_.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*'
                   r'\.[A-Za-z]{2,}(?![A-Za-z0-9_])')
IP = re.compile(rf'(?<![A-Za-z0-9_.]){_OCTET}(?:\.{_OCTET}){{3}}(?![A-Za-z0-9_]|\.\d)'
                rf'|(?<![A-Za-z0-9_:])(?:{_H16}:){{7}}{_H16}(?![A-Za-z0-9_:])'
                rf'|(?<![A-Za-z0-9_:])(?:{_H16}:){{1,6}}:(?:{_H16}:){{0,5}}{_H16}'
                r'(?![A-Za-z0-9_:])')
# Lookarounds name ASCII word characters: a number right after a Chinese character ('拨打
# 13812345678') is still found. Digit groups split by at most one space, dot or dash (a
# group may be in parentheses), with an optional + or 00 country prefix; phonenumbers
# decides whether it is a phone.
PHONE = re.compile(r'(?<![A-Za-z0-9_.+\-/])(?:\+|\b00)?(?:\(\d{1,5}\)|\d{1,6})'
                   r'(?:[ .\-]?(?:\(\d{1,5}\)|\d{1,6}))*(?![A-Za-z0-9_]|[.,]\d|-\d)')
IBAN = re.compile(r'(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?'
                  r'(?![A-Za-z0-9])')
# National formats tried for a number without a country code.
REGIONS = ('US', 'CN', 'GB', 'DE', 'FR', 'IN', 'JP')

_NOT_PII_BEFORE = re.compile(
    r'(?i)(?:\b(?:versions?|ver|v|release|build|isbn(?:-1[03])?|issn|doi|zip|zip code|'
    r'postal code|postcode|lat|lon|lng|latitude|longitude|patent|order|invoice|id)'
    r'\s*(?:no\.?|number|#)?\s*[:#]?\s*'
    r'|(?:版本号?|编号|邮编|邮政编码|订单号?|坐标|纬度|经度|书号)\s*[:：]?\s*)$')
_ARITH_BEFORE = re.compile(r'[\d)]\s*[-+*/×÷^%]\s*$')
_ARITH_AFTER = re.compile(r'^\s*[-+*/×÷^%=]\s*[\d(]')
_DATE = re.compile(r'^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$')
_ZIP4 = re.compile(r'^\d{5}-\d{4}$')
_YEARS = re.compile(r'^(?:1[0-9]|20)\d\d ?- ?(?:1[0-9]|20)\d\d$')     # '1601-1613'
_ISBN = re.compile(r'^97[89][- ]\d{1,5}[- ]\d{1,7}[- ]\d{1,7}[- ][\dX]$')


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


def ordinary_number(text: str, start: int, end: int) -> bool:
    """A number that its context shows is not personal data (see the module docstring)."""
    before = text[max(0, start - 24):start]
    return bool(_NOT_PII_BEFORE.search(before) or _ARITH_BEFORE.search(before)
                or _ARITH_AFTER.match(text[end:end + 8]))


def _spans(pattern: re.Pattern, text: str, accept: Callable[[str, int, int], bool] = None
           ) -> Iterator[Span]:
    for m in pattern.finditer(text):
        if accept is None or accept(m.group(0), m.start(), m.end()):
            yield m.start(), m.end()


def find_cards(text: str) -> Iterator[Span]:
    return _spans(CARD, text, lambda s, a, b: luhn_ok(re.sub(r'\D', '', s))
                  and not ordinary_number(text, a, b))


def find_ips(text: str) -> Iterator[Span]:
    return _spans(IP, text, lambda s, a, b: not ordinary_number(text, a, b))


def find_ibans(text: str) -> Iterator[Span]:
    from schwifty import IBAN as Iban
    from schwifty.exceptions import SchwiftyException

    def valid(s: str, a: int, b: int) -> bool:
        try:
            Iban(s, validate_bban=False)
        except (SchwiftyException, ValueError):
            return False
        return True
    return _spans(IBAN, text, valid)


@lru_cache(maxsize=1)
def _secret_tools() -> tuple:
    from detect_secrets.plugins.aws import AWSKeyDetector
    from detect_secrets.plugins.high_entropy_strings import (Base64HighEntropyString,
                                                             HexHighEntropyString)
    from detect_secrets.plugins.keyword import DENYLIST
    names = '|'.join(DENYLIST + ('token', 'access_?key', 'secret_?key', 'credential'))
    assign = re.compile(rf'(?i)[\w.-]*(?:{names})[\w.-]*["\']?\s*(?:[:=]|:=|=>)\s*["\']?'
                        r'([A-Za-z0-9/+=_\-.~]{16,})')
    return assign, AWSKeyDetector.denylist[1:], Base64HighEntropyString(), HexHighEntropyString()


def find_secrets(text: str) -> Iterator[Span]:
    """Values of high Shannon entropy (detect-secrets' limits) assigned to a key name
    (``aws_secret_access_key = ...``, ``"password": "..."``), and detect-secrets' AWS
    secret-key patterns."""
    assign, aws, b64, hexa = _secret_tools()
    for m in assign.finditer(text):
        value = m.group(1)
        plugin = hexa if re.fullmatch(r'[0-9a-fA-F]+', value) else b64
        # A short value cannot reach the plugin's limit (16 characters: at most 4 bits a
        # character); next to a key name, 80% of what its length allows is enough.
        limit = min(plugin.entropy_limit, 0.8 * math.log2(len(value)))
        if plugin.calculate_shannon_entropy(value) >= limit:
            yield m.start(1), m.end(1)
    for pattern in aws:
        for m in pattern.finditer(text):
            yield m.start(1), m.end(1)


def _phone_ok(s: str, text: str, start: int, end: int) -> bool:
    import phonenumbers
    digits = sum(c.isdigit() for c in s)
    international = s.startswith(('+', '00'))
    separated = bool(re.search(r'[ .\-()]', s))
    # An unseparated national number is a phone only as a Chinese mobile (11 digits from
    # 13-19): other digit runs are ids, counts and timestamps far more often.
    if not 7 <= digits <= 15 or (not international and not separated
                                 and not re.fullmatch(r'1[3-9]\d{9}', s)):
        return False
    if (_DATE.match(s) or _ZIP4.match(s) or _ISBN.match(s) or _YEARS.match(s)
            or s.count('.') == 1 and not re.search(r'[ \-()]', s)
            or ordinary_number(text, start, end)):
        return False
    number = s.replace('(0)', '')
    try:
        if international:
            parsed = phonenumbers.parse('+' + number.lstrip('+')[2 * number.startswith('00'):],
                                        None)
            return phonenumbers.is_possible_number(parsed)
        return any(phonenumbers.is_valid_number(phonenumbers.parse(number, region))
                   for region in REGIONS)
    except phonenumbers.NumberParseException:
        return False


def find_phones(text: str) -> Iterator[Span]:
    return _spans(PHONE, text, lambda s, a, b: _phone_ok(s, text, a, b))


_HAS_DIGIT = re.compile(r'\d').search
_SECRET_HINT = re.compile(r'(?i)key|pass|pwd|secret|token|auth|credential|contrase').search
# Kind -> (cheap test that rules the kind out, finder); in the order kinds are matched.
FINDERS: dict[str, tuple[Callable[[str], object], Callable[[str], Iterator[Span]]]] = {
    'api_key': (re.compile(r'sk-|_live_|_test_|AKIA|ASIA|gh[pousr]_|github_pat_|xox|AIza|hf_'
                           r'|eyJ|-----BEGIN').search, lambda t: _spans(API_KEY, t)),
    'secret': (_SECRET_HINT, find_secrets),
    'iban': (re.compile(r'[A-Z]{2}\d{2}').search, find_ibans),
    'credit_card': (_HAS_DIGIT, find_cards),
    'email': (lambda t: '@' in t, lambda t: _spans(EMAIL, t)),
    'ip_address': (_HAS_DIGIT, find_ips),
    'phone': (_HAS_DIGIT, find_phones),
}


def find_pii(text: str, kinds: tuple[str, ...] | list[str]) -> list[tuple[int, int, str]]:
    """Non-overlapping ``(start, end, kind)`` of ``kinds`` in ``text``, sorted."""
    taken: list[tuple[int, int, str]] = []
    for kind, (hint, finder) in FINDERS.items():
        if kind not in kinds or not hint(text):
            continue
        for a, b in finder(text):
            if b > a and not any(a < e and s < b for s, e, _ in taken):
                taken.append((a, b, kind))
    return sorted(taken)
