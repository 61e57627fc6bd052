"""mmengine's DeepSpeedStrategy made to work with deepspeed 0.19, with our checkpoint promises.

DESIGN.md fix (1): mmengine 0.10.7's ``DeepSpeedStrategy.__init__`` calls
``register_deepspeed_optimizers()``, which imports ``deepspeed.runtime.fp16.onebit`` (gone in
deepspeed 0.19). :class:`XDeepSpeedStrategy` takes an already reconciled DeepSpeed dict (see
``engine/deepspeed.py``), sets what the parent's ``__init__`` sets and registers only the
optimizers that exist; nothing of mmengine is patched.

Checkpoints are DeepSpeed folders (``iter_N.pth/``), written under a temporary name and renamed
once every rank has finished, and checked with ``weights_only=True`` before DeepSpeed (which
unpickles freely) reads them on resume.
"""
from __future__ import annotations

import json
import logging
import os
import os.path as osp
import shutil
from typing import Any

from mmengine.dist import barrier, broadcast, is_main_process
from mmengine.logging import MessageHub
from mmengine.registry import OPTIMIZERS

from ..compat import skip_deepspeed_shm_comm, strategy_classes
from ..errors import ConfigError
from ..utils.io import atomic_replace
from ..utils.logging import log_once
from .zero import check_deepspeed_dir

BaseStrategy, DeepSpeedStrategy, DeepSpeedOptimWrapper = strategy_classes()


def register_deepspeed_optimizers() -> list[str]:
    """Register DeepSpeed's optimizers that exist in this version (0.19 has no onebit)."""
    from deepspeed.ops.adam import DeepSpeedCPUAdam, FusedAdam
    from deepspeed.ops.lamb import FusedLamb
    found = [DeepSpeedCPUAdam, FusedAdam, FusedLamb]
    for cls in found:
        OPTIMIZERS.register_module(module=cls, force=True)
    return [cls.__name__ for cls in found]


class XDeepSpeedOptimWrapper(DeepSpeedOptimWrapper):
    """DeepSpeed's engine does backward, clipping and the step; this logs ``grad_norm``.

    DeepSpeed divides every micro-batch loss by ``gradient_accumulation_steps`` (also in a
    trailing window that is shorter), which the train loop's loss denominator accounts for.
    """

    scales_loss_by_accumulation_steps = True

    @property
    def _accumulative_counts(self) -> int:
        return int(self.model.gradient_accumulation_steps())

    def step(self, **kwargs: Any) -> None:
        boundary = self.model.is_gradient_accumulation_boundary()
        self.model.step()
        if boundary:
            norm = self.model.get_global_grad_norm()
            if norm is not None:
                MessageHub.get_current_instance().update_scalar('train/grad_norm', float(norm))


class XDeepSpeedStrategy(DeepSpeedStrategy):
    """DeepSpeedStrategy from a complete DeepSpeed dict, with atomic, checked checkpoints.

    Args:
        config: the reconciled DeepSpeed config (no "auto" left).
        inputs_to_half: inputs cast to the engine's dtype (as in mmengine).
        exclude_frozen_parameters: leave frozen weights (a LoRA base) out of checkpoints.
        **kwargs: BaseStrategy's arguments (work_dir, env_kwargs, ...).
    """

    def __init__(self, *, config: dict, inputs_to_half: list | None = None,
                 exclude_frozen_parameters: bool | None = None,
                 steps_per_print: int = 10 ** 13, **kwargs: Any) -> None:
        try:
            import deepspeed  # noqa: F401
        except ImportError as exc:
            raise ConfigError(f'--deepspeed needs deepspeed ({exc}): '
                              'pip install -r requirements/deepspeed.txt') from None
        BaseStrategy.__init__(self, **kwargs)  # not the parent's: see the module docstring
        # plain dicts (not mmengine ConfigDicts): DeepSpeed saves this dict in every checkpoint
        self.config = {**json.loads(json.dumps(config)), 'steps_per_print': steps_per_print}
        self._inputs_to_half = inputs_to_half
        self.exclude_frozen_parameters = exclude_frozen_parameters
        register_deepspeed_optimizers()
        if skip_deepspeed_shm_comm():
            log_once('DeepSpeed: its shared-memory all-reduce op (deepspeed_shm_comm, for '
                     'inference only) is not built: ZeRO training reduces through '
                     'torch.distributed', logging.DEBUG)

    def build_model(self, model: Any) -> Any:
        """Build the model right after seeding, as XRunner does.

        FlexibleRunner builds the dataset first (which draws random numbers), so without this
        the LoRA weights peft draws would differ from a run without DeepSpeed with the same
        seed (measured: same first losses, different gradients from step 1).
        """
        if isinstance(model, dict):
            self._set_randomness(**self._randomness)
        return super().build_model(model)

    def _init_model_weights(self, model: Any) -> Any:
        """Initialise nothing; give every rank rank 0's trainable weights, as DDP does.

        Nothing to initialise, as in ``XRunner._init_model_weights`` (mmengine's call would
        draw the LoRA weights again and fails on the uint8 weights of a 4-bit base). The
        broadcast keeps the ranks equal even if their random streams ever differ before the
        model is built (rank 0 builds the dataset, the others load it).
        """
        for param in model.parameters():
            if param.requires_grad:
                broadcast(param.data, src=0)
        return model

    def save_checkpoint(self, filename: str, *, save_optimizer: bool = True,
                        save_param_scheduler: bool = True, extra_ckpt: dict | None = None,
                        callback: Any = None) -> None:
        """Write ``filename`` as ``.NAME.tmp`` on every rank, then rename it on rank 0."""
        extra_ckpt = {} if extra_ckpt is None else extra_ckpt
        if callback is not None:  # the parent ignores it; our runner's hook needs it
            callback(extra_ckpt)
        dirname, basename = osp.split(filename)
        tmp = osp.join(dirname, f'.{basename}.tmp')
        if is_main_process() and osp.exists(tmp):
            shutil.rmtree(tmp)
        barrier()
        super().save_checkpoint(tmp, save_optimizer=save_optimizer,
                                save_param_scheduler=save_param_scheduler,
                                extra_ckpt=extra_ckpt)
        barrier()
        if is_main_process():
            atomic_replace(tmp, filename)
        barrier()

    def resume(self, filename: str, *, resume_optimizer: bool = True,
               resume_param_scheduler: bool = True, map_location: Any = 'default',
               callback: Any = None) -> dict:
        """DeepSpeed's resume, after checking the folder loads with ``weights_only=True``."""
        check_deepspeed_dir(filename)
        extra = super().resume(filename, resume_optimizer=resume_optimizer,
                               resume_param_scheduler=resume_param_scheduler)
        if callback is not None:  # restores the message hub and keeps the RNG states
            callback(extra)
        return extra

    def load_checkpoint(self, filename: str, **kwargs: Any) -> dict:
        check_deepspeed_dir(filename)
        callback = kwargs.get('callback')
        extra = super().load_checkpoint(filename)
        if callback is not None:
            callback(extra)
        return extra
