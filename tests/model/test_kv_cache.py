"""with_cache / cache_of: the KV cache goes in and comes out under this transformers' name."""
from __future__ import annotations

import torch

from conftest import make_tiny_llama
from xtuner_like.model.kv_cache import cache_of, with_cache


def test_a_cached_step_equals_the_full_forward():
    model = make_tiny_llama(64).eval()
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    with torch.no_grad():
        full = model(input_ids=ids).logits[0, -1]
        first = model(input_ids=ids[:, :4], use_cache=True)
        cache = cache_of(first)
        assert cache is not None and cache.get_seq_length() == 4
        step = model(input_ids=ids[:, 4:], use_cache=True, **with_cache(model, cache))
    assert torch.allclose(step.logits[0, -1], full, atol=1e-5)
    assert cache_of(step).get_seq_length() == 5


def test_peft_wrappers_are_seen_through():
    from peft import LoraConfig, get_peft_model
    model = get_peft_model(make_tiny_llama(64), LoraConfig(r=2, target_modules=['q_proj']))
    (name,) = with_cache(model, None)
    assert name in ('cache', 'past_key_values')
    assert name == next(iter(with_cache(model.get_base_model(), None)))
