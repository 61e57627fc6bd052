"""Checkpoint files: atomic writes and safe (weights_only) loads.

torch >= 2.6 loads with ``weights_only=True``. An mmengine checkpoint also holds its message
hub: HistoryBuffers (which pickle bound methods through ``getattr``), numpy arrays and numpy
scalars (which also need ``getattr``). Allowing ``getattr`` would open the unpickler wide, so
instead the message hub is written as plain lists and numbers (:func:`plain_message_hub`) and
rebuilt on load (:func:`restore_message_hub`); only numpy arrays and dtypes are allowlisted,
for checkpoints written by plain mmengine.
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
    """numpy scalars and arrays -> Python numbers and lists, through dicts and lists."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    if isinstance(value, dict):
        return {k: plain_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain_numbers(v) for v in value)
    return value


_BUFFER_TAG = '__history_buffer__'


def plain_message_hub(state: dict) -> dict:
    """A message hub state dict with HistoryBuffers and numpy values as plain Python data."""
    scalars = {key: {_BUFFER_TAG: True, 'log': np.asarray(buf._log_history).tolist(),
                     'count': np.asarray(buf._count_history).tolist(),
                     'max_length': int(buf.max_length)}
               for key, buf in state.get('log_scalars', {}).items()}
    return {**state, 'log_scalars': scalars,
            'runtime_info': plain_numbers(state.get('runtime_info', {}))}


def restore_message_hub(state: dict) -> dict:
    """Inverse of :func:`plain_message_hub` (older checkpoints pass through unchanged)."""
    scalars = {}
    for key, value in state.get('log_scalars', {}).items():
        if isinstance(value, dict) and value.get(_BUFFER_TAG):
            value = HistoryBuffer(value['log'], value['count'], value['max_length'])
        scalars[key] = value
    return {**state, 'log_scalars': scalars}


def rng_state() -> dict:
    """Random generator states (torch, CUDA, numpy, Python), for an exact resume."""
    import random
    state = {'torch': torch.get_rng_state(), 'numpy': plain_numbers(np.random.get_state()),
             'python': plain_numbers(random.getstate())}
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Inverse of :func:`rng_state`."""
    import random
    torch.set_rng_state(state['torch'])
    kind, keys, pos, has_gauss, gauss = state['numpy']
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state['python']
    random.setstate((version, tuple(internal), gauss_next))
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


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
