"""`pth_to_hf`: a training checkpoint + its config -> a Hugging Face folder.

LoRA and QLoRA runs give a PEFT adapter folder, full runs a model folder (see export.py).
The model is rebuilt from the config (a QLoRA base is loaded un-quantized: only the adapter
is saved), and the checkpoint is read with ``weights_only=True``: a user's file is never
unpickled freely.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import torch
from mmengine.config import Config

from ..config import load_config, resolve_references
from ..errors import CheckpointError, ConfigError
from ..launch.zero import read_deepspeed_dir, read_deepspeed_extra
from ..dataset.spec import chat_format_of
from ..utils.build import build
from ..utils.io import safe_load


def load_run_config(config: str | os.PathLike, cfg_options: dict | None = None) -> Config:
    """Load a recipe, or the config a run dumped into its work dir, with references resolved.

    A dumped config has its references already resolved, so its knobs are no longer used as
    ``${name}``; the key check of ``load_config`` is skipped here for that reason.
    """
    cfg = load_config(str(config), cfg_options, resolve=False)
    resolve_references(cfg)
    if 'model' not in cfg:
        raise ConfigError(f'{config}: no `model` in this config; pass the training config')
    return cfg


def _plain(spec: Any) -> Any:
    """A config value as plain dicts and lists (lazy types become dotted strings)."""
    return spec.to_dict() if hasattr(spec, 'to_dict') else copy.deepcopy(spec)


def build_for_export(cfg: Config) -> torch.nn.Module:
    """The config's SupervisedFinetune in fp32 on the CPU, un-quantized, without checkpointing."""
    spec = _plain(cfg.model)
    llm = spec.get('llm')
    if isinstance(llm, dict):
        # fp32 so the checkpoint loads exactly; the export casts to the dtype asked for.
        llm.update(dtype='fp32', quantization=None, attn_implementation='sdpa')
    spec['use_gradient_checkpointing'] = False
    return build(spec)


def read_state_dict(checkpoint: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Model weights from an mmengine ``.pth`` file or a DeepSpeed checkpoint folder."""
    path = Path(checkpoint).expanduser()
    if path.is_dir():
        return read_deepspeed_dir(path)
    data = safe_load(path)
    for key in ('state_dict', 'module'):
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            data = data[key]
            break
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError(f'{path} holds no model weights (expected a dict of tensors '
                              "under 'state_dict'); pass an iter_N.pth of a training run")
    return data


def read_ema_state_dict(checkpoint: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The EMA of the trained weights that a run with ``ema=dict(...)`` saved in
    ``checkpoint`` (``checkpoint['ema']['state_dict']``, fp32)."""
    path = Path(checkpoint).expanduser()
    data = read_deepspeed_extra(path) if path.is_dir() else safe_load(path)
    ema = data.get('ema') if isinstance(data, dict) else None
    if not isinstance(ema, dict) or not isinstance(ema.get('state_dict'), dict):
        raise CheckpointError(f'{path} holds no EMA of the weights (its run had no `ema`); '
                              'convert without --ema, or train with '
                              "--cfg-options \"ema={'decay': 0.999}\"")
    return ema['state_dict']


def with_ema(state_dict: dict[str, torch.Tensor], ema: dict[str, torch.Tensor],
             checkpoint: str | os.PathLike) -> dict[str, torch.Tensor]:
    """``state_dict`` with its trained weights replaced by their EMA (in their dtype)."""
    unknown = sorted(set(ema) - set(state_dict))
    if unknown:
        raise CheckpointError(f'{checkpoint}: the EMA names weights the checkpoint does not hold '
                              f'(e.g. {unknown[:2]}); the file is damaged or mixed up')
    return {**state_dict, **{k: v.to(state_dict[k].dtype) for k, v in ema.items()}}


def load_into(model: torch.nn.Module, state_dict: dict[str, torch.Tensor],
              checkpoint: str | os.PathLike, config: str | os.PathLike) -> None:
    """Load ``state_dict`` into ``model``; a mismatch names both files."""
    hint = (f'checkpoint {checkpoint} does not match config {config}; pass the config the '
            'checkpoint was trained with (the .py file in its work dir)')
    try:
        model.load_trainable_state_dict(state_dict)
    except CheckpointError as exc:
        raise CheckpointError(f'{hint}: {exc}') from None
    except RuntimeError as exc:  # shape mismatches from load_state_dict
        lines = [ln.strip() for ln in str(exc).splitlines() if 'size mismatch' in ln]
        raise CheckpointError(f'{hint}: ' + ('; '.join(lines[:3]) or str(exc))) from None


def pth_to_hf(config: str | os.PathLike, checkpoint: str | os.PathLike,
              out_dir: str | os.PathLike, dtype: str | None = None,
              max_shard_size: str = '2GB', safe_serialization: bool = True,
              cfg_options: dict | None = None, ema: bool = False) -> Path:
    """Convert a training checkpoint into a Hugging Face folder.

    Args:
        config: the training config (recipe name or path; the work dir's copy is best).
        checkpoint: an ``iter_N.pth`` file, or a DeepSpeed checkpoint folder.
        out_dir: the folder to create (must not exist or be empty).
        dtype: 'fp32', 'bf16', 'fp16', or None for the checkpoint's dtype.
        max_shard_size: largest weight file of a full model.
        safe_serialization: safetensors, or a torch .bin for adapters.
        cfg_options: config overrides, as for ``train --cfg-options``.
        ema: export the EMA of the trained weights (a run with ``ema=dict(...)``) instead
            of the live weights.

    Returns:
        ``out_dir``: an adapter folder (LoRA/QLoRA) or a full model folder.
    """
    cfg = load_run_config(config, cfg_options)
    state_dict = read_state_dict(checkpoint)
    if ema:
        state_dict = with_ema(state_dict, read_ema_state_dict(checkpoint), checkpoint)
    model = build_for_export(cfg)
    load_into(model, state_dict, checkpoint, config)
    if dtype is None:
        dtype = next((str(v.dtype).replace('torch.', '') for v in state_dict.values()
                      if v.is_floating_point()), None)
    tokenizer = build(_plain(cfg.tokenizer))
    return model.export(out_dir, tokenizer, chat_format_of(cfg), config_text=cfg.dump(),
                        dtype=dtype, max_shard_size=max_shard_size,
                        safe_serialization=safe_serialization,
                        base_name=cfg.get('pretrained_model_name_or_path'))
