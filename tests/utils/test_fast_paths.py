"""Tests for xtuner_like/utils/fast_paths.py: on by default, off by name from a recipe."""
from __future__ import annotations

import pytest
from transformers import LlamaConfig

from xtuner_like.config import load_config
from xtuner_like.errors import UnknownNameError
from xtuner_like.utils import fast_paths


@pytest.fixture(autouse=True)
def all_on():
    fast_paths.set_disabled(())
    yield
    fast_paths.set_disabled(())


def test_every_path_is_on_by_default_and_unknown_names_are_refused():
    assert all(fast_paths.enabled(name) for name in fast_paths.FAST_PATHS)
    with pytest.raises(UnknownNameError, match="did you mean 'sdpa_packed'"):
        fast_paths.set_disabled(['sdpa_pakced'])


def test_a_recipe_switches_paths_off_by_name():
    load_config('smollm2_135m_instruct_lora_identity',
                {'disabled_fast_paths': ['sdpa_packed', 'rust_tokenizer']})
    assert not fast_paths.enabled('sdpa_packed') and not fast_paths.enabled('rust_tokenizer')
    assert fast_paths.enabled('fused_lora')
    load_config('smollm2_135m_instruct_lora_identity')   # the next config: all on again
    assert fast_paths.enabled('sdpa_packed')


def test_sdpa_packed_off_gives_plain_sdpa():
    from xtuner_like.model.attention import choose_attn_implementation
    config = LlamaConfig(num_hidden_layers=1)
    assert choose_attn_implementation('auto', None, config) == 'sdpa_packed'
    fast_paths.set_disabled(['sdpa_packed'])
    assert choose_attn_implementation('auto', None, config) == 'sdpa'


def test_rust_tokenizer_off_gives_the_same_ids(tiny_tokenizer):
    from xtuner_like.dataset.encode import token_ids
    texts = ['Who are you?', '<|im_start|>user\nHi<|im_end|>']
    fast = token_ids(texts, tiny_tokenizer)
    fast_paths.set_disabled(['rust_tokenizer'])
    assert token_ids(texts, tiny_tokenizer) == fast


def test_fused_lora_off_builds_peft_layers(tiny_model_dir):
    from peft import LoraConfig

    from xtuner_like.model import SupervisedFinetune, load_causal_lm
    from xtuner_like.model.lora_linear import FusedLoraLinear

    def fused_layers():
        model = SupervisedFinetune(
            dict(type=load_causal_lm, pretrained_model_name_or_path=str(tiny_model_dir)),
            lora=dict(type=LoraConfig, r=2, target_modules='all-linear'))
        return sum(isinstance(m, FusedLoraLinear) for m in model.modules())
    assert fused_layers() > 0
    fast_paths.set_disabled(['fused_lora'])
    assert fused_layers() == 0
