"""EMAHook: an exponential moving average of the trained weights, saved in every checkpoint.

Why not mmengine's ``EMAHook`` + ``ExponentialMovingAverage`` (measured against this
project's promises, mmengine 0.10.7):

- its averaged model is a ``deepcopy`` of the whole model: for LoRA/QLoRA that is a second
  copy of the frozen base (and of 4-bit bitsandbytes weights) to average the adapters only;
- it updates after every iteration, i.e. every micro-batch under gradient accumulation, not
  after every optimizer step;
- at save time it swaps the averaged weights into ``state_dict`` and the live ones into
  ``ema_state_dict``: a checkpoint's ``state_dict`` would no longer be what was trained, so
  ``load_from``, ``convert pth_to_hf`` and any reader without the hook would silently take
  the average, and its ``ema_state_dict`` holds the full model (frozen base included).

Here the average covers only the trained parameters (adapters for LoRA/QLoRA, everything
for full training) in fp32, is updated once per optimizer step, and lives beside the live
weights in the checkpoint (``checkpoint['ema']``), which keeps ``state_dict`` the live
weights; ``convert pth_to_hf --ema`` exports the average instead.
"""
from __future__ import annotations

import contextlib
import difflib
import logging
from typing import Any, Iterator

import torch
from mmengine.hooks import Hook

from ...compat import accumulative_counts
from ...errors import CheckpointError, ConfigError
from ...model.base import unwrap_model
from ...utils.logging import log

EMA_KEYS = ('decay', 'every')


def check_ema(ema: Any) -> dict | None:
    """The ``ema`` knob as ``{'decay': float, 'every': int}``, or None when off.

    Raises ConfigError naming the fix for any other value.
    """
    if ema is None or ema is False:
        return None
    if not isinstance(ema, dict):
        raise ConfigError(f'ema={ema!r}: use None (off) or dict(decay=0.999, every=1)')
    problems = []
    for key in ema:
        if key not in EMA_KEYS:
            close = difflib.get_close_matches(str(key), EMA_KEYS, n=1, cutoff=0.5)
            problems.append(f'unknown key {key!r}' + (f' (did you mean {close[0]!r}?)'
                                                       if close else ''))
    decay, every = ema.get('decay', 0.999), ema.get('every', 1)
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 < decay < 1:
        problems.append(f'decay={decay!r} must be a number between 0 and 1 (e.g. 0.999)')
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        problems.append(f'every={every!r} must be a whole number >= 1 (optimizer steps)')
    if problems:
        raise ConfigError(f'ema={ema!r}: ' + '; '.join(problems))
    return {'decay': float(decay), 'every': every}


def trained_parameters(model: torch.nn.Module) -> dict[str, torch.nn.Parameter]:
    """The parameters the optimizer trains, by state_dict name, of the unwrapped model."""
    return {name: p for name, p in unwrap_model(model).named_parameters() if p.requires_grad}


@contextlib.contextmanager
def gathered(params: list[torch.nn.Parameter]) -> Iterator[None]:
    """Whole parameters inside the block: ZeRO-3 partitions them, so gather (read-only)."""
    if not any(hasattr(p, 'ds_status') for p in params):
        yield
        return
    import deepspeed
    with deepspeed.zero.GatheredParameters(params, modifier_rank=None):
        yield


class EMAHook(Hook):
    """Keeps ``ema = decay * ema + (1 - decay) * weight`` of the trained weights.

    Updated after every ``every``-th optimizer step (one step per accumulation window),
    from the unwrapped model, on every rank alike (DDP and DeepSpeed ranks hold the same
    weights; ZeRO-3 shards are gathered for the update). Saved as ``checkpoint['ema']``
    (``decay``, ``every``, ``updates``, ``state_dict``: fp32 tensors named as in the model's
    state dict) and restored by ``--resume``; ``load_from`` starts a new average from the
    loaded weights.

    Args:
        ema: None (off) or ``dict(decay=0.999, every=1)`` (the ``ema`` knob).
    """

    priority = 'NORMAL'   # after DivergenceHook (VERY_HIGH), before CheckpointHook (VERY_LOW)

    def __init__(self, ema: dict | None = None) -> None:
        self.settings = check_ema(ema)
        self.shadow: dict[str, torch.Tensor] = {}
        self.updates = 0
        self._loaded: dict | None = None

    @property
    def enabled(self) -> bool:
        return self.settings is not None

    def before_train(self, runner: Any) -> None:
        if not self.enabled:
            return
        params = trained_parameters(runner.model)
        saved, self._loaded = self._loaded, None
        if runner.iter > 0:     # resumed (``load_from`` starts at 0: a new average)
            if saved is not None:
                self._restore(saved, params)
                return
            log('the checkpoint resumed from holds no EMA (it was trained without `ema`); '
                'the EMA starts from its weights', logging.WARNING)
        with gathered(list(params.values())):
            self.shadow = {n: p.detach().float().clone() for n, p in params.items()}
        self.updates = 0
        log(f"EMA of {len(params)} trained weights (decay {self.settings['decay']}, every "
            f"{self.settings['every']} optimizer steps); it is saved in each checkpoint: "
            'export it with `xtuner-like convert pth_to_hf CONFIG CKPT OUT --ema`',
            logging.INFO)

    def _restore(self, state: dict, params: dict[str, torch.nn.Parameter]) -> None:
        saved = state['state_dict']
        missing, unexpected = sorted(set(params) - set(saved)), sorted(set(saved) - set(params))
        if missing or unexpected:
            raise CheckpointError(
                f'the EMA in the checkpoint does not match the trained weights of this config '
                f'({len(missing)} missing, e.g. {missing[:2]}; {len(unexpected)} unexpected, '
                f'e.g. {unexpected[:2]}); resume with the config the checkpoint was trained with')
        self.shadow = {n: saved[n].detach().float().clone() for n in params}
        self.updates = int(state['updates'])
        if (state.get('decay'), state.get('every')) != (self.settings['decay'],
                                                        self.settings['every']):
            log(f"resuming an EMA kept with decay {state.get('decay')}, every "
                f"{state.get('every')}; continuing with decay {self.settings['decay']}, every "
                f"{self.settings['every']}", logging.WARNING)

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                         outputs: dict | None = None) -> None:
        if not self.enabled:
            return
        step = self._optimizer_step(runner, batch_idx)
        if step and step % self.settings['every'] == 0:
            self.update(runner.model)

    @staticmethod
    def _optimizer_step(runner: Any, batch_idx: int) -> int:
        """The number of the optimizer step this iteration ended, or 0 inside a window."""
        counts = accumulative_counts(runner.optim_wrapper)
        done = batch_idx + 1
        deepspeed = getattr(runner.optim_wrapper, 'scales_loss_by_accumulation_steps', False)
        # the last, shorter window steps too, except under DeepSpeed (train_loop.py)
        if done % counts == 0 or (done == runner.max_iters and not deepspeed):
            return -(-done // counts)
        return 0

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """One EMA step from the model's current trained weights."""
        params = trained_parameters(model)
        weight = 1.0 - self.settings['decay']
        with gathered(list(params.values())):
            for name, p in params.items():
                self.shadow[name].lerp_(p.detach().float(), weight)
        self.updates += 1

    def before_save_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        if self.enabled and self.shadow:
            checkpoint['ema'] = {**self.settings, 'updates': self.updates,
                                 'state_dict': dict(self.shadow)}

    def after_load_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        # used in before_train, once the run knows whether it resumed
        self._loaded = checkpoint.get('ema') if self.enabled else None
