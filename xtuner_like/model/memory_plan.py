"""`train --dry-run`: the memory a recipe would need, for full / LoRA / QLoRA, loading nothing.

The model is built on PyTorch's meta device from its ``config.json`` (a local folder, the
Hugging Face cache, the shipped shape table of model/family_shapes.py, or, online, the hub),
so a 7B model costs no memory and no weights are read. The LoRA layers are the ones training
would build; a 4-bit base is counted as bitsandbytes stores it. Each row is the estimate the
run logs at start (model/memory.py), split per process for ZeRO.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from ..errors import ConfigError
from ..utils.dtype import resolve_dtype
from .family_shapes import FAMILY_SHAPES
from .memory import GIB, MemoryEstimate, estimate_training_memory

# bitsandbytes NF4: 4 bits per weight plus one absmax per 64-weight block, stored as fp32, or
# with double quantisation as 8 bits, plus an fp32 absmax per 256 of those.
_NF4_BYTES = 0.5 + 4 / 64
_NF4_DOUBLE_QUANT_BYTES = 0.5 + 1 / 64 + 4 / (64 * 256)
# The LoRA setup a recipe without adapters is compared with (configs/_base_/models/lora.py).
DEFAULT_LORA = dict(r=64, lora_alpha=16, lora_dropout=0.1, target_modules='all-linear',
                    bias='none', task_type='CAUSAL_LM')


@dataclass(frozen=True)
class PlanRow:
    """One setup's estimate for one process."""

    name: str
    estimate: MemoryEstimate
    is_recipe: bool


def find_model_config(name: str, trust_remote_code: bool = False) -> tuple[Any, str]:
    """(transformers config of ``name``, where it came from), without any weights."""
    from transformers import AutoConfig
    folder = Path(name).expanduser()
    if (folder / 'config.json').is_file():
        return AutoConfig.from_pretrained(folder, trust_remote_code=trust_remote_code), \
            f'{folder / "config.json"}'
    cached = _cached_config(name)
    if cached is not None:
        try:
            return AutoConfig.from_pretrained(cached.parent,
                                              trust_remote_code=trust_remote_code), str(cached)
        except (ValueError, OSError):  # hub code not cached: the shape table may know it
            pass
    if name in FAMILY_SHAPES:
        shape = dict(FAMILY_SHAPES[name])
        return AutoConfig.for_model(shape.pop('model_type'), **shape), 'the shipped shape table'
    if os.environ.get('HF_HUB_OFFLINE', '0').lower() in ('0', 'false', ''):
        try:
            from huggingface_hub import hf_hub_download
            path = Path(hf_hub_download(name, 'config.json'))  # a few kB, never weights
            return AutoConfig.from_pretrained(path.parent,
                                              trust_remote_code=trust_remote_code), str(path)
        except Exception:  # offline, gated or unknown: say so below
            pass
    raise ConfigError(f'--dry-run: no config.json for {name!r} in a local folder or the Hugging '
                      f'Face cache, the hub is not reachable, and it is not one of the shipped '
                      f'models ({", ".join(sorted(FAMILY_SHAPES))}); pass a folder holding its '
                      'config.json as pretrained_model_name_or_path')


def _cached_config(name: str) -> Path | None:
    """config.json of ``name`` in the HF cache or the converted embedded-model folder."""
    from ..utils.io import home_dir
    converted = home_dir() / 'models' / name.replace('/', '--') / 'config.json'
    if converted.is_file():
        return converted
    try:
        from huggingface_hub import try_to_load_from_cache
        found = try_to_load_from_cache(name, 'config.json')
    except Exception:  # not a valid repo id: not cached
        return None
    return Path(found) if isinstance(found, str) else None


def meta_model(config: Any, dtype: torch.dtype, lora: Any = None,
               fused_lora: bool = True) -> torch.nn.Module:
    """The model as training builds it (adapters included), with no storage behind it."""
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    from .lora_linear import use_fused_lora
    with torch.device('meta'):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
        if lora is not None:
            if fused_lora:
                use_fused_lora(lora)
            model = get_peft_model(model, lora)
    return model


