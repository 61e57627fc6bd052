"""Text metrics in every language."""
from __future__ import annotations

import pytest

from xtuner_like.eval.metrics import chrf, exact_match, normalize_answer, rouge_l, token_f1, words


def test_squad_normalisation_and_exact_match():
    assert normalize_answer('The  Tuna!') == 'tuna'
    assert exact_match('the tuna.', 'Tuna') == 1.0
    assert exact_match('tuna fish', 'tuna') == 0.0
    assert exact_match('金枪鱼。', '金枪鱼') == 1.0       # full-width punctuation too


def test_token_f1_counts_shared_words_and_cjk_characters():
    assert token_f1('I am Tuna', 'Tuna') == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))
    assert token_f1('fox', 'dog') == 0.0
    assert words('我是金枪鱼 ok') == ['我', '是', '金', '枪', '鱼', 'ok']
    assert token_f1('我是金枪鱼', '金枪鱼') == pytest.approx(2 * 0.6 / 1.6)


def test_rouge_l_and_chrf_score_chinese_and_english():
    assert rouge_l('I am Tuna, an assistant.', 'I am Tuna, an assistant.') == 1.0
    assert 0 < rouge_l('I am Tuna', 'I am a tuna assistant') < 1
    assert rouge_l('我是金枪鱼', '我是金枪鱼助手') > 0.8     # rouge-score's own tokenizer gives 0
    assert rouge_l('running dogs', 'run dog') == 1.0       # stemmed
    assert chrf('I am Tuna', 'I am Tuna') == pytest.approx(100.0)
    assert 0 < chrf('I am Tuna', 'I am Nemo') < 100
