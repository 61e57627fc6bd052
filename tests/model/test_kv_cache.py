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


def test_rows_selected_columns_dropped_and_caches_stacked_still_predict_the_same():
    """Two prompts prefilled apart, stacked (the shorter left-padded), one row dropped and the
    padding columns cut: each remaining row's next step equals its plain full forward."""
    from xtuner_like.model.kv_cache import drop_columns, select_rows, splicable, stack_rows
    model = make_tiny_llama(64).eval()
    long, short = [1, 2, 3, 4, 5, 6], [7, 8]
    with torch.no_grad():
        want = {tuple(p): model(input_ids=torch.tensor([p + [9]])).logits[0, -1]
                for p in (long, short)}
        a = cache_of(model(input_ids=torch.tensor([long]), use_cache=True))
        b = cache_of(model(input_ids=torch.tensor([short]), use_cache=True))
        assert splicable(a) and splicable(b)
        stack_rows(a, b)
        assert a.get_seq_length() == 6
        mask = torch.tensor([[1] * 6 + [1], [0] * 4 + [1] * 3])
        step = model(input_ids=torch.tensor([[9], [9]]), attention_mask=mask,
                     position_ids=torch.tensor([[6], [2]]), use_cache=True, **with_cache(model, a))
        assert torch.allclose(step.logits[0, -1], want[tuple(long)], atol=1e-5)
        assert torch.allclose(step.logits[1, -1], want[tuple(short)], atol=1e-5)
        cache = cache_of(step)
        select_rows(cache, torch.tensor([1]))
        drop_columns(cache, 4)
        assert cache.get_seq_length() == 3
        again = model(input_ids=torch.tensor([[10]]), position_ids=torch.tensor([[3]]),
                      attention_mask=torch.ones(1, 4, dtype=torch.long), use_cache=True,
                      **with_cache(model, cache))
        full = model(input_ids=torch.tensor([short + [9, 10]])).logits[0, -1]
    assert torch.allclose(again.logits[0, -1], full, atol=1e-5)
