"""Numeric settings checked when a config loads: one line naming each bad value.

A zero batch size, a negative lr or ``lora_r=0`` used to fail deep inside torch, peft or
mmengine with a traceback (issue 16). Each rule names the config path, the knob a recipe sets
it with, and what is allowed; every problem is reported at once.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from ..compat import cfg_dict
from ..errors import ConfigError


def _whole(minimum: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            return f'must be a whole number >= {minimum}'
        return None
    return check


def _number(low: float, high: float = math.inf, low_inclusive: bool = False,
            high_inclusive: bool = False) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) \
            and math.isfinite(value) and (value >= low if low_inclusive else value > low) \
            and (value <= high if high_inclusive else value < high)
        if ok:
            return None
        lo = f'{">=" if low_inclusive else ">"} {low:g}'
        hi = '' if high == math.inf else f' and {"<=" if high_inclusive else "<"} {high:g}'
        return f'must be a number {lo}{hi}'
    return check


# (path in the resolved config, the knob recipes set it with, rule)
RULES: list[tuple[str, str, Callable[[Any], str | None]]] = [
    ('train_dataloader.batch_size', 'batch_size', _whole(1)),
    ('train_dataloader.dataset.max_length', 'max_length', _whole(2)),
    ('optim_wrapper.optimizer.lr', 'lr', _number(0)),
    ('optim_wrapper.optimizer.weight_decay', 'weight_decay', _number(0, low_inclusive=True)),
    ('optim_wrapper.accumulative_counts', 'accumulative_counts', _whole(1)),
    ('optim_wrapper.clip_grad.max_norm', 'max_norm', _number(0)),
    ('model.lora.r', 'lora_r', _whole(1)),
    ('model.lora.lora_alpha', 'lora_alpha', _number(0)),
    ('model.lora.lora_dropout', 'lora_dropout', _number(0, 1, low_inclusive=True)),
    ('train_cfg.max_iters', 'max_iters', _whole(1)),
    ('train_cfg.max_epochs', 'max_epochs', _whole(1)),
    ('default_hooks.checkpoint.interval', 'save_steps', _whole(1)),
    ('default_hooks.logger.interval', 'log_interval', _whole(1)),
]
# Scheduler entries of these types are checked for warm-up settings.
SCHEDULER_RULES = [('warmup_iters', _whole(0)), ('warmup_ratio', _number(0, 1, True))]


def _get(cfg: Any, dotted: str) -> tuple[bool, Any]:
    node = cfg
    for part in dotted.split('.'):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = dict.__getitem__(node, part)
    return True, node


def check_numeric_settings(cfg: Any) -> None:
    """Raise one ConfigError listing every numeric setting out of range."""
    root = cfg_dict(cfg)
    problems = []
    for path, knob, rule in RULES:
        found, value = _get(root, path)
        if not found or value is None:
            continue
        why = rule(value)
        if why:
            problems.append(f'{knob}={value!r} ({path}): {why}')
    schedulers = dict.get(root, 'param_scheduler') if isinstance(root, dict) else None
    for i, spec in enumerate(schedulers if isinstance(schedulers, list) else []):
        for key, rule in SCHEDULER_RULES:
            value = spec.get(key) if isinstance(spec, dict) else None
            why = rule(value) if value is not None else None
            if why:
                problems.append(f'{key}={value!r} (param_scheduler[{i}].{key}): {why}')
    if problems:
        raise ConfigError('; '.join(problems) + '; fix these values in the config or with '
                          '--cfg-options KEY=VALUE')
