"""DivergenceHook: a non-finite loss or gradient stops the run before it reaches the weights."""
from __future__ import annotations

import logging
import math
import statistics
from collections import deque
from typing import Any

import torch
from mmengine.hooks import Hook

from ...errors import TrainingDivergedError
from ...model.base import unwrap_model
from ...utils.logging import log


def nonfinite_parameters(model: torch.nn.Module, trainable_only: bool = True) -> list[str]:
    """Names of parameters holding NaN or inf (the trained ones by default)."""
    return [name for name, p in unwrap_model(model).named_parameters()
            if (p.requires_grad or not trainable_only) and p.numel()
            and not bool(torch.isfinite(p).all())]


def _grad_norm(optimizer: torch.optim.Optimizer) -> float:
    grads = [p.grad for g in optimizer.param_groups for p in g['params'] if p.grad is not None]
    if not grads:
        return 0.0
    return float(torch.linalg.vector_norm(torch.stack(
        [torch.linalg.vector_norm(g.float()) for g in grads])))


class DivergenceHook(Hook):
    """Stops training at the first non-finite loss or gradient, naming the iteration.

    Without DeepSpeed the check runs as an optimizer step pre-hook, so a NaN/inf gradient
    never reaches the weights: the last checkpoint and the weights in memory stay finite,
    and nothing is saved or exported after the error. With ``max_skipped_steps > 0`` up to
    that many bad optimizer steps are skipped instead (their gradients dropped), each one
    counted in the log. Under DeepSpeed (which owns the step) the run stops at the logged
    loss or grad norm, before the checkpoint hook of that iteration.

    A loss above ``spike_factor`` times the median of the last ``spike_window`` losses is
    logged as a warning (``spike_factor=None``: off).
    """

    priority = 'VERY_HIGH'   # before CheckpointHook (VERY_LOW) and the logger

    def __init__(self, max_skipped_steps: int = 0, spike_factor: float | None = 5.0,
                 spike_window: int = 20) -> None:
        self.max_skipped_steps = max_skipped_steps
        self.spike_factor = spike_factor
        self.spike_window = spike_window

    def before_train(self, runner: Any) -> None:
        self._runner = runner
        self.skipped = 0
        self._recent: deque = deque(maxlen=self.spike_window)
        self._handle = None
        optimizer = getattr(runner.optim_wrapper, 'optimizer', None)
        deepspeed = getattr(runner.optim_wrapper, 'scales_loss_by_accumulation_steps', False)
        if not deepspeed and isinstance(optimizer, torch.optim.Optimizer):
            self._handle = optimizer.register_step_pre_hook(self._before_step)

    def after_train(self, runner: Any) -> None:
        if self._handle is not None:
            self._handle.remove()

    def _stop(self, what: str) -> None:
        runner = self._runner
        last = runner.message_hub.get_info('last_ckpt')
        group = runner.optim_wrapper.param_groups[0]
        lr = group.get('initial_lr', group['lr'])
        raise TrainingDivergedError(
            f'iteration {runner.iter + 1}: {what}; training diverged and was stopped before '
            'the weights took it (nothing after this is saved or exported); '
            f'{f"the last good checkpoint is {last}" if last else "no checkpoint was written"}'
            f'; lower the lr ({lr:g} now), check the data, or let the run skip a few bad steps '
            '(--cfg-options max_skipped_steps=N)')

    def _before_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        norm = self._clipped_norm()
        if norm is None:
            norm = _grad_norm(optimizer)
        if math.isfinite(norm):
            return
        if self.skipped < self.max_skipped_steps:
            self.skipped += 1
            for group in optimizer.param_groups:
                for p in group['params']:
                    p.grad = None           # AdamW leaves a parameter without grad alone
            log(f'iteration {self._runner.iter + 1}: gradient norm is {norm}; skipped this '
                f'optimizer step ({self.skipped} of at most {self.max_skipped_steps})',
                logging.WARNING)
            return
        self._stop(f'the gradient norm is {norm}')

    def _clipped_norm(self) -> float | None:
        """The norm mmengine's clipping by norm logged just before this step (saves a pass
        over the gradients); None without clipping by norm."""
        wrapper = self._runner.optim_wrapper
        hub = self._runner.message_hub
        if getattr(wrapper, 'clip_func', None) is not torch.nn.utils.clip_grad_norm_ or \
                'train/grad_norm' not in hub.log_scalars:
            return None
        return float(hub.log_scalars['train/grad_norm'].current())

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                         outputs: dict | None = None) -> None:
        loss = float(torch.as_tensor((outputs or {}).get('loss', 0.0)).detach())
        if not math.isfinite(loss):
            if self._handle is None or self.max_skipped_steps == 0:
                self._stop(f'the loss is {loss}')
            return      # the window's optimizer step is skipped by the pre-hook
        if self._handle is None:  # DeepSpeed: its clipping logged the global norm
            norm = runner.message_hub.get_scalar('train/grad_norm').current() \
                if 'train/grad_norm' in runner.message_hub.log_scalars else 0.0
            if not math.isfinite(float(norm)):
                self._stop(f'the gradient norm is {norm}')
        self._spike(runner, loss)

    def _spike(self, runner: Any, loss: float) -> None:
        if self.spike_factor and len(self._recent) >= min(5, self.spike_window):
            median = statistics.median(self._recent)
            if median > 0 and loss > self.spike_factor * median:
                log(f'iteration {runner.iter + 1}: loss spike: {loss:.4g} is '
                    f'{loss / median:.1f}x the median {median:.4g} of the last '
                    f'{len(self._recent)} iterations', logging.WARNING)
        self._recent.append(loss)
