"""Shared fixtures: a tiny byte-level BPE tokenizer and a tiny random Llama, built locally."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('HF_DATASETS_OFFLINE', '1')
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')

SHARED_DATA = Path(__file__).resolve().parents[2] / 'shared' / 'data'

# Every special token a built-in template may emit, so each template renders to known ids.
SPECIAL_TOKENS = [
    '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<s>', '</s>', '<unk>', '<pad>',
    '<|begin_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>',
    '<|end_of_text|>', '[INST]', '[/INST]', '<|system|>', '<|user|>', '<|assistant|>',
    '<|end|>', '<start_of_turn>', '<end_of_turn>', '<bos>', '<eos>',
    '<|im_sep|>', '<|User|>', '<|Assistant|>', '<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>',
    '<|action_start|>', '<|action_end|>', '<|interpreter|>', '<|plugin|>',
]

CORPUS = [
    'The quick brown fox jumps over the lazy dog.',
    'Who are you? I am Tuna, an assistant made by the xtuner_like team.',
    'Give three tips for staying healthy. Eat well, sleep enough and exercise.',
    'system user assistant Below is an instruction that describes a task.',
    '0123456789 ### Instruction: ### Response: Human: Assistant: USER: ASSISTANT:',
]


def make_tiny_tokenizer(save_dir: Path | None = None):
    """A byte-level BPE tokenizer (vocab ~400) with ChatML-style special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300 + len(SPECIAL_TOKENS), special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token='<s>', eos_token='<|im_end|>',
        pad_token='<pad>', unk_token='<unk>')
    if save_dir is not None:
        hf.save_pretrained(save_dir)
    return hf


def make_tiny_llama(vocab_size: int, save_dir: Path | None = None, seed: int = 0):
    """A 2-layer Llama with hidden size 32 and random weights."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        tie_word_embeddings=False, bos_token_id=None, eos_token_id=None, pad_token_id=None)
    model = LlamaForCausalLM(config)
    if save_dir is not None:
        model.save_pretrained(save_dir)
    return model


@pytest.fixture(scope='session')
def tiny_tokenizer():
    return make_tiny_tokenizer()


@pytest.fixture(scope='session')
def tiny_model_dir(tmp_path_factory) -> Path:
    """A directory holding a tiny Llama and its tokenizer, loadable by from_pretrained."""
    path = tmp_path_factory.mktemp('tiny_llama')
    tok = make_tiny_tokenizer(path)
    make_tiny_llama(len(tok), path)
    return path


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f'real data folder {SHARED_DATA} is missing (see DEVELOPERS.md)')
    return SHARED_DATA
