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
from .schedule import fit_schedulers


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
    (transformers#34191); the logged loss is the window's mean per trained token so far (at
    the window's last micro-batch: the mean the update was computed from). Resuming replays
    the sampler to the saved data position; checkpoints fall on window boundaries, so a
    resumed run continues exactly. ``max_iters`` with ``max_epochs`` caps the epochs.
    Schedules that count optimizer steps (engine/schedule.py) are fitted to the run here.
    """

    def __init__(self, runner: Any, dataloader: Any, max_iters: int | None = None,
                 max_epochs: int | None = None, val_begin: int = 1,
                 val_interval: int = 10 ** 9) -> None:
        if max_iters is None and max_epochs is None:
            raise ConfigError('train_cfg: set max_iters or max_epochs')
        for name, value in (('max_iters', max_iters), ('max_epochs', max_epochs)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ConfigError(f'train_cfg.{name}={value!r}: must be a whole number >= 1')
        super().__init__(runner, dataloader, max_iters or 1, val_begin, val_interval)
        self._cap_note = ''
        if max_epochs is not None:
            epoch_iters = int(max_epochs) * len(self.dataloader)
            self._max_iters = epoch_iters if max_iters is None else min(max_iters, epoch_iters)
            self._max_epochs = int(max_epochs)
            if max_iters is not None:
                self._cap_note = (f'train_cfg.max_iters={max_iters} caps the run at '
                                  f'{self._max_iters} of the {epoch_iters} micro-batches of '
                                  f'max_epochs={max_epochs}')
        self._window_loss, self._window_tokens = 0.0, 0
        self._units: Callable[[dict], int] = TrainableModel.loss_units

    @property
    def epoch(self) -> int:
        return self._iter // max(len(self.dataloader), 1)

    def _accumulative_counts(self) -> int:
        return accumulative_counts(self.runner.optim_wrapper)

    def _prepare(self, counts: int, deepspeed: bool) -> None:
        """Fit the lr schedule to the run and put checkpoints on window boundaries."""
        if self._cap_note:
            log(self._cap_note, logging.INFO)
        for note in fit_schedulers(self.runner.param_schedulers, self._max_iters, counts,
                                   deepspeed):
            log(note, logging.INFO)
        align_checkpoints(self.runner, counts)

    def run(self) -> torch.nn.Module:
        """Train until ``max_iters``, one accumulation window at a time."""
        counts = self._accumulative_counts()
        # DeepSpeed scales by gradient_accumulation_steps itself, and steps only at its end.
        deepspeed = getattr(self.runner.optim_wrapper, 'scales_loss_by_accumulation_steps',
                            False)
        self._prepare(counts, deepspeed)
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        if self._iter > 0:
            log(f'resuming: skipping the {self._iter} batches already trained', logging.INFO)
            for _ in range(self._iter):
                next(self.dataloader_iterator)
        if deepspeed and self._max_iters % counts:
            log(f'max_iters={self._max_iters} is not a multiple of gradient_accumulation_steps'
                f'={counts}: DeepSpeed skips the update of the last, shorter window',
                logging.WARNING)
        world_size = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
        device = next(self.runner.model.parameters()).device
        self._units = getattr(unwrap_model(self.runner.model), 'loss_units',
                              TrainableModel.loss_units)
        peak = LrPeakCheck(self.runner.optim_wrapper, resumed=self._iter > 0)
        while self._iter < self._max_iters and not self.stop_training:
            self.runner.model.train()
            size = min(counts - self._iter % counts, self._max_iters - self._iter)
            window = [next(self.dataloader_iterator) for _ in range(size)]
            denominator = window_denominator(window, world_size, device,
                                             counts if deepspeed else None, self._units)
            self._window_loss, self._window_tokens = 0.0, 0
            for batch in window:
                peak.see()
                self.run_iter({**batch, 'loss_denominator': denominator})
                if self.stop_training:
                    break
        peak.check()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model

    def run_iter(self, data_batch: dict) -> None:
        """mmengine's iteration, logging the window's mean loss per trained token so far."""
        self.runner.call_hook('before_train_iter', batch_idx=self._iter, data_batch=data_batch)
        outputs = self.runner.model.train_step(data_batch,
                                               optim_wrapper=self.runner.optim_wrapper)
        denominator = data_batch.get('loss_denominator')
        if denominator and 'loss' in outputs:
            # the model returned this micro-batch's share of the window: sum / denominator
            self._window_loss += float(torch.as_tensor(outputs['loss']).detach()) * denominator
            self._window_tokens += self._units(data_batch)
            outputs = {**outputs,
                       'loss': self._window_loss / max(self._window_tokens, 1)}
        self.runner.call_hook('after_train_iter', batch_idx=self._iter, data_batch=data_batch,
                              outputs=outputs)
        self._iter += 1


class LrPeakCheck:
    """Warns when no iteration of a run trained at the configured peak lr (a schedule that,
    like a one-iteration ``LinearLR`` warm-up, never finishes warming up: issue 16)."""

    def __init__(self, optim_wrapper: Any, resumed: bool = False) -> None:
        self.groups = [] if resumed else optim_wrapper.param_groups  # a resumed run may start
        # in the decay, past the peak
        self.peak = [g.get('initial_lr', g['lr']) for g in self.groups]
        self.highest = [0.0] * len(self.groups)

    def see(self) -> None:
        self.highest = [max(h, g['lr']) for h, g in zip(self.highest, self.groups)]

    def check(self) -> None:
        for peak, highest in zip(self.peak, self.highest):
            if highest < 0.999 * peak:
                log(f'the learning rate never reached its configured peak: at most {highest:.3g} '
                    f'of lr={peak:.3g}; the schedule does not fit this run (use '
                    'xtuner_like.engine.schedule.WarmupCosineLR, which fits itself)',
                    logging.WARNING)
                return


def align_checkpoints(runner: Any, counts: int) -> None:
    """Move the checkpoint interval onto accumulation-window boundaries (with a log line).

    A checkpoint inside a window would hold half-accumulated gradients that are not saved, so
    a resumed run would update from a part of the window (issue 16: 44% off).
    """
    if counts <= 1:
        return
    from mmengine.hooks import CheckpointHook
    for hook in runner.hooks:
        if isinstance(hook, CheckpointHook) and not hook.by_epoch and hook.interval > 0 \
                and hook.interval % counts:
            aligned = -(-hook.interval // counts) * counts
            log(f'checkpoint interval {hook.interval} -> {aligned}: checkpoints are taken at '
                f'the end of an accumulation window (accumulative_counts={counts}), so a '
                'resumed run continues exactly', logging.INFO)
            hook.interval = aligned
