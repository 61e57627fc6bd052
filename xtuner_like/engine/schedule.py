"""Learning-rate schedules fitted to the run: warm-up and decay counted in optimizer steps.

mmengine's ``LinearLR`` + ``CosineAnnealingLR`` count micro-batches and are chained (each
value derives from the previous one). With packing and accumulation a small dataset gives a
warm-up of one iteration or less: ``LinearLR`` then stops at ``start_factor x lr`` and the
cosine continues from there, so the whole run trains at ~1e-9 (issue 16), or ``end <= begin``
raises mmengine's ``ValueError`` (issue 11). :class:`WarmupCosineLR` is computed in closed
form from the optimizer-step index, and :meth:`WarmupCosineLR.fit` is called by the train
loop once the real number of micro-batches (after packing, epochs and ``max_iters``) and the
accumulation are known.
"""
from __future__ import annotations

import math
from typing import Any

from mmengine.optim.scheduler.param_scheduler import INF

from ..compat import param_scheduler_base
from ..errors import ConfigError


def optimizer_steps(micro_batches: int, accumulative_counts: int,
                    drops_last_window: bool = False) -> int:
    """Optimizer updates in a run of ``micro_batches``: a last, shorter window steps too,
    except under DeepSpeed, which skips it (``drops_last_window``)."""
    if drops_last_window:
        return micro_batches // accumulative_counts
    return -(-micro_batches // accumulative_counts)


class WarmupCosineLR(param_scheduler_base()):
    """Linear warm-up to the configured lr, then cosine decay to ``eta_min``, per optimizer step.

    Optimizer step ``s`` (0-based) of ``S`` uses ``lr * (s + 1) / W`` during the ``W`` warm-up
    steps (so step ``W - 1`` trains at the peak, and no step at 0), then
    ``eta_min + (lr - eta_min) * (1 + cos(pi * (s - W) / (S - W))) / 2``. Every micro-batch of
    an accumulation window gets its step's value. Until :meth:`fit` is called the lr is the
    peak.

    Args:
        optimizer: the optimizer (wrapper) whose ``lr`` is set.
        warmup_iters: warm-up length in micro-batches (iteration recipes), turned into
            ``ceil(warmup_iters / accumulative_counts)`` steps.
        warmup_ratio: warm-up length as a fraction of the run's optimizer steps (epoch recipes).
        eta_min: the lr at the end of the decay.
        begin, end: accepted because mmengine's builder fills ``end``; the schedule always
            spans the whole run.
    """

    def __init__(self, optimizer: Any, warmup_iters: int | None = None,
                 warmup_ratio: float | None = None, eta_min: float = 0.0,
                 begin: int = 0, end: int = INF, last_step: int = -1, by_epoch: bool = False, verbose: bool = False) -> None:
        if warmup_iters is not None and warmup_ratio is not None:
            raise ConfigError('WarmupCosineLR: set warmup_iters or warmup_ratio, not both '
                              f'(got {warmup_iters} and {warmup_ratio})')
        if by_epoch:
            raise ConfigError('WarmupCosineLR counts optimizer steps; remove by_epoch=True')
        if warmup_iters is not None and warmup_iters < 0:
            raise ConfigError(f'warmup_iters={warmup_iters}: must be >= 0')
        if warmup_ratio is not None and not 0 <= warmup_ratio < 1:
            raise ConfigError(f'warmup_ratio={warmup_ratio}: must be in [0, 1)')
        self.warmup_iters, self.warmup_ratio, self.eta_min = warmup_iters, warmup_ratio, eta_min
        self.total_steps: int | None = None     # set by fit(); None trains at the peak
        self.warmup_steps = 0
        self.accumulative_counts = 1
        super().__init__(optimizer, 'lr', begin=0, end=INF, last_step=last_step,
                         by_epoch=False, verbose=verbose)

    def fit(self, micro_batches: int, accumulative_counts: int,
            drops_last_window: bool = False) -> str:
        """Fit the schedule to the run, set the current lr and return a note for the log."""
        steps = optimizer_steps(micro_batches, accumulative_counts, drops_last_window)
        if steps < 1:
            raise ConfigError(
                f'the run is too short to update the weights once: {micro_batches} '
                f'micro-batches with accumulative_counts={accumulative_counts}'
                f'{" (DeepSpeed skips a last, shorter window)" if drops_last_window else ""}; '
                'train longer (max_iters / max_epochs, more data) or lower accumulative_counts')
        if self.warmup_ratio is not None:
            wanted = math.ceil(self.warmup_ratio * steps)
        else:
            wanted = -(-int(self.warmup_iters or 0) // accumulative_counts)
        # Leave at least the last step after the warm-up: the peak is reached at step W - 1.
        self.warmup_steps = min(wanted, steps - 1)
        self.total_steps, self.accumulative_counts = steps, accumulative_counts
        note = (f'lr schedule: {steps} optimizer steps ({micro_batches} micro-batches / '
                f'accumulative_counts={accumulative_counts}), warm-up {self.warmup_steps} '
                f'steps, then cosine to {self.eta_min}')
        if wanted > self.warmup_steps:
            note += (f'; the warm-up of {wanted} steps was clipped to {self.warmup_steps} '
                     'to fit the run')
        self._apply()
        return note

    def _apply(self) -> None:
        """Set the lr of the current step now (fit() may run after the first step() call)."""
        values = self._get_value()
        for group, value in zip(self.optimizer.param_groups, values):
            group['lr'] = value
        self._last_value = values

    def factor(self, step: int) -> float:
        """The lr of optimizer step ``step`` relative to the peak (1 before fit())."""
        if self.total_steps is None:
            return 1.0
        warm, total = self.warmup_steps, self.total_steps
        if step < warm:
            return (step + 1) / warm
        progress = min((step - warm) / max(total - warm, 1), 1.0)
        return 0.5 * (1 + math.cos(math.pi * progress))

    def _get_value(self) -> list[float]:
        step = max(self.last_step, 0) // self.accumulative_counts
        f = self.factor(step)
        return [self.eta_min + (base - self.eta_min) * f if step >= self.warmup_steps
                else base * f for base in self.base_values]


def fit_schedulers(schedulers: Any, micro_batches: int, accumulative_counts: int,
                   drops_last_window: bool = False) -> list[str]:
    """Fit every :class:`WarmupCosineLR` among the runner's schedulers; their log notes."""
    if isinstance(schedulers, dict):   # one list per optimizer
        schedulers = [s for group in schedulers.values() for s in group]
    return [s.fit(micro_batches, accumulative_counts, drops_last_window)
            for s in schedulers or () if isinstance(s, WarmupCosineLR)]
