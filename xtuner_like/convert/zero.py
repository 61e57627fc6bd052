"""Read a DeepSpeed checkpoint folder (ZeRO 1-3): the one place that imports deepspeed here.

Kept small on purpose; the DeepSpeed work extends it. ``get_fp32_state_dict_from_zero_checkpoint``
gathers the fp32 master weights of every rank (stage-3 shards included).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from ..errors import CheckpointError


def read_deepspeed_dir(path: Path) -> dict[str, torch.Tensor]:
    """The model weights of a DeepSpeed checkpoint folder (keys as in the mmengine model)."""
    if not any(path.rglob('*model_states.pt')):
        raise CheckpointError(f'{path} is a folder but not a DeepSpeed checkpoint (no '
                              '*model_states.pt inside); pass an iter_N.pth file or the '
                              'DeepSpeed checkpoint folder')
    if importlib.util.find_spec('deepspeed') is None:
        raise CheckpointError(f'{path} is a DeepSpeed checkpoint; reading it needs deepspeed, '
                              "which is not installed: pip install -r requirements/deepspeed.txt")
    from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint
    try:
        state = get_fp32_state_dict_from_zero_checkpoint(str(path))
    except Exception as exc:  # noqa: BLE001 - deepspeed raises many kinds; name the folder
        raise CheckpointError(f'cannot read DeepSpeed checkpoint {path}: '
                              f'{type(exc).__name__}: {exc}') from exc
    return dict(state)
