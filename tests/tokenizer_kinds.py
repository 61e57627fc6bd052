"""Three locally built tokenizer kinds, to test that trained ids equal served ids.

- ``bpe``: byte-level BPE with the template markers as special tokens (Llama-3 / Qwen style);
- ``sentencepiece``: a Llama-2-style BPE over "▁"-joined words (a prefix space is prepended
  to every text piece), where only <s>, </s> and <unk> are special, so
  ``[INST]`` and friends are plain text, as in Llama-2;
- ``added``: a byte-level BPE trained without any marker, whose markers are added afterwards
  with ``add_special_tokens`` and ``add_tokens`` (added-token matching, like Qwen's <think>).
"""
from __future__ import annotations

import string

from conftest import CORPUS, SPECIAL_TOKENS, make_tiny_tokenizer

MARKERS = ['[INST]', '[/INST]', '<<SYS>>', '<</SYS>>', 'USER:', 'ASSISTANT:', '<think>',
           '</think>', '<tool_call>', '</tool_call>', '<tool_response>', '</tool_response>']
TEXT = CORPUS + MARKERS + ['Paris weather 21 C tools function name arguments city',
                           'Be brief. Hello! See you. Bye Hi there Q1 A1 Q2 A2 r1 r2']
KINDS = ('bpe', 'sentencepiece', 'added')


def make_sentencepiece_like():
    from tokenizers import Tokenizer, decoders, models, normalizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token='<unk>'))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend('▁'),
                                           normalizers.Replace(' ', '▁')])
    tok.decoder = decoders.Sequence([decoders.Replace('▁', ' '), decoders.Fuse(),
                                     decoders.Strip(' ', 1, 0)])
    trainer = trainers.BpeTrainer(
        vocab_size=600, special_tokens=['<unk>', '<s>', '</s>'], show_progress=False,
        initial_alphabet=sorted(set(string.printable + '▁｜' + ''.join(TEXT))))
    tok.train_from_iterator([t.replace(' ', '▁') for t in TEXT] * 4, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token='<s>', eos_token='</s>',
                                   unk_token='<unk>', pad_token='<unk>')


def make_added_tokens():
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(TEXT * 4, trainer=trainer)
    hf = PreTrainedTokenizerFast(tokenizer_object=tok)
    hf.add_special_tokens({'eos_token': '<|endoftext|>', 'pad_token': '<pad>',
                           'additional_special_tokens': SPECIAL_TOKENS})
    hf.add_tokens([AddedToken(m, normalized=False) for m in MARKERS[6:]])
    return hf


def make_tokenizer(kind: str):
    """A tokenizer of ``kind`` (one of KINDS)."""
    return {'bpe': make_tiny_tokenizer, 'sentencepiece': make_sentencepiece_like,
            'added': make_added_tokens}[kind]()
