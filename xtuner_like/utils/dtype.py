"""Dtypes are written as strings in configs ('bf16'); this is the one place that resolves them."""
from __future__ import annotations

import torch

from ..errors import UnknownNameError

_DTYPES = {
    'fp32': torch.float32, 'float32': torch.float32,
    'bf16': torch.bfloat16, 'bfloat16': torch.bfloat16,
    'fp16': torch.float16, 'float16': torch.float16, 'half': torch.float16,
}


def resolve_dtype(value: str | torch.dtype | None) -> torch.dtype | str | None:
    """Turn 'bf16', 'float32', ... into a torch.dtype; 'auto' and None pass through."""
    if value is None or isinstance(value, torch.dtype) or value == 'auto':
        return value
    try:
        return _DTYPES[str(value).lower()]
    except KeyError:
        raise UnknownNameError('dtype', value, list(_DTYPES) + ['auto']) from None
