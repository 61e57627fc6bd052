"""DivergenceHook: a run that diverged (a non-finite loss or gradient, a loss collapsed to
uniform guessing with a vanishing gradient, a loss far above its running median) stops with
one line naming the iteration and the likely cause, before anything is saved or exported."""
from __future__ import annotations

import logging
import math
import re
import statistics
from collections import deque
from typing import Any

import torch
from mmengine.hooks import Hook

from ...compat import accumulative_counts
from ...errors import TrainingDivergedError
from ...model.base import unwrap_model
from ...model.sft import SupervisedFinetune
from ...utils.logging import log


def nonfinite_parameters(model: torch.nn.Module, trainable_only: bool = True) -> list[str]:
    """Names of parameters holding NaN or inf (the trained ones by default)."""
    return [name for name, p in unwrap_model(model).named_parameters()
            if (p.requires_grad or not trainable_only) and p.numel()
            and not bool(torch.isfinite(p).all())]


def token_loss_vocab(model: torch.nn.Module) -> int | None:
    """The vocabulary size when ``model``'s loss is the mean token cross-entropy (whose value
    for uniform guessing is ln(vocab)); None for other losses (preference, reward)."""
    model = unwrap_model(model)
    if getattr(type(model), 'loss_sum', None) is not SupervisedFinetune.loss_sum:
        return None
    config = getattr(getattr(model, 'backbone', None), 'config', None)
    vocab = getattr(config, 'vocab_size', None)
    return int(vocab) if isinstance(vocab, int) and vocab > 1 else None


def _grad_norm(optimizer: torch.optim.Optimizer) -> float:
    grads = [p.grad for g in optimizer.param_groups for p in g['params'] if p.grad is not None]
    if not grads:
        return 0.0
    return float(torch.linalg.vector_norm(torch.stack(
        [torch.linalg.vector_norm(g.float()) for g in grads])))


