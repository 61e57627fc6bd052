"""Read a DeepSpeed checkpoint folder (ZeRO 1-3): the one place that reads DeepSpeed files here.

DeepSpeed loads its files with ``weights_only=False``. A folder a user hands in is therefore
first checked file by file with ``weights_only=True`` and only the types DeepSpeed and
mmengine write allowlisted (:func:`check_deepspeed_dir`): a file that passes holds nothing
else, so DeepSpeed's own loader then builds only those. ``get_fp32_state_dict_from_zero_checkpoint``
gathers the fp32 master weights of every rank (stage-3 shards included).
"""
from __future__ import annotations

import enum
import importlib.util
import pickle
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError
from ..utils.io import safe_load


def _enum_member(cls: Any, name: str) -> enum.Enum:
    """What ``builtins.getattr`` may do while loading: fetch a member of an allowlisted enum.

    Some Python builds (Debian's 3.11.2, for one) pickle an enum member as
    ``getattr(ZeroStageEnum, 'gradients')``; allowing ``getattr`` itself would let a file reach
    any attribute of an allowed class, so only enum members by name get through.
    """
    if isinstance(cls, type) and issubclass(cls, enum.Enum) and name in cls.__members__:
        return cls[name]
    raise pickle.UnpicklingError(f'getattr({cls!r}, {name!r}) is not an enum member; refused')


def _deepspeed_globals() -> list:
    """Types a DeepSpeed 0.19 checkpoint pickles besides tensors and plain containers."""
    from deepspeed.runtime.fp16.loss_scaler import DynamicLossScaler, LossScaler
    from deepspeed.runtime.zero.config import ZeroStageEnum
    from deepspeed.utils.tensor_fragment import fragment_address
    return [LossScaler, DynamicLossScaler, ZeroStageEnum, fragment_address,
            (_enum_member, 'builtins.getattr')]


def check_deepspeed_dir(path: str | Path) -> None:
    """Raise CheckpointError unless every ``*.pt`` in ``path`` loads with ``weights_only=True``."""
    path = Path(path)
    files = sorted(path.rglob('*.pt'))
    if not any(f.name.endswith('model_states.pt') for f in files):
        raise CheckpointError(f'{path} is not a DeepSpeed checkpoint folder (no '
                              '*model_states.pt inside); pass an iter_N.pth of a --deepspeed run')
    allowed = _deepspeed_globals()
    for file in files:
        try:
            safe_load(file, extra_globals=allowed, mmap=True)
        except CheckpointError as exc:
            cause = exc.__cause__
            raise CheckpointError(f'{file} does not load with weights_only=True, so it is not '
                                  f'read: {type(cause).__name__}: {cause}') from None


def read_deepspeed_dir(path: Path) -> dict[str, torch.Tensor]:
    """The model weights of a DeepSpeed checkpoint folder (keys as in the mmengine model)."""
    path = Path(path)
    if not any(path.rglob('*model_states.pt')):
        raise CheckpointError(f'{path} is a folder but not a DeepSpeed checkpoint (no '
                              '*model_states.pt inside); pass an iter_N.pth file or the '
                              'DeepSpeed checkpoint folder')
    if importlib.util.find_spec('deepspeed') is None:
        raise CheckpointError(f'{path} is a DeepSpeed checkpoint; reading it needs deepspeed, '
                              "which is not installed: pip install -r requirements/deepspeed.txt")
    check_deepspeed_dir(path)
    from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint
    try:
        state = get_fp32_state_dict_from_zero_checkpoint(
            str(path.resolve().parent), tag=path.name, exclude_frozen_parameters=True)
    except Exception as exc:  # noqa: BLE001 - deepspeed raises many kinds; name the folder
        raise CheckpointError(f'cannot read DeepSpeed checkpoint {path}: '
                              f'{type(exc).__name__}: {exc}') from exc
    return dict(state)


def read_deepspeed_extra(path: str | Path) -> dict:
    """What mmengine saved beside the weights of a DeepSpeed checkpoint folder (its
    ``client_state``: meta, message hub, EMA ...), read with ``weights_only=True``."""
    path = Path(path)
    check_deepspeed_dir(path)
    files = sorted(path.rglob('*mp_rank_00_model_states.pt'))
    if not files:
        raise CheckpointError(f'{path}: no mp_rank_00_model_states.pt inside; pass the '
                              'DeepSpeed checkpoint folder of a --deepspeed run')
    return dict(safe_load(files[0], extra_globals=_deepspeed_globals()))
