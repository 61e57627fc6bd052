"""Tests for xtuner_like/convert/merge.py: adapter + base -> one full model."""
from __future__ import annotations

import json

import pytest
import torch
from convert_helpers import RECIPES, checkpoints, logits, tiny_options  # noqa: F401
from transformers import AutoModelForCausalLM, AutoTokenizer

from xtuner_like.convert.merge import merge_adapter
from xtuner_like.convert.pth_to_hf import pth_to_hf
from xtuner_like.errors import CheckpointError


@pytest.fixture(scope='module')
def adapter_dir(checkpoints, tiny_model_dir, tmp_path_factory):
    path, _ = checkpoints['lora']
    return pth_to_hf(RECIPES['lora'], path, tmp_path_factory.mktemp('adapter') / 'hf',
                     cfg_options=tiny_options(tiny_model_dir))


def test_merged_logits_equal_base_plus_adapter(adapter_dir, checkpoints, tiny_model_dir,
                                               tmp_path):
    from peft import PeftModel
    out = merge_adapter(tiny_model_dir, adapter_dir, tmp_path / 'merged')
    merged = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    with_adapter = PeftModel.from_pretrained(base, adapter_dir).eval()
    torch.testing.assert_close(logits(merged), logits(with_adapter), atol=1e-4, rtol=1e-4)
    assert not any('lora' in k for k in merged.state_dict())
    assert merged.config.use_cache
    # the adapter folder's tokenizer, with the training chat_template, comes along
    assert AutoTokenizer.from_pretrained(out).chat_template == \
        AutoTokenizer.from_pretrained(adapter_dir).chat_template


def test_merge_dtype(adapter_dir, tiny_model_dir, tmp_path):
    out = merge_adapter(tiny_model_dir, adapter_dir, tmp_path / 'merged', dtype='bf16')
    assert json.loads((out / 'config.json').read_text())['dtype'] == 'bfloat16'


def test_adapter_without_tokenizer_takes_the_base_tokenizer(adapter_dir, tiny_model_dir,
                                                            tmp_path):
    import shutil
    bare = tmp_path / 'bare'
    bare.mkdir()
    for name in ('adapter_config.json', 'adapter_model.safetensors'):
        shutil.copy(adapter_dir / name, bare / name)
    out = merge_adapter(tiny_model_dir, bare, tmp_path / 'merged')
    assert AutoTokenizer.from_pretrained(out).chat_template == \
        AutoTokenizer.from_pretrained(tiny_model_dir).chat_template


def test_missing_adapter_dir(tiny_model_dir, tmp_path):
    with pytest.raises(CheckpointError, match='does not exist'):
        merge_adapter(tiny_model_dir, tmp_path / 'nope', tmp_path / 'merged')


def test_folder_without_adapter_config(tiny_model_dir, tmp_path):
    with pytest.raises(CheckpointError, match='full model'):
        merge_adapter(tiny_model_dir, tiny_model_dir, tmp_path / 'merged')
