"""Tests for xtuner_like.dataset.collate, including packed-row isolation in a real model."""
from __future__ import annotations

import pickle

import pytest
import torch

from conftest import make_tiny_llama
from xtuner_like.dataset.collate import SftCollator
from xtuner_like.utils.labels import count_trained
from xtuner_like.dataset.pack import pack_group


def _row(ids, labels=None):
    return {'input_ids': ids, 'labels': list(ids) if labels is None else labels,
            'length': len(ids)}


def test_packed_is_one_row_without_padding():
    rows = [pack_group([_row([1, 2, 3]), _row([4, 5])]), pack_group([_row([6, 7, 8, 9])])]
    out = SftCollator(pad_token_id=0, packed=True)(rows)
    assert set(out) == {'input_ids', 'labels', 'position_ids'}
    assert out['input_ids'].tolist() == [[1, 2, 3, 4, 5, 6, 7, 8, 9]]
    assert out['position_ids'].tolist() == [[0, 1, 2, 0, 1, 0, 1, 2, 3]]
    assert out['labels'].tolist() == [[-100, 2, 3, -100, 5, -100, 7, 8, 9]]
    assert all(t.dtype == torch.long for t in out.values())


def test_packed_mode_on_plain_rows_masks_row_starts():
    out = SftCollator(pad_token_id=0, packed=True)([_row([1, 2]), _row([3, 4, 5])])
    assert out['position_ids'].tolist() == [[0, 1, 0, 1, 2]]
    assert out['labels'].tolist() == [[-100, 2, -100, 4, 5]]
    assert count_trained(out['labels'], shifted=True) == 3


def test_unpacked_pads_right():
    rows = [_row([1, 2, 3], [-100, 2, 3]), _row([4])]
    out = SftCollator(pad_token_id=7, packed=False)(rows)
    assert set(out) == {'input_ids', 'labels', 'attention_mask'}
    assert out['input_ids'].tolist() == [[1, 2, 3], [4, 7, 7]]
    assert out['labels'].tolist() == [[-100, 2, 3], [4, -100, -100]]
    assert out['attention_mask'].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_unpacked_refuses_packed_rows():
    with pytest.raises(ValueError, match='packed=True'):
        SftCollator(pad_token_id=0, packed=False)([pack_group([_row([1]), _row([2])])])


def test_count_trained_under_the_shift():
    labels = torch.tensor([[5, -100, 6, 7], [8, 9, -100, -100]])
    assert count_trained(labels, shifted=True) == 3


def test_collator_is_picklable_and_buildable():
    from mmengine.registry import FUNCTIONS
    collator = pickle.loads(pickle.dumps(SftCollator(pad_token_id=3, packed=True)))
    assert collator.pad_token_id == 3 and collator.packed
    built = FUNCTIONS.build(dict(type=SftCollator, pad_token_id=1, packed=False))
    assert isinstance(built, SftCollator)


@pytest.mark.parametrize('attn', ['sdpa_packed', 'sdpa', 'eager'])
def test_packed_logits_equal_logits_alone(attn):
    from xtuner_like.model.packed_attention import register
    register()                                   # attn_implementation='sdpa_packed'
    vocab = 97
    model = make_tiny_llama(vocab).eval()
    model.config._attn_implementation = attn
    gen = torch.Generator().manual_seed(0)
    samples = [_row(torch.randint(0, vocab, (n,), generator=gen).tolist()) for n in (7, 1, 12)]
    rows = [pack_group(samples[:2]), pack_group(samples[2:])]
    batch = SftCollator(pad_token_id=0, packed=True)(rows)
    with torch.no_grad():
        packed = model(input_ids=batch['input_ids'], position_ids=batch['position_ids'],
                       use_cache=False).logits[0]
        start = 0
        for s in samples:
            n = len(s['input_ids'])
            alone = model(input_ids=torch.tensor([s['input_ids']]), use_cache=False).logits[0]
            torch.testing.assert_close(packed[start:start + n], alone, atol=1e-5, rtol=0)
            start += n


def test_packed_loss_equals_sum_of_losses_alone():
    vocab = 97
    model = make_tiny_llama(vocab).eval()
    gen = torch.Generator().manual_seed(1)
    samples = [_row(torch.randint(0, vocab, (n,), generator=gen).tolist()) for n in (5, 9, 3)]
    batch = SftCollator(pad_token_id=0, packed=True)([pack_group(samples)])
    with torch.no_grad():
        out = model(**batch, use_cache=False)
        total = out.loss * count_trained(batch['labels'], shifted=True)
        alone = sum(model(input_ids=torch.tensor([s['input_ids']]),
                          labels=torch.tensor([s['labels']]), use_cache=False).loss
                    * (len(s['input_ids']) - 1) for s in samples)
    torch.testing.assert_close(total, alone, atol=1e-4, rtol=1e-5)
