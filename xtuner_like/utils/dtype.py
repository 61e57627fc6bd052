"""Dtypes are written as strings in configs ('bf16'); this is the one place that resolves them."""
from __future__ import annotations

import torch

from ..errors import UnknownNameError

_DTYPES = {
    'fp32': torch.float32, 'float32': torch.float32,
    'bf16': torch.bfloat16, 'bfloat16': torch.bfloat16,
    'fp16': torch.float16, 'float16': torch.float16, 'half': torch.float16,
}


def auto_dtype() -> torch.dtype:
    """What ``'auto'`` means on this machine: bf16 on a CUDA device that supports it, else fp32."""
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def resolve_dtype(value: str | torch.dtype | None,
                  auto: bool = False) -> torch.dtype | str | None:
    """Turn 'bf16', 'float32', ... into a torch.dtype; None passes through, and so does
    'auto' unless ``auto=True`` asks for its meaning here (:func:`auto_dtype`)."""
    if value is None or isinstance(value, torch.dtype):
        return value
    if str(value).lower() == 'auto':
        return auto_dtype() if auto else 'auto'
    try:
        return _DTYPES[str(value).lower()]
    except KeyError:
        raise UnknownNameError('dtype', value, list(_DTYPES) + ['auto']) from None


def precision_name(value: str | torch.dtype) -> str:
    """'bf16', 'fp16' or 'fp32': the precision a dtype setting ('auto' included) means here."""
    dtype = resolve_dtype(value, auto=True)
    return {torch.bfloat16: 'bf16', torch.float16: 'fp16'}.get(dtype, 'fp32')
