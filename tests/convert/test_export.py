"""Tests for xtuner_like/convert/export.py: the folder layout shared by pth_to_hf and the hook."""
from __future__ import annotations

import pytest
import torch
from convert_helpers import logits
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

from xtuner_like.convert.export import atomic_dir, save_hf, stop_token_ids
from xtuner_like.errors import CheckpointError
from xtuner_like.model import SupervisedFinetune


def test_full_model_with_tied_embeddings_round_trips(tiny_tokenizer, tmp_path):
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tiny_tokenizer), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                         tie_word_embeddings=True)
    model = SupervisedFinetune(llm=LlamaForCausalLM(config)).eval()
    out = save_hf(model, tiny_tokenizer, tmp_path / 'hf', prompt_template='chatml',
                  dtype='fp16', config_text='x = 1\n')
    loaded = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    torch.testing.assert_close(logits(loaded), logits(model.llm), atol=2e-3, rtol=2e-3)
    assert next(model.llm.parameters()).dtype == torch.float32  # the live model is untouched
    assert not model.llm.config.use_cache  # ... and so is its config
    assert (out / 'xtuner_config.py').read_text() == 'x = 1\n'
    assert AutoTokenizer.from_pretrained(out).chat_template


def test_stop_token_ids_are_eos_then_single_token_stop_words(tiny_tokenizer):
    ids = stop_token_ids(tiny_tokenizer, 'chatml')
    assert ids[0] == tiny_tokenizer.eos_token_id
    assert stop_token_ids(tiny_tokenizer, None) == [tiny_tokenizer.eos_token_id]


def test_atomic_dir_leaves_nothing_on_failure(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_dir(tmp_path / 'out') as tmp:
            (tmp / 'half').write_text('x')
            raise RuntimeError('boom')
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_atomic_dir_overwrite(tmp_path):
    (tmp_path / 'out').mkdir()
    (tmp_path / 'out' / 'old').write_text('x')
    with pytest.raises(CheckpointError):
        with atomic_dir(tmp_path / 'out'):
            pass
    with atomic_dir(tmp_path / 'out', overwrite=True) as tmp:
        (tmp / 'new').write_text('y')
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == ['new']
