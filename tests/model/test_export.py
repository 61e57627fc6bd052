"""Tests for xtuner_like/model/export.py: the folder layout shared by pth_to_hf and the hook."""
from __future__ import annotations

import torch
from convert_helpers import logits
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

from xtuner_like.model import SupervisedFinetune
from xtuner_like.model.export import save_hf
from xtuner_like.templates.chat_format import ChatFormat


def test_full_model_with_tied_embeddings_round_trips(tiny_tokenizer, tmp_path):
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tiny_tokenizer), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                         tie_word_embeddings=True)
    model = SupervisedFinetune(llm=LlamaForCausalLM(config)).eval()
    out = save_hf(model, tiny_tokenizer, tmp_path / 'hf', chat_format=ChatFormat.build('chatml'),
                  dtype='fp16', config_text='x = 1\n')
    loaded = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    torch.testing.assert_close(logits(loaded), logits(model.llm), atol=2e-3, rtol=2e-3)
    assert next(model.llm.parameters()).dtype == torch.float32  # the live model is untouched
    assert not model.llm.config.use_cache  # ... and so is its config
    assert (out / 'xtuner_config.py').read_text() == 'x = 1\n'
    assert AutoTokenizer.from_pretrained(out).chat_template
