"""Shared by the preference tests: padded (trl-style) batches -> packed rows, and our forward."""
from __future__ import annotations

import torch

from xtuner_like.model.sequence_logps import SequenceLogps, sequence_logps_from_hidden

IGNORE_INDEX = -100


def unpad(ids: torch.Tensor, attention_mask: torch.Tensor, scored: torch.Tensor) -> tuple:
    """One padded row -> (token ids, HF labels: the id where scored, else -100)."""
    keep = attention_mask.bool()
    tokens = ids[keep]
    labels = torch.where(scored[keep].bool(), tokens, torch.full_like(tokens, IGNORE_INDEX))
    return tokens, labels


def pack_sequences(sequences: list[tuple[torch.Tensor, torch.Tensor]]) -> dict:
    """Whole sequences -> one packed row ``[1, total]`` with restarting position_ids."""
    ids = torch.cat([s[0] for s in sequences])[None]
    labels = torch.cat([s[1] for s in sequences])[None]
    positions = torch.cat([torch.arange(len(s[0])) for s in sequences])[None]
    labels = labels.masked_fill(positions == 0, IGNORE_INDEX)
    return {'input_ids': ids, 'labels': labels, 'position_ids': positions}


def interleave_pairs(batch_ids, attention_mask, scored) -> dict:
    """trl's DPO batch (n chosen rows, then n rejected rows) -> packed chosen0, rejected0, ..."""
    n = batch_ids.shape[0] // 2
    rows = [unpad(batch_ids[i], attention_mask[i], scored[i]) for i in range(2 * n)]
    return pack_sequences([rows[j] for i in range(n) for j in (i, n + i)])


def packed_logps(model, packed: dict) -> SequenceLogps:
    """Our path: decoder on the packed row, LM head only at scored positions."""
    hidden = model.get_decoder()(input_ids=packed['input_ids'],
                                 position_ids=packed['position_ids'],
                                 use_cache=False).last_hidden_state
    return sequence_logps_from_hidden(hidden, packed['labels'], packed['position_ids'],
                                      model.get_output_embeddings())
