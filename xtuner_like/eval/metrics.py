"""Per-sample text metrics for generated answers, in every language: exact match and token F1
(SQuAD's normalisation, punctuation of any script removed), ROUGE-L (Google's
``rouge-score``) and chrF (``sacrebleu``).

Words are runs of letters and digits, and each CJK character is a word of its own: text
without spaces would otherwise be one "word" per clause (and ``rouge-score``'s own tokenizer
drops every non-ASCII character, scoring Chinese 0).
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

_ARTICLES = re.compile(r'\b(a|an|the)\b')
_WORDS = re.compile(r'[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]|\w+')


def _no_punctuation(text: str) -> str:
    return ''.join(' ' if unicodedata.category(c).startswith('P') else c for c in text)


def words(text: str) -> list[str]:
    """Lower-cased words; each CJK character is one."""
    return _WORDS.findall(text.lower())


def normalize_answer(text: str) -> str:
    """Lower case, no punctuation, articles or extra whitespace (SQuAD v1.1's rule)."""
    return ' '.join(_ARTICLES.sub(' ', _no_punctuation(text.lower())).split())


def exact_match(prediction: str, reference: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(reference))


def token_f1(prediction: str, reference: str) -> float:
    """F1 of the normalised words the prediction shares with the reference."""
    pred, ref = words(normalize_answer(prediction)), words(normalize_answer(reference))
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


class _StemmedWords:
    """rouge-score's tokenizer interface: :func:`words`, Porter-stemmed where stemming applies."""

    def __init__(self):
        from nltk.stem import porter
        self.stemmer = porter.PorterStemmer()

    def tokenize(self, text: str) -> list[str]:
        return [self.stemmer.stem(w) if w.isascii() and len(w) > 3 else w for w in words(text)]


@lru_cache(maxsize=1)
def _rouge():
    from rouge_score import rouge_scorer
    return rouge_scorer.RougeScorer(['rougeL'], tokenizer=_StemmedWords())


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure (longest common subsequence of stemmed words)."""
    return float(_rouge().score(reference, prediction)['rougeL'].fmeasure)


@lru_cache(maxsize=1)
def _chrf():
    from sacrebleu.metrics import CHRF
    return CHRF()


def chrf(prediction: str, reference: str) -> float:
    """Sentence-level chrF (character n-gram F-score, 0-100), sacrebleu's defaults."""
    return float(_chrf().sentence_score(prediction, [reference]).score)
