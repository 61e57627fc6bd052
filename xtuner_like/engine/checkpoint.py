"""Checkpoint contents that load with ``weights_only=True``: message hub and RNG states.

torch >= 2.6 loads with ``weights_only=True``. An mmengine checkpoint also holds its message
hub: HistoryBuffers (which pickle bound methods through ``getattr``), numpy arrays and numpy
scalars (which also need ``getattr``). Allowing ``getattr`` would open the unpickler wide, so
instead the message hub is written as plain lists and numbers (:func:`plain_message_hub`) and
rebuilt on load (:func:`restore_message_hub`); only numpy arrays and dtypes are allowlisted,
for checkpoints written by plain mmengine. Loading and atomic writes are ``utils/io.py``'s.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from mmengine.logging import HistoryBuffer


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
    scalars = {key: {_BUFFER_TAG: True, 'log': np.asarray(buf.data[0]).tolist(),
                     'count': np.asarray(buf.data[1]).tolist(),
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
