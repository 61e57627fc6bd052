import pytest

import json

from xtuner_like.curate.safe import KINDS, PLACEHOLDERS, luhn_ok, redact, safe_batch

from .conftest import batch, sample

# Every planted kind in the shapes it comes in; each must become exactly its placeholder.
PLANTED = {
    'email': ['jane.doe@example.org', 'x_y+tag@mail.co.uk', 'A1@b-c.io'],
    'phone': ['+1 415-555-0132', '(415) 555-0132', '415.555.0132', '+44 20 7946 0958',
              '+4915123456789', '1-800-362-0101'],
    'ip_address': ['192.168.0.1', '8.8.8.8', '2001:db8::ff00:42:8329',
                   '2001:0db8:0000:0000:0000:ff00:0042:8329'],
    'credit_card': ['4111 1111 1111 1111', '5555-5555-5555-4444', '378282246310005',
                    '3782 822463 10005', '6011111111111117'],
    'api_key': ['sk-' + 'a1B2' * 12, 'sk-proj-' + 'Zx9_' * 10, 'AKIAIOSFODNN7EXAMPLE',
                'ghp_' + 'a' * 36, 'xoxb-123456789012-abcdefABCDEF', 'AIza' + 'b' * 35,
                'hf_' + 'c' * 34, 'sk_live_' + 'd' * 24,
                'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijk',
                '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----'],
}


@pytest.mark.parametrize('kind, value', [(k, v) for k, vs in PLANTED.items() for v in vs])
def test_every_planted_kind_becomes_its_placeholder(kind, value):
    text, counts = redact(f'Contact: {value}. Thanks', KINDS)
    assert text == f'Contact: {PLACEHOLDERS[kind]}. Thanks' and counts == {kind: 1}


@pytest.mark.parametrize('text', [
    'Version 1.2.3 was released on 2023-01-15 at 10:30.', 'pi is 3.14159265358979',
    'ISBN 978-3-16-148410-0', 'Order 4111 1111 1111 1112 failed',  # fails Luhn
    'The answer is 42, then 1000000.', '01010100 01110011 00100000 01110011',
    'Call 911 now', 'f(x) = x @ y'])
def test_ordinary_numbers_and_text_are_left_alone(text):
    assert redact(text, KINDS) == (text, {})


def test_only_the_chosen_kinds():
    assert redact('a@b.io 8.8.8.8', ['ip_address']) == ('a@b.io <IP_ADDRESS>',
                                                          {'ip_address': 1})


def test_luhn():
    assert luhn_ok('79927398713') and not luhn_ok('79927398710')


def test_redact_or_drop_rows():
    rows = batch([sample({'system': 'mail ops@corp.com', 'input': 'hi',
                          'output': 'call 415-555-0132'}),
                  sample({'system': '', 'input': 'hi', 'output': 'hello'})])
    out = safe_batch(rows, kinds=list(KINDS), action='redact')
    assert json.loads(out['sample'][0])['conversation'][0] == {
        'system': 'mail <EMAIL>', 'input': 'hi', 'output': 'call <PHONE>'}
    assert out['sample'][1] == rows['sample'][1]
    assert out['_pii_email'] == [1, 0] and out['_pii_phone'] == [1, 0]
    assert out['_reason'] == ['', '']
    out = safe_batch(rows, kinds=list(KINDS), action='drop')
    assert out['_reason'] == ['pii', ''] and out['_detail'][0] == 'email x1, phone x1'