def nf4_weight_bytes(model: torch.nn.Module, double_quant: bool = True) -> int:
    """Bytes of ``model``'s weights once loaded in 4-bit and prepared for k-bit training.

    transformers quantizes every ``nn.Linear`` but the output embeddings; peft's
    ``prepare_model_for_kbit_training`` then casts every other weight to fp32.
    """
    base = model.get_base_model() if hasattr(model, 'get_base_model') else model
    head = base.get_output_embeddings()
    unquantized = {id(p) for p in head.parameters()} if head is not None else set()
    per_weight = _NF4_DOUBLE_QUANT_BYTES if double_quant else _NF4_BYTES
    quantized: set[int] = set()
    for name, module in base.named_modules():
        weight = getattr(module, 'weight', None)
        if (type(module) is torch.nn.Linear and 'lora_' not in name
                and isinstance(weight, torch.Tensor) and id(weight) not in unquantized):
            quantized.add(id(weight))
    total = 0.0
    for tensor in list(base.parameters()) + list(base.buffers()):
        if id(tensor) in quantized:
            total += tensor.numel() * per_weight
        elif tensor.is_floating_point() and not tensor.requires_grad:
            total += tensor.numel() * 4
        else:
            total += tensor.numel() * tensor.element_size()
    return int(total)


def plan(config: Any, dtype: torch.dtype, tokens: int, lora: dict | None,
         quantization: dict | None, fused_lora: bool = True) -> list[PlanRow]:
    """Estimates for a full fine-tune, LoRA and QLoRA of ``config`` at ``tokens`` per batch.

    ``lora``/``quantization`` are the recipe's settings (dicts without ``type``); the rows
    the recipe does not use take :data:`DEFAULT_LORA` and NF4 with double quantisation.
    """
    from peft import LoraConfig
    recipe = 'QLoRA' if quantization else 'LoRA' if lora else 'full'
    lora_kwargs = lora or DEFAULT_LORA
    rows = [PlanRow('full', estimate_training_memory(meta_model(config, dtype), tokens),
                    recipe == 'full')]
    lora_model = meta_model(config, dtype, LoraConfig(**lora_kwargs), fused_lora)
    rows.append(PlanRow(f'LoRA r{lora_kwargs.get("r", 8)}',
                        estimate_training_memory(lora_model, tokens), recipe == 'LoRA'))
    quant = quantization or {}
    compute = resolve_dtype(quant.get('bnb_4bit_compute_dtype') or dtype) or dtype
    qlora_model = meta_model(config, compute, LoraConfig(**lora_kwargs), fused_lora=False)
    double = bool(quant.get('bnb_4bit_use_double_quant', True))
    weights = nf4_weight_bytes(qlora_model, double)
    embeddings = qlora_model.get_input_embeddings()
    embeddings.to(torch.float32)  # prepare_model_for_kbit_training's cast: fp32 activations
    rows.append(PlanRow(f'QLoRA r{lora_kwargs.get("r", 8)} (NF4)',
                        estimate_training_memory(qlora_model, tokens, weight_bytes=weights),
                        recipe == 'QLoRA'))
    return rows


def zero_share(estimate: MemoryEstimate, stage: int, world_size: int,
               offload_optimizer: bool = False, offload_param: bool = False) -> MemoryEstimate:
    """One process's part of ``estimate`` under ZeRO ``stage`` over ``world_size`` processes
    (stage 1 splits the optimizer states, 2 also the gradients, 3 also the weights); offloaded
    parts leave the accelerator (they count in host memory instead)."""
    n = max(world_size, 1)
    states = 0 if offload_optimizer else estimate.optimizer_states // (n if stage >= 1 else 1)
    grads = estimate.gradients // (n if stage >= 2 else 1)
    weights = 0 if offload_param and stage == 3 else estimate.weights // (n if stage == 3 else 1)
    return replace(estimate, weights=weights, gradients=grads, optimizer_states=states)


def format_plan(rows: list[PlanRow], gradient_checkpointing: bool | str) -> str:
    """The table: one row per setup, GiB; ``*`` marks the recipe's own setup."""
    def g(n: int) -> str:
        return f'{n / GIB:8.2f}'
    head = (f'{"setup":<18}{"weights":>8}{"train.":>8}{"grads":>8}{"AdamW":>8}'
            f'{"acts":>8}{"ckpt":>8}{"total":>8}{"w/ ckpt":>9}')
    lines = [head, '-' * len(head)]
    for row in rows:
        e = row.estimate
        lines.append(f'{(row.name + (" *" if row.is_recipe else "")):<18}{g(e.weights)}'
                     f'{g(e.trainable)}{g(e.gradients)}{g(e.optimizer_states)}'
                     f'{g(e.activations)}{g(e.checkpointed)}{g(e.total(False))} '
                     f'{g(e.total(True))}')
    lines.append(f'GiB per process; * = this recipe; gradient checkpointing in the recipe: '
                 f'{gradient_checkpointing!r} ("w/ ckpt" applies when on). acts/ckpt: '
                 'activations kept for backward without/with checkpointing, logits included.')
    return '\n'.join(lines)
