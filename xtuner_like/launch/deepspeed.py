"""DeepSpeed presets and the one function that reconciles them with a config (STYLE.md rule 11).

A preset (``configs/deepspeed/*.json``) leaves the values the config already decides as
``"auto"``; :func:`reconcile_deepspeed_config` fills them in, and a value set in both places
that disagrees is a :class:`ConfigError` naming both. This module does not import deepspeed.
"""
from __future__ import annotations

import copy
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UnknownNameError
from ..utils.logging import log_once
from ..compat import cfg_dict, lazy_object_path
from ..config.recipes import preset_paths
from ..utils.dtype import precision_name

_OPTIMIZER_PATH = 'xtuner_like.launch.deepspeed_strategy.XDeepSpeedOptimWrapper'
_STRATEGY_PATH = 'xtuner_like.launch.deepspeed_strategy.XDeepSpeedStrategy'


def deepspeed_available() -> bool:
    return importlib.util.find_spec('deepspeed') is not None


def find_preset(name_or_path: str) -> Path:
    """A DeepSpeed JSON file by path, or a shipped preset by name ('deepspeed_zero2', 'zero2')."""
    path = Path(name_or_path).expanduser()
    if path.suffix == '.json' and path.is_file():
        return path
    presets = preset_paths()
    for stem in (path.stem, f'deepspeed_{path.stem}'):
        if stem in presets and len(path.parts) == 1:
            return presets[stem]
    short = [n[len('deepspeed_'):] for n in presets if n.startswith('deepspeed_')]
    raise UnknownNameError('DeepSpeed config file or preset', name_or_path, [*presets, *short])


def load_preset(name_or_path: str) -> dict:
    """The JSON of a preset or of a user's DeepSpeed config file."""
    path = find_preset(name_or_path)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f'{path}: not valid JSON: {exc}') from None


def _get(cfg: Any, dotted: str, default: Any = None) -> Any:
    """``cfg['a']['b']`` for 'a.b' on raw values (lazy types stay unbuilt), or ``default``."""
    node = cfg_dict(cfg)
    for part in dotted.split('.'):
        if not isinstance(node, dict) or part not in node:
            return default
        node = dict.__getitem__(node, part)
    return node


def config_precision(cfg: Any) -> str:
    """'bf16', 'fp16' or 'fp32': what the config's model dtype means on this machine."""
    return precision_name(_get(cfg, 'model.llm.dtype', 'auto') or 'auto')


def _settle(ds: dict, key: str, wanted: Any, source: str, problems: list[str],
            where: str = '') -> None:
    """Fill ``ds[key]`` when it is "auto" (or missing); else it must equal ``wanted``."""
    value = ds.get(key, 'auto')
    if value == 'auto':
        ds[key] = wanted
    elif value != wanted:
        problems.append(f'DeepSpeed {where}{key}={value!r} but the config has '
                        f'{source}={wanted!r}; change one of them or write "auto"')


def reconcile_deepspeed_config(ds: dict, cfg: Any, world_size: int | None = None) -> dict:
    """A copy of DeepSpeed config ``ds`` with every "auto" filled from the training config.

    - ``train_micro_batch_size_per_gpu`` <- ``train_dataloader.batch_size``
    - ``gradient_accumulation_steps`` <- ``optim_wrapper.accumulative_counts`` (default 1)
    - ``train_batch_size`` <- micro batch x accumulation x ``world_size`` (WORLD_SIZE, or
      NPROC_PER_NODE x NNODES)
    - ``gradient_clipping`` <- ``optim_wrapper.clip_grad.max_norm`` (0: no clipping)
    - ``bf16.enabled`` / ``fp16.enabled`` <- the model dtype ('auto': bf16 on CUDA, else fp32)

    Raises:
        ConfigError: every value set in both that disagrees, with both values; an
            ``optimizer`` or ``scheduler`` section (the config's optim_wrapper and
            param_scheduler are the ones used).
    """
    ds = copy.deepcopy(dict(ds))
    if world_size is None:  # under a launcher, or about to start NPROC_PER_NODE processes
        world_size = int(os.environ.get('WORLD_SIZE') or int(os.environ.get(
            'NPROC_PER_NODE') or 1) * int(os.environ.get('NNODES') or 1))
    problems: list[str] = []
    for section, owner in (('optimizer', 'optim_wrapper.optimizer'),
                           ('scheduler', 'param_scheduler')):
        if section in ds:
            problems.append(f'DeepSpeed config has an {section!r} section, but the config\'s '
                            f'{owner} is used; remove the section')
    micro = int(_get(cfg, 'train_dataloader.batch_size', 1))
    accumulation = int(_get(cfg, 'optim_wrapper.accumulative_counts', 1) or 1)
    clip = _get(cfg, 'optim_wrapper.clip_grad')
    max_norm = float(clip.get('max_norm', 0.0)) if isinstance(clip, dict) else 0.0
    _settle(ds, 'train_micro_batch_size_per_gpu', micro, 'train_dataloader.batch_size', problems)
    _settle(ds, 'gradient_accumulation_steps', accumulation,
            'optim_wrapper.accumulative_counts', problems)
    _settle(ds, 'train_batch_size', micro * accumulation * world_size,
            f'batch_size x accumulative_counts x {world_size} processes', problems)
    _settle(ds, 'gradient_clipping', max_norm, 'optim_wrapper.clip_grad.max_norm', problems)
    precision = config_precision(cfg)
    for name in ('bf16', 'fp16'):
        section = ds.setdefault(name, {})
        if not isinstance(section, dict):
            problems.append(f'DeepSpeed {name} must be a dict like {{"enabled": "auto"}}')
            continue
        dtype = _get(cfg, 'model.llm.dtype', 'auto')
        _settle(section, 'enabled', precision == name,
                f'model.llm.dtype={dtype!r}, which means {name}.enabled', problems,
                where=f'{name}.')
    if problems:
        raise ConfigError('DeepSpeed config does not match the training config:\n  '
                          + '\n  '.join(problems))
    return ds


