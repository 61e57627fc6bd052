"""SafeCheckpointHook: rotation that never leaves fewer than one complete checkpoint."""
from __future__ import annotations

from collections import deque
from typing import Any

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from ...errors import TrainingDivergedError
from .divergence_hook import nonfinite_parameters


class SafeCheckpointHook(CheckpointHook):
    """mmengine's CheckpointHook, rotating only after the new checkpoint is complete.

    mmengine deletes the oldest checkpoint before writing the new one, so with
    ``max_keep_ckpts=1`` a crash (or a full disk) during the write leaves no checkpoint at all.
    Here the new one is written first (atomically, by the runner), then the oldest removed. A
    model with non-finite weights is never saved.
    """

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
        self.max_keep_ckpts = -1          # mmengine's own rotation (delete first) is off
        try:
            super()._save_checkpoint_with_step(runner, step, meta)
        finally:
            self.max_keep_ckpts = limit
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
