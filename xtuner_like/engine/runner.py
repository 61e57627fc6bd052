"""Our mmengine Runner: atomic checkpoints, safe resume, adapters-only LoRA checkpoints."""
from __future__ import annotations

import os
import os.path as osp
from typing import Any

import torch
import torch.distributed as dist
from mmengine.dist import is_main_process
from mmengine.model import MMDistributedDataParallel
from mmengine.runner import Runner

from ..errors import CheckpointError
from ..model.base import unwrap_model
from ..utils.io import atomic_replace, safe_load, write_failure
from ..utils.quiet import quiet_runner_logger
from .checkpoint import plain_message_hub, restore_message_hub, rng_state, set_rng_state


def gather_rng_states() -> dict | list[dict]:
    """This process's random state, or every rank's (a list by rank) when distributed."""
    state = rng_state()
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return state
    states: list = [None] * dist.get_world_size()
    dist.all_gather_object(states, state)
    return states


class CheckpointStateMixin:
    """What XRunner and XFlexibleRunner add to every checkpoint: a plain message hub (loadable
    with ``weights_only=True``) and the random states of all ranks, restored on resume."""

    _rng_states: Any = None
    _loaded_rng_state: Any = None

    def call_hook(self, fn_name: str, **kwargs: Any) -> None:
        if fn_name == 'before_save_checkpoint':
            checkpoint = kwargs['checkpoint']
            checkpoint['message_hub'] = plain_message_hub(checkpoint['message_hub'])
            checkpoint['rng_state'] = self._rng_states or rng_state()
        super().call_hook(fn_name, **kwargs)
        if fn_name == 'after_load_checkpoint':
            checkpoint = kwargs['checkpoint']
            if 'message_hub' in checkpoint:
                checkpoint['message_hub'] = restore_message_hub(checkpoint['message_hub'])
            self._loaded_rng_state = checkpoint.get('rng_state')

    def _restore_rng_state(self) -> None:
        state = self._loaded_rng_state
        if isinstance(state, list):  # one per rank; a different world size takes rank 0's
            rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
            state = state[rank] if len(state) == self.world_size else state[0]
        if state is not None:
            set_rng_state(state)


class XRunner(CheckpointStateMixin, Runner):
    """mmengine's Runner with the checkpoint behaviour this project promises.

    - checkpoints are written to a temporary name and renamed, so a killed run never leaves
      a truncated file behind for ``--resume auto`` to pick;
    - checkpoints load with ``weights_only=True`` (torch >= 2.6) by allowlisting mmengine's
      types, instead of turning the safety check off;
    - a LoRA model's checkpoint holds only its adapters, and loading checks they all match;
    - the random state is saved and restored, so a resumed run continues exactly.
    """

    def _init_model_weights(self) -> None:
        """Nothing to initialise: the weights are pretrained and peft has set up LoRA (B = 0).

        mmengine's ``BaseModule.init_weights`` would call transformers' ``init_weights`` on the
        peft model, which draws the LoRA weights again (B no longer zero, so step 0 is not the
        base model), and it takes the mean of every weight (failing on 4-bit uint8 weights).
        """

    def build_logger(self, *args: Any, **kwargs: Any):
        """mmengine's logger, quiet on the terminal (``utils/quiet.py``)."""
        return quiet_runner_logger(super().build_logger(*args, **kwargs))

    def wrap_model(self, model_wrapper_cfg: dict | None, model: torch.nn.Module) -> Any:
        """mmengine's wrapping, except DDP on the CPU (mmengine passes CUDA device_ids)."""
        if not self.distributed or torch.cuda.is_available() or model_wrapper_cfg:
            return super().wrap_model(model_wrapper_cfg, model)
        return MMDistributedDataParallel(module=model, broadcast_buffers=False,
                                         find_unused_parameters=False)

    def save_checkpoint(self, out_dir: str, filename: str, *args: Any, **kwargs: Any) -> None:
        self._rng_states = gather_rng_states()  # every rank takes part; rank 0 writes
        tmp_name = f'.{filename}.tmp'
        tmp_path = osp.join(out_dir, tmp_name)
        try:
            super().save_checkpoint(out_dir, tmp_name, *args, **kwargs)
            if is_main_process():
                atomic_replace(tmp_path, osp.join(out_dir, filename))
        except (OSError, RuntimeError) as exc:
            # torch reports a full disk as RuntimeError ("... file write failed")
            if is_main_process() and osp.exists(tmp_path):
                os.remove(tmp_path)
            raise CheckpointError(write_failure(osp.join(out_dir, filename), exc)) from exc

    def load_checkpoint(self, filename: str, map_location: Any = 'cpu', strict: bool = False,
                        revise_keys: Any = None) -> dict:
        checkpoint = safe_load(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = unwrap_model(self.model)
        state = checkpoint.get('state_dict', checkpoint)
        try:
            if hasattr(model, 'load_trainable_state_dict'):
                model.load_trainable_state_dict(state)
            else:
                model.load_state_dict(state, strict=strict)
        except RuntimeError as exc:   # e.g. another LoRA rank: 'size mismatch for ...'
            mismatch = next((line.strip() for line in str(exc).splitlines()
                             if 'size mismatch' in line), str(exc).splitlines()[0])
            raise CheckpointError(f'{filename} does not match the model of this config '
                                  f'({mismatch}); use the config the checkpoint was trained '
                                  'with') from None
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def resume(self, filename: str, *args: Any, **kwargs: Any) -> None:
        """mmengine's resume, plus the random state, so dropout continues exactly."""
        super().resume(filename, *args, **kwargs)
        self._restore_rng_state()
