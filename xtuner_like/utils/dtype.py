"""Dtypes are written as strings in configs ('bf16'); this is the one place that resolves them."""
from __future__ import annotations

import re
from pathlib import Path

import torch

from ..errors import UnknownNameError
from .logging import log_once

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


def cpu_has_native_bf16(cpuinfo: str | Path = '/proc/cpuinfo') -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (AMX-BF16 or AVX512-BF16; Linux).

    torch reports only the vector width (``get_cpu_capability()`` says 'AVX512' on an AMX
    Xeon), so the kernel's CPU flags are read instead.
    """
    try:
        with open(cpuinfo) as lines:
            flags = next((line for line in lines if line.startswith('flags')), '')
    except OSError:
        return False
    return re.search(r'\b(amx_bf16|avx512_bf16)\b', flags) is not None


def note_bf16_base(weight_dtype: torch.dtype, device: torch.device | str) -> None:
    """Log once that a frozen fp32 base could be bf16 where the CPU multiplies bf16 natively.

    'auto' stays fp32 on every CPU (results do not depend on which CPU a run lands on); with
    LoRA the base is frozen and the adapters stay fp32, so bf16 costs little accuracy.
    """
    if torch.device(device).type == 'cpu' and weight_dtype == torch.float32 \
            and cpu_has_native_bf16():
        log_once("note: this CPU multiplies bf16 matrices in hardware (AMX): dtype='bf16' "
                 'keeps the frozen base in bf16 (adapters stay fp32) and trained LoRA '
                 '1.3-1.5x faster on such a CPU (tools/bench_train.py, xtuner_packed_bf16)')
