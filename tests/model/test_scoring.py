"""score_continuations equals a plain forward of context + continuation, request by request,
however the groups are packed (one group a pass, several, all in one row)."""
from __future__ import annotations

import pytest
import torch

from conftest import make_tiny_llama
from xtuner_like.model.scoring import score_continuations, truncate_left


@torch.no_grad()
def reference(model, ctx, cont):
    ids = torch.tensor([list(ctx) + list(cont)])
    logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), -1)
    picked = [logp[len(ctx) - 1 + j, t] for j, t in enumerate(cont)]
    greedy = all(int(logp[len(ctx) - 1 + j].argmax()) == t for j, t in enumerate(cont))
    return float(sum(picked)), greedy


@pytest.fixture(scope='module')
def model():
    return make_tiny_llama(64).eval()


@pytest.mark.parametrize('tokens_per_pass', [1, 20, 4096])
def test_shared_contexts_and_packed_rows_equal_plain_forwards(model, tokens_per_pass):
    g = torch.Generator().manual_seed(0)
    contexts = [torch.randint(0, 64, (n,), generator=g).tolist() for n in (1, 5, 9, 17, 5)]
    requests = []
    for ctx in contexts:        # 1-4 continuations each, of 1-6 tokens; contexts repeat
        for k in range(1 + len(ctx) % 4):
            requests.append((ctx, torch.randint(0, 64, (1 + (k * 3) % 6,), generator=g).tolist()))
    got = score_continuations(model, requests, max_length=64, tokens_per_pass=tokens_per_pass)
    for (ctx, cont), (logp, greedy) in zip(requests, got):
        want, want_greedy = reference(model, ctx, cont)
        assert logp == pytest.approx(want, abs=1e-4)
        assert greedy == want_greedy


def test_greedy_continuation_is_recognised(model):
    ctx = [3, 4, 5]
    with torch.no_grad():
        nxt = int(model(input_ids=torch.tensor([ctx])).logits[0, -1].argmax())
    (_, greedy), = score_continuations(model, [(ctx, [nxt])], max_length=64)
    assert greedy


def test_long_requests_lose_context_on_the_left():
    assert truncate_left([1, 2, 3, 4, 5], [6, 7], max_length=4) == ((3, 4, 5), (6, 7))
    assert truncate_left([1, 2], [3], max_length=8) == ((1, 2), (3,))
    with pytest.raises(ValueError, match='does not fit'):
        truncate_left([1], [2, 3, 4, 5, 6], max_length=3)
