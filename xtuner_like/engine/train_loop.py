"""The training loop: iterations or epochs, with token-exact gradient accumulation."""
from __future__ import annotations

import logging
from typing import Any, Callable

import torch
import torch.distributed as dist
from mmengine.runner import IterBasedTrainLoop

from ..compat import accumulative_counts
from ..errors import ConfigError
from ..model.base import TrainableModel, unwrap_model
from ..utils.logging import log


def window_denominator(window: list[dict], world_size: int = 1,
                       device: torch.device | str = 'cpu',
                       loss_scale_count: int | None = None,
                       loss_units: Callable[[dict], int] = TrainableModel.loss_units) -> float:
    """Divisor that turns each micro-batch's loss sum into its share of the window mean.

    The optim wrapper divides each micro-batch loss by the window length (DeepSpeed: by
    ``loss_scale_count``, its gradient_accumulation_steps, even for a shorter last window) and
    DDP and ZeRO average over ranks, so dividing by ``tokens / (ranks * that count)`` leaves
    exactly ``sum of token losses / trained tokens of the whole window on all ranks``.
    ``loss_units`` counts a micro-batch's units (the model's; trained tokens by default).
    """
    tokens = torch.tensor(float(sum(loss_units(b) for b in window)), device=device)
    if world_size > 1:
        dist.all_reduce(tokens)
    return max(float(tokens), 1.0) / (world_size * (loss_scale_count or len(window)))


class TrainLoop(IterBasedTrainLoop):
    """An iteration loop (1 iteration = 1 micro-batch) that also accepts ``max_epochs``.

    It reads a whole accumulation window before running it, so the loss of every micro-batch
    is normalised by the trained tokens of the window rather than of the micro-batch
    (transformers#34191). Resuming replays the sampler to the saved data position.
    """

    def __init__(self, runner: Any, dataloader: Any, max_iters: int | None = None,
                 max_epochs: int | None = None, val_begin: int = 1,
                 val_interval: int = 10 ** 9) -> None:
        if (max_iters is None) == (max_epochs is None):
            raise ConfigError('train_cfg: set exactly one of max_iters and max_epochs '
                              f'(got max_iters={max_iters}, max_epochs={max_epochs})')
        super().__init__(runner, dataloader, max_iters or 1, val_begin, val_interval)
        if max_epochs is not None:
            self._max_iters = int(max_epochs) * len(self.dataloader)
            self._max_epochs = int(max_epochs)

    @property
    def epoch(self) -> int:
        return self._iter // max(len(self.dataloader), 1)

    def _accumulative_counts(self) -> int:
        return accumulative_counts(self.runner.optim_wrapper)

    def run(self) -> torch.nn.Module:
        """Train until ``max_iters``, one accumulation window at a time."""
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        if self._iter > 0:
            log(f'resuming: skipping the {self._iter} batches already trained', logging.INFO)
            for _ in range(self._iter):
                next(self.dataloader_iterator)
        counts = self._accumulative_counts()
        # DeepSpeed scales by gradient_accumulation_steps itself, and steps only at its end.
        deepspeed = getattr(self.runner.optim_wrapper, 'scales_loss_by_accumulation_steps',
                            False)
        if deepspeed and self._max_iters % counts:
            log(f'max_iters={self._max_iters} is not a multiple of gradient_accumulation_steps'
                f'={counts}: DeepSpeed skips the update of the last, shorter window',
                logging.WARNING)
        world_size = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
        device = next(self.runner.model.parameters()).device
        units = getattr(unwrap_model(self.runner.model), 'loss_units', TrainableModel.loss_units)
        while self._iter < self._max_iters and not self.stop_training:
            self.runner.model.train()
            size = min(counts - self._iter % counts, self._max_iters - self._iter)
            window = [next(self.dataloader_iterator) for _ in range(size)]
            denominator = window_denominator(window, world_size, device,
                                             counts if deepspeed else None, units)
            for batch in window:
                self.run_iter({**batch, 'loss_denominator': denominator})
                if self.stop_training:
                    break
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model
