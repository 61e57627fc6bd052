import random
import re
import subprocess
import sys
import unicodedata

from xtuner_like.curate.text import (normalize, pieces, rewrite, sample_text, stable_hash,
                                     word_ngrams)


def test_normalize_ignores_case_whitespace_and_punctuation():
    assert normalize('Hello,  WORLD!\n') == normalize('hello world') == 'hello world'
    assert normalize('Ｆｕｌｌ width') == 'full width'          # NFKC


def test_ascii_text_is_normalized_as_any_text():
    """ASCII text takes a faster path (str.translate); it gives what the regexes give."""
    def slow(text):
        text = unicodedata.normalize('NFKC', text).lower()
        return re.sub(r'\s+', ' ', re.sub(r'[^\w\s]+', ' ', text)).strip()
    rng = random.Random(0)
    texts = [''.join(map(chr, range(128)))] + [
        ''.join(chr(rng.randrange(128)) for _ in range(rng.randrange(40))) for _ in range(2000)]
    assert [normalize(t) for t in texts] == [slow(t) for t in texts]


def test_views_of_a_conversation():
    turns = [{'system': 'S', 'input': 'Q1', 'output': 'A1'},
             {'system': '', 'input': 'Q2', 'output': 'A2'}]
    assert sample_text({'conversation': turns}) == 'S\nQ1\nA1\nQ2\nA2'
    assert sample_text({'conversation': turns}, 'prompt') == 'S\nQ1\nQ2'
    assert sample_text({'conversation': turns}, 'reply') == 'A1\nA2'


TOOL_SAMPLE = {'conversation': [
    {'system': 'S', 'tools': [{'name': 'lookup', 'description': 'Find a person.'}],
     'input': 'Where is Bob?', 'output': '', 'thinking': 'I should look.',
     'tool_calls': [{'name': 'lookup', 'arguments': {'email': 'bob@x.org'}, 'id': 'abc123def'}]},
    {'input': '', 'tool_results': [{'content': {'phone': '555'}, 'call_id': 'abc123def',
                                    'name': 'lookup'}],
     'output': 'Bob is home.'}]}


def test_tool_calls_results_and_thinking_are_text_of_their_parts():
    parts = [(unit, part) for unit, part, _ in pieces(TOOL_SAMPLE)]
    assert (0, 'tools') in parts and (0, 'thinking') in parts and (1, 'tool_result') in parts
    assert sample_text(TOOL_SAMPLE, 'reply') == 'I should look.\nlookup\nbob@x.org\nBob is home.'
    assert sample_text(TOOL_SAMPLE, 'prompt') == 'S\nWhere is Bob?\n555'
    assert 'Find a person.' not in sample_text(TOOL_SAMPLE)      # tool definitions: 'all'
    assert 'Find a person.' in sample_text(TOOL_SAMPLE, 'all')


def test_rewrite_maps_every_text_and_keeps_names_and_ids():
    out = rewrite(TOOL_SAMPLE, str.upper)
    call = out['conversation'][0]['tool_calls'][0]
    assert call == {'name': 'lookup', 'arguments': {'email': 'BOB@X.ORG'}, 'id': 'abc123def'}
    assert out['conversation'][1]['tool_results'][0]['call_id'] == 'abc123def'
    assert out['conversation'][1]['output'] == 'BOB IS HOME.'
    assert TOOL_SAMPLE['conversation'][1]['output'] == 'Bob is home.'     # not in place


def test_a_pair_is_one_unit_with_both_replies():
    pair = {'conversation': [{'input': 'Q'}], 'chosen': 'Good', 'rejected': {'output': 'Bad'}}
    assert sample_text(pair) == 'Q\nGood\nBad'
    assert rewrite(pair, str.lower) == {'conversation': [{'input': 'q'}], 'chosen': 'good',
                                        'rejected': {'output': 'bad'}}


def test_stable_hash_is_the_same_in_another_process():
    code = 'from xtuner_like.curate.text import stable_hash; print(stable_hash("abc", 3))'
    other = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert int(other) == stable_hash('abc', 3) != stable_hash('abc', 4)
    assert -2 ** 63 <= stable_hash('x') < 2 ** 63


def test_word_ngrams_short_text_is_one_gram():
    assert word_ngrams('a b c d'.split(), 3) == ['a b c', 'b c d']
    assert word_ngrams(['a', 'b'], 3) == ['a b'] and word_ngrams([], 3) == []


def test_shingles_are_chosen_by_script_per_row():
    from xtuner_like.curate.text import is_cjk, ngrams
    assert ngrams('The cat sat', 1) == ['the', 'cat', 'sat']
    assert ngrams('用Python写函数', 1, 2) == ['用python', 'python写', '写函', '函数']
    assert is_cjk('今天') and not is_cjk('plain English text with one 字 in it here')
