"""SafeCheckpointHook: rotation that never leaves fewer than one complete checkpoint."""
from __future__ import annotations

import os
from collections import deque
from pathlib import Path
from typing import Any

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from ...errors import ConfigError, TrainingDivergedError
from ...utils.io import atomic_file, safe_load
from .divergence_hook import nonfinite_parameters

SAVE_OPTIMIZER = (True, False, 'latest')


def drop_optimizer_state(checkpoint: str | os.PathLike) -> bool:
    """Remove the optimizer state from a saved checkpoint (a ``.pth`` file, rewritten
    atomically, or a DeepSpeed folder's ``*optim_states.pt`` files); True when it had one."""
    path = Path(checkpoint)
    if path.is_dir():
        states = list(path.rglob('*optim_states.pt'))
        for state in states:
            state.unlink()
        return bool(states)
    if not path.is_file():
        return False
    state = safe_load(path)
    if state.pop('optimizer', None) is None:
        return False
    with atomic_file(path) as tmp:
        torch.save(state, tmp)
    return True


class SafeCheckpointHook(CheckpointHook):
    """mmengine's CheckpointHook, rotating only after the new checkpoint is complete.

    mmengine deletes the oldest checkpoint before writing the new one, so with
    ``max_keep_ckpts=1`` a crash (or a full disk) during the write leaves no checkpoint at all.
    Here the new one is written first (atomically, by the runner), then the oldest removed. A
    model with non-finite weights is never saved.

    ``save_optimizer='latest'`` keeps the optimizer state (2x a LoRA adapter's size with AdamW)
    in the newest checkpoint only: --resume continues exactly from it, and the older ones are
    weights for evaluation or conversion.
    """

    def __init__(self, *args: Any, save_optimizer: bool | str = True, **kwargs: Any):
        if save_optimizer not in SAVE_OPTIMIZER:
            raise ConfigError(f'save_optimizer={save_optimizer!r}: use True, False or '
                              "'latest' (optimizer state in the newest checkpoint only)")
        self.optimizer_in_latest_only = save_optimizer == 'latest'
        super().__init__(*args, save_optimizer=bool(save_optimizer), **kwargs)

    def _save_checkpoint_with_step(self, runner: Any, step: int, meta: dict) -> None:
        bad = [] if getattr(runner, 'distributed', False) else nonfinite_parameters(runner.model)
        if bad:   # under ZeRO-3 a rank sees only its shard; DivergenceHook stops those runs
            raise TrainingDivergedError(
                f'iteration {runner.iter + 1}: {len(bad)} weights hold NaN/inf (e.g. {bad[0]}); '
                'not saving them; lower the lr or check the data')
        limit = self.max_keep_ckpts
        kept = list(getattr(self, 'keep_ckpt_ids', ()))
        if limit > 0 and (not kept or kept[-1] != step):
            kept.append(step)
            # what the checkpoint records is the state after this rotation
            runner.message_hub.update_info('keep_ckpt_ids', kept[-limit:])
        previous = runner.message_hub.get_info('last_ckpt')   # also the one resumed from
        self.max_keep_ckpts = -1          # mmengine's own rotation (delete first) is off
        try:
            super()._save_checkpoint_with_step(runner, step, meta)
        finally:
            self.max_keep_ckpts = limit
        if self.optimizer_in_latest_only and previous and previous != self.last_ckpt \
                and is_main_process():
            drop_optimizer_state(previous)
        if limit <= 0:
            return
        while len(kept) > limit:
            old = kept.pop(0)
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
            if is_main_process():
                if self.file_backend.isfile(path):
                    self.file_backend.remove(path)
                elif self.file_backend.isdir(path):   # DeepSpeed checkpoints are folders
                    self.file_backend.rmtree(path)
        self.keep_ckpt_ids = deque(kept, limit)
