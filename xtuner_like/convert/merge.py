"""`merge`: a base model + a PEFT adapter -> one full model folder (``merge_and_unload``)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from ..errors import CheckpointError, ConfigError
from ..model.generate import set_stop_tokens
from ..model.load import check_adapter_dir, has_tokenizer
from ..model.resolve import resolve_model_path
from ..utils.dtype import resolve_dtype
from ..utils.io import atomic_dir
from ..utils.progress import Steps

DEVICES = ('cpu', 'cuda', 'auto')


def _device_map(device: str) -> dict | str:
    if device not in DEVICES:
        raise ConfigError(f'--device {device!r}: use one of {", ".join(DEVICES)}')
    if device == 'cuda' and not torch.cuda.is_available():
        raise ConfigError('--device cuda: no CUDA device is available; use --device cpu')
    return 'auto' if device == 'auto' else {'': device}


def merge_adapter(base: str | os.PathLike, adapter: str | os.PathLike,
                  out_dir: str | os.PathLike, dtype: str | None = None,
                  max_shard_size: str = '2GB', device: str = 'cpu',
                  bits: int | None = None) -> Path:
    """Merge ``adapter`` into ``base`` and save the full model and its tokenizer.

    Args:
        base: base model folder, hub id or the embedded model's hub id.
        adapter: the PEFT adapter folder (from ``pth_to_hf`` or ``<work_dir>/hf``).
        out_dir: the folder to create (must not exist or be empty).
        dtype: 'fp32', 'bf16', 'fp16', or None for the base model's own dtype.
        max_shard_size: largest weight file.
        device: where the merge runs: 'cpu', 'cuda' or 'auto' (accelerate places it).
        bits: 4 or 8 to save bitsandbytes NF4 or LLM.int8 weights (loadable without extra
            arguments).

    Returns:
        ``out_dir``. Its tokenizer is the adapter folder's (it carries the training
        chat_template) when it has one, else the base model's.
    """
    if bits not in (None, 4, 8):
        raise ConfigError(f'--bits {bits}: use 4 (bitsandbytes NF4) or 8 (LLM.int8)')
    merged, tokenizer, base_dtype = load_merged(base, adapter, device)
    merged = merged.to(resolve_dtype(dtype) if dtype else base_dtype)
    with atomic_dir(out_dir) as tmp:
        if bits:
            from .bnb import save_quantized
            save_quantized(merged, tokenizer, tmp, bits, max_shard_size)
        else:
            merged.save_pretrained(tmp, max_shard_size=max_shard_size)
            tokenizer.save_pretrained(tmp)
    return Path(out_dir).expanduser().resolve()


def load_merged(base: str | os.PathLike, adapter: str | os.PathLike,
                device: str = 'cpu') -> tuple[Any, Any, torch.dtype]:
    """(base + adapter merged in fp32, the tokenizer to ship, the base model's dtype).

    The tokenizer is the adapter folder's when it has one (it carries the training
    chat_template), else the base model's; generation stops at its eos too.
    """
    adapter_dir = check_adapter_dir(adapter)
    device_map = _device_map(device)
    step = Steps('merge', ['load base model', 'apply adapter', 'merge'])
    step('load base model')
    base_path = resolve_model_path(base)
    base_dtype = _config_dtype(AutoConfig.from_pretrained(base_path))
    # The merge itself in fp32: W + BA rounded once, at the end.
    model = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32,
                                                 device_map=device_map)
    step('apply adapter')
    try:
        model = PeftModel.from_pretrained(model, str(adapter_dir))
    except Exception as exc:  # noqa: BLE001 - shape and key errors: name both folders
        raise CheckpointError(f'adapter {adapter_dir} does not fit base model {base}: '
                              f'{type(exc).__name__}: {exc}') from exc
    step('merge')
    merged = model.merge_and_unload()
    merged.config.use_cache = True
    tokenizer = AutoTokenizer.from_pretrained(
        adapter_dir if has_tokenizer(adapter_dir) else base_path)
    set_stop_tokens(merged.generation_config, tokenizer, keep_existing=True)
    step.close()
    return merged, tokenizer, base_dtype


def adapter_base(adapter_dir: Path, base: str | None) -> str:
    """``base``, else the base model an adapter folder's adapter_config.json names."""
    import json
    base = base or json.loads((adapter_dir / 'adapter_config.json').read_text(
        encoding='utf-8')).get('base_model_name_or_path')
    if not base:
        raise ConfigError(f'{adapter_dir}/adapter_config.json names no base model; '
                          'pass --base BASE_MODEL')
    return base


def _config_dtype(config) -> torch.dtype:
    value = getattr(config, 'dtype', None) or getattr(config, 'torch_dtype', None)
    resolved = resolve_dtype(value) if isinstance(value, str) else value
    return resolved if isinstance(resolved, torch.dtype) else torch.float32
