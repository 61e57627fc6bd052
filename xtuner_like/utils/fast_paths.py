"""Default-on fast paths: each chosen in one place, logged once, switchable off by name.

Every fast path below is on unless a recipe lists it in the top-level
``disabled_fast_paths`` (``load_config`` applies the list; ``--cfg-options
"disabled_fast_paths=['sdpa_packed']"`` works too). The code that takes a path asks
:func:`enabled` at the one place it is chosen, which logs the choice once per process.
"""
from __future__ import annotations

from typing import Iterable

from ..errors import UnknownNameError
from .logging import log_once

FAST_PATHS: dict[str, str] = {
    'fused_lora': 'LoRA layers as FusedLoraLinear, same math as peft with fewer passes '
                  '(model/lora_linear.py)',
    'sdpa_packed': "attn_implementation='auto' gives each packed sample its own causal SDPA "
                   'call (model/packed_attention.py)',
    'rust_tokenizer': "the fast tokenizer's Rust backend is called directly "
                      '(dataset/encode.py: _fast_encodings)',
}
CONFIG_KEY = 'disabled_fast_paths'
_disabled: frozenset[str] = frozenset()


def set_disabled(names: Iterable[str] | None) -> None:
    """Switch off the named fast paths (and switch every other one back on)."""
    global _disabled
    names = frozenset(names or ())
    for name in names:
        if name not in FAST_PATHS:
            raise UnknownNameError(f'fast path (in {CONFIG_KEY})', name, FAST_PATHS)
    _disabled = names


def enabled(name: str) -> bool:
    """Whether fast path ``name`` is on; the answer is logged once per process."""
    if name not in FAST_PATHS:
        raise UnknownNameError('fast path', name, FAST_PATHS)
    on = name not in _disabled
    log_once(f'fast path {name}: {"on" if on else f"off ({CONFIG_KEY})"}: {FAST_PATHS[name]}')
    return on