class DivergenceHook(Hook):
    """Stops a run that diverged, naming the iteration and the likely cause.

    - **Non-finite** loss or gradient. Without DeepSpeed the gradient check runs as an
      optimizer step pre-hook, so a NaN/inf gradient never reaches the weights. With
      ``max_skipped_steps > 0`` up to that many bad optimizer steps are skipped instead (their
      gradients dropped), each one counted in the log. Under DeepSpeed (which owns the step)
      the run stops at the logged loss or grad norm.
    - **Collapse**: a token cross-entropy at or above ln(vocab) (no better than uniform
      guessing) while the gradient norm is at most ``collapse_grad_norm``: the weights were
      blown out (issue 23: lr=1e9 gave loss ln(49152) and grad norm 0 for five iterations,
      then exit 0 and an exported adapter). Only for models whose loss is the token
      cross-entropy; ``collapse_grad_norm=None``: off.
    - **Spike**: ``spike_patience`` losses in a row above ``spike_stop_factor`` times the
      median of the last ``spike_window`` losses (``None``: off); one hard batch does not
      stop a run, a diverged one stays up. Above ``spike_factor`` times it: a warning.

    The hook runs before the checkpoint hook of the iteration, so nothing is saved or exported
    after the error, and the training command exits non-zero.
    """

    priority = 'VERY_HIGH'   # before CheckpointHook (VERY_LOW) and the logger

    def __init__(self, max_skipped_steps: int = 0, spike_factor: float | None = 5.0,
                 spike_window: int = 20, spike_stop_factor: float | None = 10.0,
                 spike_patience: int = 3, collapse_grad_norm: float | None = 1e-4) -> None:
        self.max_skipped_steps = max_skipped_steps
        self.spike_factor = spike_factor
        self.spike_window = spike_window
        self.spike_stop_factor = spike_stop_factor
        self.spike_patience = spike_patience
        self.collapse_grad_norm = collapse_grad_norm

    def before_train(self, runner: Any) -> None:
        self._runner = runner
        self.skipped = 0
        self._recent: deque = deque(maxlen=self.spike_window)
        self._spikes = 0          # losses in a row above spike_stop_factor x the median
        self._handle = None
        self._step_norm: tuple[int, float] | None = None   # (iteration, norm) of the last step
        self._vocab = token_loss_vocab(runner.model)
        optimizer = getattr(runner.optim_wrapper, 'optimizer', None)
        deepspeed = getattr(runner.optim_wrapper, 'scales_loss_by_accumulation_steps', False)
        if not deepspeed and isinstance(optimizer, torch.optim.Optimizer):
            self._handle = optimizer.register_step_pre_hook(self._before_step)

    def after_train(self, runner: Any) -> None:
        if self._handle is not None:
            self._handle.remove()

    def _stop(self, what: str, cause: str = '', weights_kept: bool = False,
              skippable: bool = True) -> None:
        """Raise the one-line error; ``skippable``: a non-finite value, which
        ``max_skipped_steps`` could skip."""
        runner = self._runner
        group = runner.optim_wrapper.param_groups[0]
        lr = group.get('initial_lr', group['lr'])
        stopped = ('stopped before the weights took it' if weights_kept else 'stopped')
        raise TrainingDivergedError(
            f'iteration {runner.iter + 1}: {what}{f" ({cause})" if cause else ""}; training '
            f'diverged and was {stopped} (nothing after this is saved or exported); '
            f'{self._checkpoint_note(weights_kept)}; lower the lr ({lr:g} now)'
            + (', check the data, or let the run skip a few bad steps (--cfg-options '
               'max_skipped_steps=N)' if skippable else ' or check the data'))

    def _checkpoint_note(self, weights_kept: bool) -> str:
        """Which checkpoint is good: the newest one holds the weights that gave this
        iteration's loss when it was written at the end of the previous iteration."""
        last = self._runner.message_hub.get_info('last_ckpt')
        if not last:
            return 'no checkpoint was written'
        found = re.search(r'iter_(\d+)', str(last))
        if not weights_kept and found and int(found.group(1)) == self._runner.iter:
            return (f'the newest checkpoint {last} holds the weights that gave this loss: '
                    'resume from an earlier one')
        return f'the last good checkpoint is {last}'

    def _before_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        norm = self._clipped_norm()
        if norm is None:
            norm = _grad_norm(optimizer)
        if math.isfinite(norm):
            self._step_norm = (self._runner.iter, norm)
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
        self._stop(f'the gradient norm is {norm}', weights_kept=True)

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
        norm = self._norm_of_this_iteration(runner)
        if self._handle is None and norm is not None and not math.isfinite(norm):
            self._stop(f'the gradient norm is {norm}')     # DeepSpeed: its logged norm
        self._collapse(loss, norm)
        self._spike(runner, loss)

    def _norm_of_this_iteration(self, runner: Any) -> float | None:
        """The gradient norm of the optimizer step this iteration took (None: no step)."""
        if self._handle is not None:
            done = self._step_norm
            return done[1] if done is not None and done[0] == runner.iter else None
        if (runner.iter + 1) % max(accumulative_counts(runner.optim_wrapper), 1) or \
                'train/grad_norm' not in runner.message_hub.log_scalars:
            return None
        return float(runner.message_hub.get_scalar('train/grad_norm').current())

    def _collapse(self, loss: float, norm: float | None) -> None:
        if self._vocab is None or self.collapse_grad_norm is None or norm is None:
            return
        uniform = math.log(self._vocab)
        if loss >= 0.99 * uniform and norm <= self.collapse_grad_norm:
            self._stop(f'the loss {loss:.4f} is at or above ln(vocab {self._vocab}) = '
                       f'{uniform:.4f}, no better than guessing uniformly, and the gradient '
                       f'norm is {norm:.2g}', 'the weights collapsed: the learning rate is '
                       'far too high', skippable=False)

    def _spike(self, runner: Any, loss: float) -> None:
        if len(self._recent) < min(5, self.spike_window):
            self._recent.append(loss)
            return
        median = statistics.median(self._recent)
        ratio = loss / median if median > 0 else 0.0
        far = bool(self.spike_stop_factor) and ratio > self.spike_stop_factor
        self._spikes = self._spikes + 1 if far else 0
        if far and self._spikes >= self.spike_patience:
            self._stop(f'the loss {loss:.4g} is {ratio:.1f}x the median {median:.4g} of the '
                       f'{len(self._recent)} iterations before, {self._spikes} iterations in '
                       f'a row above {self.spike_stop_factor:g}x', 'a loss spike that did not '
                       'recover: the learning rate is too high for this model', skippable=False)
        if self.spike_factor and ratio > self.spike_factor:
            log(f'iteration {runner.iter + 1}: loss spike: {loss:.4g} is '
                f'{ratio:.1f}x the median {median:.4g} of the last '
                f'{len(self._recent)} iterations', logging.WARNING)
        if not far:     # the median stays the one from before a run-away
            self._recent.append(loss)
