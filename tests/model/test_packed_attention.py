"""sdpa_packed: per-sample causal attention equals transformers' masked sdpa everywhere."""
import json

import pytest
import torch
from transformers import Gemma2Config, LlamaConfig, MistralConfig, Qwen2Config

from conftest import make_tiny_llama
from xtuner_like.model import attention, packed_attention
from xtuner_like.model.packed_attention import sample_spans, supports_packed_sdpa


@pytest.fixture(autouse=True)
def registered():
    """The implementation is registered when a model is built through xtuner_like; here the
    tests build transformers models directly (alone, this file would not find it)."""
    packed_attention.register()


def with_attn(model, name):
    model.config._attn_implementation = name
    return model


def test_sample_spans_split_where_positions_restart():
    assert sample_spans(torch.tensor([0, 1, 2, 0, 1, 0, 0, 1])) == [(0, 3), (3, 5), (5, 6), (6, 8)]
    assert sample_spans(torch.arange(5)) == [(0, 5)]


def packed_batch(vocab, lengths_per_row, seed=0):
    gen = torch.Generator().manual_seed(seed)
    total = sum(lengths_per_row[0])
    assert all(sum(r) == total for r in lengths_per_row)
    ids = torch.randint(0, vocab, (len(lengths_per_row), total), generator=gen)
    positions = torch.stack([torch.cat([torch.arange(n) for n in row]) for row in lengths_per_row])
    return ids, positions


@pytest.mark.parametrize('bucket', [1, 4, 64])
def test_training_step_equals_masked_sdpa(monkeypatch, bucket):
    """Two packed rows with different sample boundaries: same loss and gradients, also with
    each sample's call widened to a multiple of ``bucket`` tokens (into the next sample, or
    zeros past the row's end)."""
    monkeypatch.setattr(packed_attention, 'shape_bucket', lambda query: bucket)
    spans = []
    monkeypatch.setattr(packed_attention, 'sample_spans',
                        lambda p: spans.append(sample_spans(p)) or spans[-1])
    vocab = 97
    ids, positions = packed_batch(vocab, [[5, 9, 2], [16]])
    labels = ids.clone()
    results = []
    for name in ('sdpa', 'sdpa_packed'):
        model = with_attn(make_tiny_llama(vocab), name).train()
        loss = model(input_ids=ids, position_ids=positions, labels=labels, use_cache=False).loss
        loss.backward()
        results.append((loss.detach(), {n: p.grad for n, p in model.named_parameters()}))
    assert spans[:2] == [[(0, 5), (5, 14), (14, 16)], [(0, 16)]]  # the per-sample path ran
    torch.testing.assert_close(results[0][0], results[1][0])
    for name, grad in results[0][1].items():
        torch.testing.assert_close(results[1][1][name], grad, atol=1e-5, rtol=1e-4, msg=name)


def test_padding_mask_and_generation_go_through_transformers_sdpa():
    vocab = 97
    ref = with_attn(make_tiny_llama(vocab), 'sdpa').eval()
    fast = with_attn(make_tiny_llama(vocab), 'sdpa_packed').eval()
    ids = torch.randint(1, vocab, (2, 9), generator=torch.Generator().manual_seed(3))
    mask = torch.ones_like(ids)
    mask[1, :4] = 0                                   # left padding in the second row
    with torch.no_grad():
        torch.testing.assert_close(fast(input_ids=ids, attention_mask=mask).logits,
                                   ref(input_ids=ids, attention_mask=mask).logits)
        kwargs = dict(attention_mask=mask, max_new_tokens=6, do_sample=False, pad_token_id=0)
        assert torch.equal(fast.generate(ids, **kwargs), ref.generate(ids, **kwargs))


@pytest.mark.parametrize('config, plain', [
    (LlamaConfig(), True),
    (Qwen2Config(use_sliding_window=False), True),
    (MistralConfig(sliding_window=4096), False),
    (Gemma2Config(), False),
])
def test_auto_uses_it_only_for_plain_causal_attention(monkeypatch, config, plain):
    monkeypatch.setattr(attention, 'flash_attn_available', lambda: False)
    assert supports_packed_sdpa(config) is plain
    expected = 'sdpa_packed' if plain else 'sdpa'
    assert attention.choose_attn_implementation('auto', torch.float32, config) == expected


def test_saved_models_do_not_name_it(tmp_path):
    """A model trained with sdpa_packed loads anywhere: its config.json does not ask for it."""
    model = with_attn(make_tiny_llama(97), 'sdpa_packed')
    model.save_pretrained(tmp_path)
    assert 'sdpa_packed' not in json.dumps(json.loads((tmp_path / 'config.json').read_text()))


def test_widened_calls_see_only_bucketed_lengths(monkeypatch):
    seen = []
    real = torch.nn.functional.scaled_dot_product_attention
    monkeypatch.setattr(packed_attention.F, 'scaled_dot_product_attention',
                        lambda q, *a, **kw: seen.append(q.shape[2]) or real(q, *a, **kw))
    query = torch.randn(1, 2, 19, 4)
    out = packed_attention._sample_attention(query, query, query, (3, 9), 8, None, False)
    exact = real(query[:, :, 3:9], query[:, :, 3:9], query[:, :, 3:9], is_causal=True)
    torch.testing.assert_close(out, exact)
    packed_attention._sample_attention(query, query, query, (14, 19), 8, None, False)
    assert seen == [8, 8]  # 6 tokens widened into the row, 5 at its end padded with zeros
