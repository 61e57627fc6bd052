"""Tests for xtuner_like/model/gguf/arch.py: architectures, rotary layout, hyper-parameters."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from xtuner_like.errors import ConfigError
from xtuner_like.model.gguf.arch import (ARCHS, find_arch, head_dim, permute_rotary,
                                         rope_parameters)


@pytest.mark.parametrize('name,gguf_name,permute', [
    ('LlamaForCausalLM', 'llama', True), ('MistralForCausalLM', 'llama', True),
    ('Qwen2ForCausalLM', 'qwen2', False), ('Qwen3ForCausalLM', 'qwen3', False)])
def test_find_arch_knows_each_supported_family(name, gguf_name, permute):
    arch = find_arch(SimpleNamespace(architectures=[name], model_type='x'), 'm')
    assert (arch.gguf_name, arch.permute_qk) == (gguf_name, permute)


def test_find_arch_names_the_supported_ones():
    with pytest.raises(ConfigError, match='GPT2LMHeadModel.*supported: ' + ', '.join(ARCHS)):
        find_arch(SimpleNamespace(architectures=['GPT2LMHeadModel'], model_type='gpt2'), 'm')


def test_rope_parameters_from_transformers_5_and_legacy_configs():
    new = SimpleNamespace(rope_parameters={'rope_theta': 5e5, 'rope_type': 'llama3',
                                           'factor': 8.0})
    legacy = SimpleNamespace(rope_scaling={'type': 'linear', 'factor': 2.0}, rope_theta=1e4)
    plain = SimpleNamespace()
    assert rope_parameters(new)['rope_theta'] == 5e5
    assert rope_parameters(new)['rope_type'] == 'llama3'
    assert (rope_parameters(legacy)['rope_type'], rope_parameters(legacy)['factor']) == \
        ('linear', 2.0)
    assert rope_parameters(plain) == {'rope_theta': 10000.0, 'rope_type': 'default'}


def test_head_dim_prefers_the_configs_own():
    assert head_dim(SimpleNamespace(head_dim=128, hidden_size=64, num_attention_heads=4)) == 128
    assert head_dim(SimpleNamespace(head_dim=None, hidden_size=64, num_attention_heads=4)) == 16


def test_rotary_permutation_keeps_attention_scores():
    """HF rope (rotate half) on q, k == llama.cpp rope (adjacent pairs) on permuted q, k."""
    heads, dim, pos = 2, 8, 5
    torch.manual_seed(0)
    q, k = torch.randn(heads * dim, 3), torch.randn(heads * dim, 3)
    x = torch.randn(3)
    inv = 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim))
    cos, sin = torch.cos(pos * inv), torch.sin(pos * inv)

    def hf_rope(v):  # halves: (a, b) -> (a cos - b sin, b cos + a sin)
        a, b = v.view(heads, 2, dim // 2).unbind(1)
        return torch.cat([a * cos - b * sin, b * cos + a * sin], -1)

    def pair_rope(v):  # adjacent pairs (2i, 2i+1)
        p = v.view(heads, dim // 2, 2)
        a, b = p[..., 0], p[..., 1]
        return torch.stack([a * cos - b * sin, b * cos + a * sin], -1).view(heads, dim)

    hf = (hf_rope(q @ x) * hf_rope(k @ x)).sum(-1)
    qp = torch.from_numpy(permute_rotary(q.numpy(), heads))
    kp = torch.from_numpy(permute_rotary(k.numpy(), heads))
    cpp = (pair_rope(qp @ x) * pair_rope(kp @ x)).sum(-1)
    torch.testing.assert_close(cpp, hf)
