"""Choose the attention implementation once, and say why in the log."""
from __future__ import annotations

import importlib.util
from typing import Any

import torch

from ..utils import fast_paths
from ..utils.logging import log_once
from .packed_attention import NAME as SDPA_PACKED
from .packed_attention import register, supports_packed_sdpa

CHOICES = ('auto', 'flash_attention_2', SDPA_PACKED, 'sdpa', 'eager', 'flex_attention')


def flash_attn_available() -> bool:
    """True when flash-attn imports and a CUDA device is present."""
    return torch.cuda.is_available() and importlib.util.find_spec('flash_attn') is not None


def choose_attn_implementation(requested: str = 'auto', dtype: torch.dtype | None = None,
                               config: Any = None) -> str:
    """Resolve 'auto' to flash_attention_2 (CUDA, flash-attn, 16-bit), else ``sdpa_packed``
    (model/packed_attention.py) when every layer is plain causal attention and the fast path
    is on (utils/fast_paths.py), else sdpa.

    Packed rows stay isolated in all three: they read the per-sample restarts of position_ids
    (DESIGN.md).
    """
    if requested != 'auto':
        log_once(f'attention: {requested} (set in the config)')
        if requested == SDPA_PACKED:
            register()
        return requested
    if flash_attn_available() and dtype in (torch.bfloat16, torch.float16):
        log_once('attention: flash_attention_2 (CUDA and flash-attn found; packed samples use '
                 'its varlen kernel through position_ids)')
        return 'flash_attention_2'
    why = ('flash-attn is not installed' if torch.cuda.is_available()
           else 'no CUDA device') if not flash_attn_available() else 'dtype is not 16-bit'
    if (config is None or supports_packed_sdpa(config)) and fast_paths.enabled('sdpa_packed'):
        register()  # known to transformers only once chosen: importing us changes nothing
        log_once(f'attention: {SDPA_PACKED} ({why}; each packed sample attends causally on its '
                 'own, found from position_ids, with no block mask)')
        return SDPA_PACKED
    log_once(f'attention: sdpa ({why}; sliding windows or soft-capping need the block-diagonal '
             'mask built from position_ids)')
    return 'sdpa'
