"""Our mmengine Runner: atomic checkpoints, safe resume, adapters-only LoRA checkpoints."""
from __future__ import annotations

import os.path as osp
from typing import Any

from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from .checkpoint import (atomic_replace, plain_message_hub, restore_message_hub, rng_state,
                         safe_load, set_rng_state)


class XRunner(Runner):
    """mmengine's Runner with the checkpoint behaviour this project promises.

    - checkpoints are written to a temporary name and renamed, so a killed run never leaves
      a truncated file behind for ``--resume auto`` to pick;
    - checkpoints load with ``weights_only=True`` (torch >= 2.6) by allowlisting mmengine's
      types, instead of turning the safety check off;
    - a LoRA model's checkpoint holds only its adapters, and loading checks they all match;
    - the random state is saved and restored, so a resumed run continues exactly.
    """

    def call_hook(self, fn_name: str, **kwargs: Any) -> None:
        if fn_name == 'before_save_checkpoint':
            checkpoint = kwargs['checkpoint']
            checkpoint['message_hub'] = plain_message_hub(checkpoint['message_hub'])
            checkpoint['rng_state'] = rng_state()
        super().call_hook(fn_name, **kwargs)
        if fn_name == 'after_load_checkpoint':
            checkpoint = kwargs['checkpoint']
            if 'message_hub' in checkpoint:
                checkpoint['message_hub'] = restore_message_hub(checkpoint['message_hub'])

    def save_checkpoint(self, out_dir: str, filename: str, *args: Any, **kwargs: Any) -> None:
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
        self._loaded_rng_state = checkpoint.get('rng_state')
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def resume(self, filename: str, *args: Any, **kwargs: Any) -> None:
        """mmengine's resume, plus the random state, so dropout continues exactly."""
        super().resume(filename, *args, **kwargs)
        if getattr(self, '_loaded_rng_state', None) is not None:
            set_rng_state(self._loaded_rng_state)
