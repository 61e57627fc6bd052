"""Per-sequence log-probs of replies inside packed rows.

A preference batch is one packed row (or several) holding whole sequences: the chosen and
rejected sequence of each pair (prompt + reply), one after the other. ``position_ids``
restart at 0 where a sequence starts, which keeps attention inside each sequence
(DESIGN.md: sdpa / sdpa_packed / flash varlen all read the restarts), and also says which
sequence every token belongs to. ``labels`` hold the reply tokens (with end-of-turn) and
-100 elsewhere, HF-style (unshifted); the label at each sequence start is -100, so no token
is ever scored as the continuation of the sequence before it.

The LM head runs only at scored positions (prompts never need logits), so the cost is that
of the trained tokens, as in the SFT loss (model/loss.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .loss import shifted_targets


def sequence_index(position_ids: torch.Tensor) -> torch.Tensor:
    """``[B, L]`` position ids -> the index of the sequence each position belongs to.

    Sequences are numbered in reading order over the whole batch (row 0 first); a sequence
    starts where ``position_ids`` is 0 and at the start of every row.
    """
    starts = position_ids == 0
    starts[:, 0] = True
    return starts.flatten().cumsum(0).view_as(position_ids) - 1


@dataclass
class SequenceLogps:
    """Scored tokens of a batch and their sums per sequence."""

    token_logps: torch.Tensor   # [scored tokens] log p(target) at each scored position
    token_sequence: torch.Tensor  # [scored tokens] which sequence each scored token is in
    logps: torch.Tensor          # [sequences] sum of the sequence's scored log-probs
    tokens: torch.Tensor         # [sequences] number of scored tokens

    @property
    def mean_logps(self) -> torch.Tensor:
        """Per-token mean log-prob of each sequence (SimPO, ORPO); 0 for an empty reply."""
        return self.logps / self.tokens.clamp(min=1)


def _reduce(token_logps: torch.Tensor, token_sequence: torch.Tensor,
            num_sequences: int) -> SequenceLogps:
    logps = token_logps.new_zeros(num_sequences).index_add(0, token_sequence, token_logps)
    tokens = torch.bincount(token_sequence, minlength=num_sequences)
    return SequenceLogps(token_logps, token_sequence, logps, tokens)


def _targets(labels: torch.Tensor, position_ids: torch.Tensor):
    targets, mask = shifted_targets(labels)
    # The target at position t is token t+1: it belongs to the sequence of t+1.
    seq = sequence_index(position_ids)
    return targets[mask], seq[:, 1:][mask], mask, int(seq.max()) + 1


def sequence_logps_from_hidden(hidden: torch.Tensor, labels: torch.Tensor,
                               position_ids: torch.Tensor, lm_head: torch.nn.Module,
                               chunk_size: int = 4096) -> SequenceLogps:
    """Last hidden states ``[B, L, H]`` -> per-sequence reply log-probs (LM head only where scored)."""
    targets, seq, mask, n = _targets(labels, position_ids)
    picked = hidden[:, :-1][mask]
    parts = []
    for start in range(0, picked.shape[0], chunk_size):
        logits = lm_head(picked[start:start + chunk_size]).float()
        parts.append(-F.cross_entropy(logits, targets[start:start + chunk_size],
                                      reduction='none'))
    token_logps = torch.cat(parts) if parts else hidden.new_zeros(0, dtype=torch.float32)
    return _reduce(token_logps, seq, n)


def sequence_logps_from_logits(logits: torch.Tensor, labels: torch.Tensor,
                               position_ids: torch.Tensor) -> SequenceLogps:
    """Full logits ``[B, L, V]`` -> per-sequence reply log-probs (for models that post-process
    logits after the head, e.g. soft-capping)."""
    targets, seq, mask, n = _targets(labels, position_ids)
    token_logps = -F.cross_entropy(logits[:, :-1][mask].float(), targets, reduction='none')
    return _reduce(token_logps, seq, n)


def last_token_index(position_ids: torch.Tensor) -> torch.Tensor:
    """Flat index (into ``[B * L]``) of the last token of every sequence, in reading order."""
    seq = sequence_index(position_ids).flatten()
    is_last = torch.ones_like(seq, dtype=torch.bool)
    is_last[:-1] = seq[1:] != seq[:-1]
    return torch.nonzero(is_last).flatten()
