"""Our mmengine Runner: atomic checkpoints, safe resume, adapters-only LoRA checkpoints."""
from __future__ import annotations

import os.path as osp
from typing import Any

from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from .checkpoint import atomic_replace, plain_numbers, safe_load


class XRunner(Runner):
    """mmengine's Runner with the checkpoint behaviour this project promises.

    - checkpoints are written to a temporary name and renamed, so a killed run never leaves
      a truncated file behind for ``--resume auto`` to pick;
    - checkpoints load with ``weights_only=True`` (torch >= 2.6) by allowlisting mmengine's
      types, instead of turning the safety check off;
    - a LoRA model's checkpoint holds only its adapters, and loading checks they all match.
    """

    def save_checkpoint(self, out_dir: str, filename: str, *args: Any, **kwargs: Any) -> None:
        hub = self.message_hub
        hub._runtime_info = plain_numbers(hub._runtime_info)
        tmp_name = f'.{filename}.tmp'
        super().save_checkpoint(out_dir, tmp_name, *args, **kwargs)
        atomic_replace(osp.join(out_dir, tmp_name), osp.join(out_dir, filename))

    def load_checkpoint(self, filename: str, map_location: Any = 'cpu', strict: bool = False,
                        revise_keys: Any = None) -> dict:
        checkpoint = safe_load(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        state = checkpoint.get('state_dict', checkpoint)
        if hasattr(model, 'load_trainable_state_dict'):
            model.load_trainable_state_dict(state)
        else:
            model.load_state_dict(state, strict=strict)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint
