"""Choose the attention implementation once, and say why in the log."""
from __future__ import annotations

import importlib.util

import torch

from ..utils.logging import log_once

CHOICES = ('auto', 'flash_attention_2', 'sdpa', 'eager', 'flex_attention')


def flash_attn_available() -> bool:
    """True when flash-attn imports and a CUDA device is present."""
    return torch.cuda.is_available() and importlib.util.find_spec('flash_attn') is not None


def choose_attn_implementation(requested: str = 'auto', dtype: torch.dtype | None = None) -> str:
    """Resolve 'auto' to flash_attention_2 (CUDA, flash-attn, 16-bit) or else sdpa.

    Packed rows stay isolated either way: both read the per-sample restarts of position_ids
    (DESIGN.md), so no attention patch is needed.
    """
    if requested != 'auto':
        log_once(f'attention: {requested} (set in the config)')
        return requested
    if flash_attn_available() and dtype in (torch.bfloat16, torch.float16):
        log_once('attention: flash_attention_2 (CUDA and flash-attn found; packed samples use '
                 'its varlen kernel through position_ids)')
        return 'flash_attention_2'
    why = ('flash-attn is not installed' if torch.cuda.is_available()
           else 'no CUDA device') if not flash_attn_available() else 'dtype is not 16-bit'
    log_once(f'attention: sdpa ({why}; packed samples are isolated by a block-diagonal mask '
             'built from position_ids)')
    return 'sdpa'
