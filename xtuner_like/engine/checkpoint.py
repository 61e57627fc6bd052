"""Checkpoint files: atomic writes and safe (weights_only) loads.

torch >= 2.6 loads with ``weights_only=True``; an mmengine checkpoint also holds its message
hub (HistoryBuffer, numpy arrays and dtypes), so exactly those types are allowlisted here.
Numpy scalars would need ``getattr`` to unpickle, so :func:`plain_numbers` removes them before
saving instead of allowing them on load.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from ..errors import CheckpointError


def _numpy_globals() -> list:
    core = getattr(np, '_core', None) or np.core
    found = [np.ndarray, np.dtype, core.multiarray._reconstruct]
    found += [type(np.dtype(t)) for t in ('float64', 'float32', 'int64', 'int32', 'bool')]
    return found


SAFE_GLOBALS = [HistoryBuffer, *_numpy_globals()]


def plain_numbers(value: Any) -> Any:
    """numpy scalars -> Python numbers, recursively through dicts and lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: plain_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain_numbers(v) for v in value)
    return value


def safe_load(path: str | Path, map_location: Any = 'cpu') -> dict:
    """torch.load with weights_only=True and only the mmengine types allowlisted."""
    if not Path(path).exists():
        raise CheckpointError(f'checkpoint {path} does not exist')
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise CheckpointError(f'cannot load checkpoint {path}: {exc}') from exc


def atomic_replace(tmp_path: str | Path, final_path: str | Path) -> None:
    """Move a fully written file into place (same filesystem, so the rename is atomic)."""
    with open(tmp_path, 'rb') as f:
        os.fsync(f.fileno())
    os.replace(tmp_path, final_path)
