import pytest

from xtuner_like.curate.pii import find_pii, luhn_ok, ordinary_number
from xtuner_like.curate.safe import KINDS, PLACEHOLDERS, redact

PLANTED = {
    'phone': ['+86 138 1234 5678', '13812345678', '(010) 6552 8888', '010-65528888',
              '+44 7700 900123', '+44 (0)20 7946 0958', '020 7946 0958', '+49 30 123456',
              '030 1234567', '+33 1 23 45 67 89', '01 23 45 67 89', '+91 98765 43210',
              '098765 43210', '+81 3-1234-5678', '03-1234-5678', '+14155550132',
              '0044 20 7946 0958', '(415) 555-0132'],
    'iban': ['GB82 WEST 1234 5698 7654 32', 'GB82WEST12345698765432',
             'DE89 3704 0044 0532 0130 00', 'FR14 2004 1010 0505 0001 3M02 606',
             'NL91 ABNA 0417 1643 00', 'ES91 2100 0418 4502 0005 1332'],
    'secret': ['aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
               'AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
               '"password": "Zq8#xT2!pL9@vR4$"'.replace('#', 'h').replace('!', 'k')
               .replace('@', 'm').replace('$', 'w'),
               'client_secret: 9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a'],
}
SECRET_VALUES = ['wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
                 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
                 'Zq8hxT2kpL9mvR4w', '9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a']


@pytest.mark.parametrize('value', PLANTED['phone'])
def test_phones_in_international_and_national_formats_are_redacted_whole(value):
    assert redact(f'Call me at {value} tonight.', KINDS) == (
        'Call me at <PHONE> tonight.', {'phone': 1})


@pytest.mark.parametrize('value', PLANTED['iban'])
def test_ibans_with_a_valid_checksum_are_redacted_not_cut_into_cards(value):
    assert redact(f'Pay to {value} please', KINDS) == ('Pay to <IBAN> please', {'iban': 1})
    broken = value[:2] + ('00' if value[2:4] != '00' else '01') + value[4:]
    assert 'IBAN' not in redact(f'Pay to {broken} please', KINDS)[0]     # mod-97 fails


@pytest.mark.parametrize('line, value', list(zip(PLANTED['secret'], SECRET_VALUES)))
def test_high_entropy_secrets_next_to_a_key_name_lose_their_value(line, value):
    text, counts = redact(line, KINDS)
    assert counts == {'secret': 1} and value not in text and '<SECRET>' in text
    assert text.replace('<SECRET>', value) == line


DECOYS = [
    'Upgrade to version 1.2.3.4 today.', 'Released v10.0.19041.1 in May.',
    'Born on 2023-01-15, moved on 15/01/2023 and 01.02.2024.',
    'ISBN 978-3-16-148410-0 and ISBN-13: 9780306406157.', 'See 978-0-306-40615-7.',
    'Mail it to ZIP 94103-1234 or 10001.',
    'Coordinates 37.774929 -122.419416 and 48.8566, 2.3522.',
    'Compute 378282246310005 + 4111 and 123456789012345 * 2.',
    'What is 1234567 + 7654321? It is 8888888.', 'x = 3.14159265358979 / 2',
    '@app.route("/users")\ndef users():\n    return db.query(User)',
    '@property\ndef name(self): return self._name', 'The year 1999 had 365 days and 8760 hours.',
    'Build 20231115 passed; the order id is 8675309.', 'Population: 1,400,000,000 people.',
    'Room 101, floor 3; call extension 42.', 'A timestamp: 1700000000.',
    'git commit 9fceb02d0ae598e95dc970b74767f19372d61af8',
    'The token count was 2048 and the api_key parameter is optional.',
    # a range of years (alpaca_5000: Shakespeare's periods, once taken for a phone)
    'the middle period from 1595 to 1600, and the later period from 1601-1613.',
]


@pytest.mark.parametrize('text', DECOYS)
def test_decoys_are_left_alone(text):
    assert redact(text, KINDS) == (text, {})


def test_kinds_never_overlap_and_come_in_order():
    text = 'IBAN DE89 3704 0044 0532 0130 00, card 4111 1111 1111 1111, call +44 20 7946 0958'
    found = find_pii(text, KINDS)
    assert [k for _, _, k in found] == ['iban', 'credit_card', 'phone']
    assert all(a[1] <= b[0] for a, b in zip(found, found[1:]))
    assert PLACEHOLDERS['iban'] == '<IBAN>'


def test_context_rules():
    text = 'version 1.2.3.4 and 5 + 123456789012345'
    assert ordinary_number(text, 8, 15)
    assert ordinary_number(text, text.index('1234567'), len(text))
    assert not ordinary_number('call 0123456789 now', 5, 15)
    assert luhn_ok('378282246310005')


def test_pii_inside_chinese_text():
    text, counts = redact('请拨打13812345678或(010) 6552 8888联系，'
                          '邮箱zhang.san@example.cn，地址192.168.1.20。', KINDS)
    assert text == '请拨打<PHONE>或<PHONE>联系，邮箱<EMAIL>，地址<IP_ADDRESS>。'
    assert counts == {'phone': 2, 'email': 1, 'ip_address': 1}
    assert redact('版本号 1.2.3.4，共计 1700000000 元。', KINDS)[1] == {}
