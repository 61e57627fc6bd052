"""`merge`: a base model + a PEFT adapter -> one full model folder (``merge_and_unload``)."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from ..errors import CheckpointError, ConfigError
from ..utils.dtype import resolve_dtype
from .export import atomic_dir

DEVICES = ('cpu', 'cuda', 'auto')


def check_adapter_dir(adapter: str | os.PathLike) -> Path:
    """The adapter folder, or a CheckpointError that says what is missing."""
    path = Path(adapter).expanduser()
    if not path.is_dir():
        raise CheckpointError(f'adapter directory {path} does not exist; pass the folder '
                              'written by `convert pth_to_hf` (or <work_dir>/hf)')
    if not (path / 'adapter_config.json').is_file():
        found = sorted(p.name for p in path.iterdir())[:8]
        hint = ('; it holds a full model: use it directly, no merge needed'
                if (path / 'config.json').is_file() else '')
        raise CheckpointError(f'{path} has no adapter_config.json (found {found}); it is not '
                              f'a PEFT adapter folder{hint}')
    return path


def has_tokenizer(path: Path) -> bool:
    return (path / 'tokenizer_config.json').is_file()


def _device_map(device: str) -> dict | str:
    if device not in DEVICES:
        raise ConfigError(f'--device {device!r}: use one of {", ".join(DEVICES)}')
    if device == 'cuda' and not torch.cuda.is_available():
        raise ConfigError('--device cuda: no CUDA device is available; use --device cpu')
    return 'auto' if device == 'auto' else {'': device}


def merge_adapter(base: str | os.PathLike, adapter: str | os.PathLike,
                  out_dir: str | os.PathLike, dtype: str | None = None,
                  max_shard_size: str = '2GB', device: str = 'cpu') -> Path:
    """Merge ``adapter`` into ``base`` and save the full model and its tokenizer.

    Args:
        base: base model folder, hub id or the embedded model's hub id.
        adapter: the PEFT adapter folder (from ``pth_to_hf`` or ``<work_dir>/hf``).
        out_dir: the folder to create (must not exist or be empty).
        dtype: 'fp32', 'bf16', 'fp16', or None for the base model's own dtype.
        max_shard_size: largest weight file.
        device: where the merge runs: 'cpu', 'cuda' or 'auto' (accelerate places it).

    Returns:
        ``out_dir``. Its tokenizer is the adapter folder's (it carries the training
        chat_template) when it has one, else the base model's.
    """
    from peft import PeftModel
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from ..model.resolve import resolve_model_path

    adapter_dir = check_adapter_dir(adapter)
    device_map = _device_map(device)
    base_path = resolve_model_path(base)
    target = resolve_dtype(dtype) if dtype else _config_dtype(AutoConfig.from_pretrained(base_path))
    # The merge itself in fp32: W + BA rounded once, at the end.
    model = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32,
                                                 device_map=device_map)
    try:
        model = PeftModel.from_pretrained(model, str(adapter_dir))
    except Exception as exc:  # noqa: BLE001 - shape and key errors: name both folders
        raise CheckpointError(f'adapter {adapter_dir} does not fit base model {base}: '
                              f'{type(exc).__name__}: {exc}') from exc
    merged = model.merge_and_unload().to(target)
    merged.config.use_cache = True
    tokenizer = AutoTokenizer.from_pretrained(
        adapter_dir if has_tokenizer(adapter_dir) else base_path)
    _stop_at_eos(merged.generation_config, tokenizer)
    with atomic_dir(out_dir) as tmp:
        merged.save_pretrained(tmp, max_shard_size=max_shard_size)
        tokenizer.save_pretrained(tmp)
    return Path(out_dir).expanduser().resolve()


def _config_dtype(config) -> torch.dtype:
    value = getattr(config, 'dtype', None) or getattr(config, 'torch_dtype', None)
    resolved = resolve_dtype(value) if isinstance(value, str) else value
    return resolved if isinstance(resolved, torch.dtype) else torch.float32


def _stop_at_eos(generation, tokenizer) -> None:
    """Generation stops at the tokenizer's eos too (the end-of-turn token of its template)."""
    eos = generation.eos_token_id
    ids = [eos] if isinstance(eos, int) else list(eos or [])
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.insert(0, tokenizer.eos_token_id)
    generation.eos_token_id = ids[0] if len(ids) == 1 else (ids or None)
    if generation.pad_token_id is None:
        generation.pad_token_id = tokenizer.pad_token_id
