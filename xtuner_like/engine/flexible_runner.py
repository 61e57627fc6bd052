"""XFlexibleRunner: mmengine's FlexibleRunner (used with --deepspeed) with XRunner's promises."""
from __future__ import annotations

from typing import Any

from mmengine.runner import FlexibleRunner

from .runner import CheckpointStateMixin, gather_rng_states


class XFlexibleRunner(CheckpointStateMixin, FlexibleRunner):
    """FlexibleRunner whose checkpoints hold a plain message hub and every rank's RNG state.

    The atomic write and the ``weights_only`` check of DeepSpeed folders are the strategy's
    (``launch/deepspeed_strategy.py``); this class only collects and restores the extra state.
    """

    def save_checkpoint(self, out_dir: str, filename: str, *args: Any, **kwargs: Any) -> None:
        self._rng_states = gather_rng_states()
        super().save_checkpoint(out_dir, filename, *args, **kwargs)

    def resume(self, filename: str, *args: Any, **kwargs: Any) -> None:
        super().resume(filename, *args, **kwargs)
        self._restore_rng_state()
