import subprocess
import sys

from xtuner_like.curate.text import conversation_text, normalize, stable_hash, word_ngrams


def test_normalize_ignores_case_whitespace_and_punctuation():
    assert normalize('Hello,  WORLD!\n') == normalize('hello world') == 'hello world'
    assert normalize('Ｆｕｌｌ width') == 'full width'          # NFKC


def test_conversation_text_by_conversation_and_by_prompt():
    turns = [{'system': 'S', 'input': 'Q1', 'output': 'A1'},
             {'system': '', 'input': 'Q2', 'output': 'A2'}]
    assert conversation_text(turns) == 'S\nQ1\nA1\nQ2\nA2'
    assert conversation_text(turns, 'prompt') == 'S\nQ1\nQ2'


def test_stable_hash_is_the_same_in_another_process():
    code = 'from xtuner_like.curate.text import stable_hash; print(stable_hash("abc", 3))'
    other = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert int(other) == stable_hash('abc', 3) != stable_hash('abc', 4)
    assert -2 ** 63 <= stable_hash('x') < 2 ** 63


def test_word_ngrams_short_text_is_one_gram():
    assert word_ngrams('a b c d'.split(), 3) == ['a b c', 'b c d']
    assert word_ngrams(['a', 'b'], 3) == ['a b'] and word_ngrams([], 3) == []
