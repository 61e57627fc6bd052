import pytest

import json
import random

from xtuner_like.curate.clean import (blob_share, char_repetition, clean_batch, clean_reason,
                                      gibberish, is_regex, line_repetition, mojibake,
                                      ngram_repetition, prompt_echo, prompt_parts, text_ratio)
from xtuner_like.curate.config import load_curate_config

from .conftest import batch, sample

OPTS = load_curate_config()['clean']
GOOD = 'The mitochondria is the powerhouse of the cell; it makes most of its ATP.'


def turn(output, input='Explain.', system=''):
    return {'system': system, 'input': input, 'output': output}


@pytest.mark.parametrize('turns, reason', [
    ([turn(GOOD)], ''),
    ([turn(GOOD, input='')], ''),                                  # pre-training text
    ([turn('  \n ')], 'no_reply'),
    ([turn(GOOD), turn(GOOD, input=' ')], 'empty_turn'),
    ([turn(GOOD), turn(GOOD, input='')], 'empty_turn'),
    ([turn('x' * 40000)], 'reply_length'),
    ([turn('\n'.join(['same line'] * 5 + ['other']))], 'line_repetition'),
    ([turn('buy now ' * 30)], 'ngram_repetition'),
    ([turn('abcdefghij' * 20)], 'char_repetition'),
    ([turn('@#$%^&*()!@#$%^&*(){}[]<>')], 'non_text'),
    ([turn('}{][*&^%$#@!~' * 3, input=GOOD * 3)], 'non_text'),    # a long prompt hides nothing
    ([turn(GOOD, input=GOOD)], 'prompt_echo'),
    ([turn('Please repeat: ' + GOOD, input=GOOD)], 'prompt_echo'),
    ([turn('线粒体是细胞的动力工厂，它产生细胞所需的大部分能量。',
           input='线粒体是细胞的动力工厂，它产生细胞所需的大部分能量。')], 'prompt_echo'),
    ([turn('xkqjz wpflm rtvbn qzmx jhgf plkmn vbxz wqrt')], 'gibberish'),
    ([turn('Here: ' + 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwYWJjZGVm' * 2)],
     'encoded_blob'),
])
def test_each_rule(turns, reason):
    assert clean_reason(sample(*turns), OPTS)[0] == reason


def test_a_rule_set_to_none_is_off():
    assert clean_reason(sample(turn('buy now ' * 30)), {**OPTS, 'max_ngram_repetition': None,
                                                  'max_char_repetition': None})[0] == ''


def test_measures():
    assert line_repetition('abc\nbcd\nabc\nabc') == 0.5 and line_repetition('abc\nabc') == 0.0
    assert ngram_repetition('xa yb zc ' * 10) > 0.85 and ngram_repetition(GOOD) == 0.0
    assert char_repetition('ab' * 50) > 0.9 and char_repetition(GOOD) == 0.0
    assert text_ratio('ab  ') == 1.0 and text_ratio('a$$$') == 0.25
    assert mojibake('naÃ¯ve') and not mojibake('naïve') and not mojibake('“quoted”')
    assert prompt_echo(GOOD, GOOD) == 1.0 and prompt_echo('Yes.', 'Yes.') == 1.0
    assert prompt_echo('He goes to school.', 'Fix the grammar: He go to school.') < 0.5
    assert prompt_echo('Add commas: I packed apples oranges and bananas',
                       'I packed apples, oranges, and bananas.') < 0.85
    assert gibberish(GOOD) == 0.0 and gibberish('TCP UDP FTP HTTP SSH SMTP NFS') == 0.0
    assert blob_share('sha ' + 'ab12' * 16) > 0.9 and blob_share(GOOD) == 0.0


def test_random_letter_gibberish_is_dropped_and_prose_is_not():
    rng = random.Random(0)
    for _ in range(50):
        words = [''.join(rng.choice('abcdefghijklmnopqrstuvwxyz')
                         for _ in range(rng.randint(3, 9))) for _ in range(rng.randint(8, 40))]
        assert clean_reason(sample(turn(' '.join(words))), OPTS)[0] == 'gibberish'


def test_mojibake_is_repaired_where_ftfy_is_sure_and_dropped_where_not():
    good = sample(turn('Café au lait, naïve résumé à la carte.'))
    broken = sample(turn('CafÃ© au lait, naÃ¯ve rÃ©sumÃ© Ã  la carte.'))
    hopeless = sample(turn('The caf\ufffd\ufffd and na\ufffdve r\ufffdsum\ufffd \ufffd la carte.'))
    out = clean_batch(batch([good, broken, hopeless]), opts=OPTS)
    assert out['_reason'] == ['', '', 'mojibake']
    assert json.loads(out['sample'][1]) == good
    out = clean_batch(batch([broken]), opts={**OPTS, 'mojibake': 'drop'})
    assert out['_reason'] == ['mojibake']
    assert clean_batch(batch([broken]), opts={**OPTS, 'mojibake': 'keep'})['_reason'] == ['']


def test_token_bounds(tmp_path):
    from tests.conftest import make_tiny_tokenizer
    tok = make_tiny_tokenizer(tmp_path)
    short, long = (len(tok('Eat well.', add_special_tokens=False)['input_ids']),
                   len(tok(GOOD, add_special_tokens=False)['input_ids']))
    assert short < long
    opts = {**OPTS, 'tokenizer': str(tmp_path), 'max_reply_tokens': short}
    out = clean_batch(batch([sample(turn('Eat well.')), sample(turn(GOOD))]), opts=opts)
    assert out['_reason'] == ['', 'reply_tokens'] and f'tokens (> {short})' in out['_detail'][1]


def test_a_reply_repeating_only_the_instruction_of_a_row_with_an_input_is_an_echo():
    """Alpaca joins instruction and input into one prompt; a reply that repeats only the
    instruction shares too little with the whole, but all with its first line."""
    instruction = 'Rewrite the following sentence so that it sounds more formal and polite.'
    inp = ('hey, send me the report by tomorrow or else there will be trouble for the whole '
           'team and for you personally, ok?')
    row = sample(turn(instruction, input=instruction + '\n' + inp))
    assert prompt_echo(instruction, instruction + '\n' + inp) < 0.85
    assert clean_reason(row, OPTS)[0] == 'prompt_echo'
    assert prompt_parts([instruction + '\n' + inp]) == [instruction + '\n' + inp, instruction]
    assert prompt_parts(['One line.']) == ['One line.']


def test_a_reply_repeating_the_input_is_not_an_echo():
    """Repeating the input can be the answer (fix the punctuation of ...)."""
    row = sample(turn('I packed apples, oranges, and bananas for the trip.',
                      input='Add commas where needed.\nI packed apples oranges and bananas '
                            'for the trip.'))
    assert clean_reason(row, OPTS)[0] == ''


@pytest.mark.parametrize('reply', [
    # alpaca_5000: 'Write a regex for an email address.', 'Create a regular expression that
    # matches a valid UK phone number.' (text ratio 0.36 and 0.31: once dropped as non_text)
    "^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    "(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$",
    '^(?:(\\+44\\s?\\d{4}|\\(?0\\d{4}\\)?)\\s?\\d{3}\\s?\\d{3}|(\\+44\\s?\\d{3}'
    '|\\(?0\\d{3}\\)?)\\s?\\d{3}\\s?\\d{4})$',
])
def test_a_regular_expression_reply_is_not_garbage(reply):
    assert is_regex(reply) and text_ratio(reply) == 1.0
    assert clean_reason(sample(turn(reply, input='Write a regex.')), OPTS)[0] == ''


@pytest.mark.parametrize('garbage', ['#@!$%^&*(){}[]<>~' * 8, '}{][*&^%$#@!~' * 3,
                                     '((((((()))))))', '.*.*.*.*?+?+'])
def test_symbol_garbage_is_no_regular_expression(garbage):
    assert not is_regex(garbage)


def test_web_addresses_in_chinese_replies_are_no_gibberish():
    """alpaca_zh_demo: a reply naming websites ('www' has no vowel) was dropped."""
    reply = ('1. Meetup (www.meetup.com)：Meetup 是一个网络平台，可以连接当地活动和兴趣小组。\n\n'
             '2. Eventbrite (www.eventbrite.com)：Eventbrite 是一个活动管理和售票网站。')
    assert gibberish(reply) == 0.0
    assert clean_reason(sample(turn(reply, input='列出两个网站。')), OPTS)[0] == ''


def test_ascii_diagrams_and_truth_tables_are_not_repetition():
    """alpaca_zh_demo: a flowchart of boxes; alpaca_5000: a truth table (once dropped as
    line / n-gram repetition)."""
    box = '    +-------------------+\n'
    chart = '```\n' + box + '    |    加载数据集       |\n' + box + '            |\n            v\n' + \
        box + '    | 分为训练集和验证集   |\n' + box + '            |\n            v\n' + box + \
        '    |      训练模型      |\n' + box + '```'
    table = 'P    Q    R    S    (~P -> Q) v (R -> S)\n' + '\n'.join(
        '  ' + '    '.join(row) + '          T' for row in
        ['TTTT', 'TTFF', 'TFTT', 'TFFF', 'FTTT', 'FTFF', 'FFTT', 'FFFF'])
    assert line_repetition(chart) == 0.0 and ngram_repetition(table) == 0.0
    for reply in (chart, table):
        assert clean_reason(sample(turn(reply, input='Draw it.')), OPTS)[0] == ''
    assert line_repetition('\n'.join(['buy now'] * 4)) == 0.75
