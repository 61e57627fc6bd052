"""Few distinct shapes for bf16/fp16 kernels on the CPU.

torch's CPU kernels for reduced precision (the AMX/oneDNN matmuls, the flash attention)
keep compiled kernels and buffers for every shape they meet and never free them: ~7 MB for
each new attention length (+1.5 GB over 300 random lengths in a bf16 loop), and a steady
climb of ~25 MB a step in bf16 LoRA training, where every packed sample and every step's
count of trained tokens is a new length; fp32 holds steady. Where a length varies freely,
callers round it up to a multiple of :data:`SHAPE_BUCKET` in such runs (see
``packed_attention``, ``loss`` and :func:`pad_batch`), so a run meets at most
``max_length / 64`` lengths.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..utils.labels import IGNORE_INDEX

SHAPE_BUCKET = 64


def shape_bucket(tensor: torch.Tensor) -> int:
    """What a freely varying length of ``tensor``'s kernels is rounded up to (1: exact)."""
    reduced = tensor.dtype in (torch.bfloat16, torch.float16)
    return SHAPE_BUCKET if reduced and tensor.device.type == 'cpu' else 1


def round_up(n: int, bucket: int) -> int:
    """``n`` rounded up to a multiple of ``bucket``."""
    return -(-n // bucket) * bucket


def pad_batch(inputs: dict, labels: torch.Tensor, bucket: int) -> tuple[dict, torch.Tensor]:
    """A padded (unpacked) batch widened on the right to a multiple of ``bucket`` columns:
    the new columns are padding (attention mask 0, labels ignored), so the real tokens see
    exactly what they saw before."""
    extra = round_up(labels.shape[1], bucket) - labels.shape[1]
    if not extra or inputs.get('attention_mask') is None:
        return inputs, labels
    out = dict(inputs)
    for key in ('input_ids', 'attention_mask', 'position_ids'):
        if out.get(key) is not None:
            out[key] = F.pad(out[key], (0, extra))
    return out, F.pad(labels, (0, extra), value=IGNORE_INDEX)
