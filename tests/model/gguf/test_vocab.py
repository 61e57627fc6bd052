"""Tests for xtuner_like/model/gguf/vocab.py: a HF fast tokenizer -> GGUF tokenizer.* data."""
from __future__ import annotations

import json

import pytest
from conftest import make_tiny_tokenizer
from gguf_helpers import make_spm_tokenizer

from xtuner_like.errors import ConfigError
from xtuner_like.model.gguf.vocab import (BYTE, CONTROL, NORMAL, UNUSED, _spm_scores,
                                          build_vocab, pre_tokenizer_name, tokenizer_kind)


def _spec(tokenizer):
    return json.loads(tokenizer.backend_tokenizer.to_str())


def test_tokenizer_kind_tells_byte_level_from_sentencepiece():
    assert tokenizer_kind(_spec(make_tiny_tokenizer()), 'm') == 'gpt2'
    assert tokenizer_kind(_spec(make_spm_tokenizer()), 'm') == 'llama'
    with pytest.raises(ConfigError, match="m: tokenizer model 'WordPiece'.*supported"):
        tokenizer_kind({'model': {'type': 'WordPiece'}}, 'm')


@pytest.mark.parametrize('pre,name', [
    ({'type': 'ByteLevel', 'use_regex': True}, 'gpt-2'),
    ({'type': 'Sequence', 'pretokenizers': [{'type': 'Digits', 'individual_digits': True},
                                            {'type': 'ByteLevel', 'use_regex': True}]},
     'smollm'),
    ({'type': 'Sequence', 'pretokenizers': [{'type': 'Split', 'pattern': {'Regex': 'x+'}},
                                            {'type': 'ByteLevel', 'use_regex': False}]},
     'default'),
    (None, 'default')])
def test_pre_tokenizer_name(pre, name):
    assert pre_tokenizer_name(pre) == name


def test_spm_scores_rank_tokens_by_the_merge_that_makes_them():
    vocab = {'a': 0, 'b': 1, 'ab': 2, 'abb': 3, 'c': 4}
    assert _spm_scores(vocab, ['a b', 'ab b', 'a b'], 6) == [0.0, 0.0, -1.0, -2.0, 0.0, 0.0]


@pytest.mark.parametrize('make', [make_tiny_tokenizer, make_spm_tokenizer])
def test_build_vocab_pads_to_the_embedding_rows_and_types_every_token(make):
    tok = make()
    n_vocab = len(tok) + 3
    vocab = build_vocab(tok, n_vocab, 'm')
    assert len(vocab.tokens) == len(vocab.types) == len(vocab.scores) == n_vocab
    assert vocab.types[-3:] == [UNUSED] * 3 and vocab.tokens[-1] == f'[PAD{n_vocab - 1}]'
    assert vocab.types[tok.eos_token_id] == CONTROL
    assert vocab.special_ids['eos'] == tok.eos_token_id
    kinds = set(vocab.types)
    assert NORMAL in kinds and ((BYTE in kinds) == (vocab.model == 'llama'))
    assert (vocab.model == 'gpt2') == bool(vocab.merges)


def test_build_vocab_refuses_more_tokens_than_embedding_rows():
    tok = make_tiny_tokenizer()
    with pytest.raises(ConfigError, match='resize_token_embeddings'):
        build_vocab(tok, len(tok) - 1, 'm')