def _type_name(type_: Any) -> str:
    """'torch.optim.AdamW' for a dotted string, a lazy import or a class."""
    if isinstance(type_, str):
        return type_
    lazy = lazy_object_path(type_)  # an mmengine LazyObject
    if lazy is not None:
        return lazy
    return f'{getattr(type_, "__module__", "")}.{getattr(type_, "__qualname__", type_)}'


def offload_optimizer(ds: dict, optimizer: dict) -> dict:
    """torch's Adam/AdamW as DeepSpeedCPUAdam when ZeRO-Offload steps the optimizer on the CPU.

    DeepSpeed refuses other optimizers there (its CPU Adam is several times faster); the
    hyper-parameters are kept, AdamW's decoupled weight decay included (``adamw_mode``).
    """
    zero = ds.get('zero_optimization') or {}
    device = (zero.get('offload_optimizer') or {}).get('device', 'none')
    name = _type_name(dict.get(optimizer, 'type'))
    if device not in ('cpu', 'nvme') or not name.startswith('torch.optim') or \
            name.rpartition('.')[2] not in ('Adam', 'AdamW'):
        return optimizer
    kept = {k: v for k, v in dict.items(optimizer)
            if k in ('lr', 'betas', 'eps', 'weight_decay', 'amsgrad')}
    log_once(f'ZeRO-Offload: {name} runs as deepspeed.ops.adam.DeepSpeedCPUAdam '
             '(compiled on first use)')
    return {'type': 'deepspeed.ops.adam.DeepSpeedCPUAdam', **kept,
            'adamw_mode': name.endswith('AdamW')}


def note_quantized_zero3(ds: dict, cfg: Any) -> bool:
    """Say, once, what ZeRO-3 does with a 4-bit (QLoRA) base; True when it applies.

    ZeRO-3 partitions every parameter, the frozen packed 4-bit weights included, and gathers
    each layer's back (with the quantization state bitsandbytes keeps beside them) before its
    forward: tests/cli/test_train_distributed.py checks that 2 processes give the losses and
    gradient norms of one (issue 23, item 13).
    """
    stage = (ds.get('zero_optimization') or {}).get('stage', 0)
    quantization = _get(cfg, 'model.llm.quantization')
    if str(stage) != '3' or not quantization:
        return False
    log_once('ZeRO-3 with a 4-bit base (QLoRA): the packed 4-bit weights are partitioned '
             'across the processes like every weight and gathered per layer with their '
             'quantization state; the trained LoRA weights are partitioned too')
    return True


def apply_deepspeed(cfg: Any, name_or_path: str) -> dict:
    """Switch ``cfg`` to DeepSpeed: strategy, optim wrapper and the reconciled JSON.

    The optimizer of the config is kept; clipping and accumulation move into the DeepSpeed
    config, where DeepSpeed applies them. Returns the reconciled DeepSpeed dict.
    """
    if not deepspeed_available():
        raise ConfigError('--deepspeed needs deepspeed: pip install -r requirements/deepspeed.txt')
    ds = reconcile_deepspeed_config(load_preset(name_or_path), cfg)
    optimizer = _get(cfg, 'optim_wrapper.optimizer')
    if optimizer is None:
        raise ConfigError('--deepspeed: the config has no optim_wrapper.optimizer')
    note_quantized_zero3(ds, cfg)
    cfg.optim_wrapper = dict(type=_OPTIMIZER_PATH, optimizer=offload_optimizer(ds, optimizer))
    cfg.strategy = dict(type=_STRATEGY_PATH, config=ds, exclude_frozen_parameters=True)
    cfg.deepspeed = str(name_or_path)
    return ds
