import pytest

from xtuner_like.curate.clean import (char_repetition, clean_batch, clean_reason,
                                      line_repetition, mojibake_ratio, ngram_repetition,
                                      text_ratio)
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
    ([turn('CafÃ© au lait, naÃ¯ve rÃ©sumÃ© Ã  la carte')], 'mojibake'),
])
def test_each_rule(turns, reason):
    assert clean_reason(sample(*turns), OPTS)[0] == reason


def test_a_rule_set_to_none_is_off():
    assert clean_reason(sample(turn('buy now ' * 30)), {**OPTS, 'max_ngram_repetition': None,
                                                  'max_char_repetition': None})[0] == ''


def test_measures():
    assert line_repetition('a\nb\na\na') == 0.5 and line_repetition('a\na') == 0.0
    assert ngram_repetition('x y z ' * 10) > 0.85 and ngram_repetition(GOOD) == 0.0
    assert char_repetition('ab' * 50) > 0.9 and char_repetition(GOOD) == 0.0
    assert text_ratio('ab  ') == 1.0 and text_ratio('a$$$') == 0.25
    assert mojibake_ratio('naÃ¯ve') > 0 and mojibake_ratio('naïve') == 0


def test_token_bounds(tmp_path):
    from tests.conftest import make_tiny_tokenizer
    tok = make_tiny_tokenizer(tmp_path)
    short, long = (len(tok('Eat well.', add_special_tokens=False)['input_ids']),
                   len(tok(GOOD, add_special_tokens=False)['input_ids']))
    assert short < long
    opts = {**OPTS, 'tokenizer': str(tmp_path), 'max_reply_tokens': short}
    out = clean_batch(batch([sample(turn('Eat well.')), sample(turn(GOOD))]), opts=opts)
    assert out['_reason'] == ['', 'reply_tokens'] and f'tokens (> {short})' in out['_detail'][1]
