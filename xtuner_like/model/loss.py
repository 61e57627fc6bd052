"""Causal-LM loss as (sum of token losses, number of trained tokens).

Returning the sum, not the mean, lets the caller divide by the trained tokens of a whole
accumulation window (and of all ranks), which is what makes k micro-batches of different
lengths give the same gradient as one batch holding them all (DESIGN.md).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..utils.labels import IGNORE_INDEX
from .cpu_shapes import round_up, shape_bucket


def shifted_targets(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Targets of positions 0..L-2 (labels shifted left) and the mask of trained ones."""
    targets = labels[..., 1:]
    return targets, targets != IGNORE_INDEX


def token_loss_from_logits(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Reference path: full logits [B, L, V] -> (summed cross-entropy, trained tokens)."""
    targets, mask = shifted_targets(labels)
    loss = F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), targets.flatten(),
                           ignore_index=IGNORE_INDEX, reduction='sum')
    return loss, int(mask.sum())


def token_loss_from_hidden(hidden: torch.Tensor, labels: torch.Tensor, lm_head: torch.nn.Module,
                           chunk_size: int = 4096) -> tuple[torch.Tensor, int]:
    """Fast path: apply the LM head only at trained positions, in chunks.

    Prompt positions never need logits, and chunking keeps the [tokens, vocab] matrix small.
    Equals :func:`token_loss_from_logits` up to float rounding (tested).
    """
    targets, mask = shifted_targets(labels)
    picked = hidden[:, :-1][mask]
    picked_targets = targets[mask]
    trained = int(picked.shape[0])
    extra = round_up(trained, shape_bucket(picked)) - trained
    if extra:  # a few ignored rows: a run meets few LM-head shapes (cpu_shapes)
        picked = F.pad(picked, (0, 0, 0, extra))
        picked_targets = F.pad(picked_targets, (0, extra), value=IGNORE_INDEX)
    total = hidden.new_zeros((), dtype=torch.float32)
    for start in range(0, picked.shape[0], chunk_size):
        logits = lm_head(picked[start:start + chunk_size]).float()
        total = total + F.cross_entropy(logits, picked_targets[start:start + chunk_size],
                                        reduction='sum')
    return total, trained
