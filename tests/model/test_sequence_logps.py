"""Packed sequence log-probs: a sequence scores the same inside a pack as alone."""
from __future__ import annotations

import pytest
import torch

from xtuner_like.model import attention  # noqa: F401  (registers sdpa_packed)
from xtuner_like.model.sequence_logps import (
    last_token_index, sequence_index, sequence_logps_from_hidden, sequence_logps_from_logits)

from ..conftest import make_tiny_llama
from .preference_helpers import pack_sequences, packed_logps

VOCAB = 97


def test_sequence_index_numbers_sequences_in_reading_order():
    positions = torch.tensor([[0, 1, 2, 0, 1], [0, 1, 0, 0, 1]])
    assert sequence_index(positions).tolist() == [[0, 0, 0, 1, 1], [2, 2, 3, 4, 4]]
    assert last_token_index(positions).tolist() == [2, 4, 6, 7, 9]


def test_a_row_that_does_not_start_at_zero_is_still_a_new_sequence():
    assert sequence_index(torch.tensor([[3, 4], [5, 6]])).tolist() == [[0, 0], [1, 1]]


def _sequences(seed: int, n: int = 5) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Random sequences: a prompt (not scored) then a reply (scored), lengths 6..30."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        prompt, reply = (int(torch.randint(3, 15, (), generator=gen)) for _ in range(2))
        ids = torch.randint(0, VOCAB, (prompt + reply,), generator=gen)
        labels = torch.cat([torch.full((prompt,), -100), ids[prompt:]])
        out.append((ids, labels))
    return out


@pytest.mark.parametrize('attn', ['sdpa', 'sdpa_packed', 'eager'])
def test_sequence_logp_in_a_pack_equals_its_logp_alone(attn):
    model = make_tiny_llama(VOCAB).eval()
    model.set_attn_implementation(attn)
    sequences = _sequences(seed=0)
    with torch.no_grad():
        packed = packed_logps(model, pack_sequences(sequences))
        alone = torch.cat([packed_logps(model, pack_sequences([s])).logps for s in sequences])
    assert packed.logps.shape == (len(sequences),)
    assert torch.allclose(packed.logps, alone, atol=1e-5, rtol=0), (packed.logps - alone).abs().max()
    assert packed.tokens.tolist() == [int((s[1] != -100).sum()) for s in sequences]


def test_gradients_reach_only_the_scored_sequences_own_tokens():
    """d logp(sequence k) / d embeddings is zero for every token of the other sequences."""
    model = make_tiny_llama(VOCAB).eval()
    sequences = _sequences(seed=1, n=3)
    packed = pack_sequences(sequences)
    embeds = model.get_input_embeddings()(packed['input_ids']).detach().requires_grad_()
    hidden = model.get_decoder()(inputs_embeds=embeds, position_ids=packed['position_ids'],
                                 use_cache=False).last_hidden_state
    logps = sequence_logps_from_hidden(hidden, packed['labels'], packed['position_ids'],
                                       model.get_output_embeddings()).logps
    (grad,) = torch.autograd.grad(logps[1], embeds)
    owner = sequence_index(packed['position_ids'])[0]
    touched = grad[0].abs().sum(-1) > 0
    assert touched[owner == 1].any() and not touched[owner != 1].any()


def test_hidden_path_equals_full_logits_path():
    model = make_tiny_llama(VOCAB).eval()
    packed = pack_sequences(_sequences(seed=2))
    with torch.no_grad():
        fast = packed_logps(model, packed)
        logits = model(input_ids=packed['input_ids'], position_ids=packed['position_ids'],
                       use_cache=False).logits
        full = sequence_logps_from_logits(logits, packed['labels'], packed['position_ids'])
    assert torch.allclose(fast.logps, full.logps, atol=1e-5)
    assert torch.equal(fast.tokens, full.tokens)
    assert torch.allclose(fast.mean_logps, fast.logps / fast.tokens)


def test_a_sequence_without_scored_tokens_gets_zero():
    ids = torch.arange(8)[None]
    labels = torch.tensor([[-100, -100, -100, -100, -100, 5, 6, 7]])
    positions = torch.tensor([[0, 1, 2, 3, 0, 1, 2, 3]])
    logits = torch.zeros(1, 8, 10)
    out = sequence_logps_from_logits(logits, labels, positions)
    assert out.tokens.tolist() == [0, 3] and out.logps[0] == 0
