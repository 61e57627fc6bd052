"""Tests for xtuner_like/model/gguf/write.py: config + tokenizer + weights -> one GGUF file.

The round trips of every architecture and type through ``convert hf_to_gguf`` are in
tests/convert/test_hf_to_gguf.py; these check the writer on its own.
"""
from __future__ import annotations

import pytest
import torch
from conftest import make_tiny_tokenizer
from gguf_helpers import make_tiny

from xtuner_like.errors import ConfigError
from xtuner_like.model.gguf.read import gguf_fields
from xtuner_like.model.gguf.write import TYPES, Weights, check_type, write_gguf
from xtuner_like.templates import get_template, to_chat_template

pytest.importorskip('gguf')


def test_an_in_memory_state_dict_reads_back_with_the_same_logits(tmp_path):
    from transformers import AutoModelForCausalLM
    tok = make_tiny_tokenizer()
    tok.chat_template = to_chat_template(get_template('chatml'), None)
    model = make_tiny('llama', len(tok))
    model.config.architectures = ['LlamaForCausalLM']  # save_pretrained would set it
    out = write_gguf(tmp_path / 'm.gguf', model.config, tok,
                     Weights(state_dict=model.state_dict()), 'f32', name='tiny')
    assert gguf_fields(out, ['general.name'])['general.name'] == 'tiny'
    back = AutoModelForCausalLM.from_pretrained(tmp_path, gguf_file='m.gguf',
                                                dtype=torch.float32).eval()
    ids = torch.tensor([[5, 17, 42, 99, 3]])
    with torch.no_grad():
        torch.testing.assert_close(back(input_ids=ids).logits, model(input_ids=ids).logits,
                                   atol=1e-4, rtol=1e-4)


def test_a_folder_without_safetensors_is_refused(tmp_path):
    from xtuner_like.errors import CheckpointError
    with pytest.raises(CheckpointError, match='no \\*.safetensors'):
        Weights(tmp_path)


def test_check_type_names_the_types_and_llama_quantize():
    for out_type in TYPES:
        check_type(out_type)
    with pytest.raises(ConfigError, match="'q4_k_m'.*f16.*llama-quantize"):
        check_type('q4_k_m')
