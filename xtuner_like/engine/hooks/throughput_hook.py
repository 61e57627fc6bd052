"""ThroughputHook: trained tokens/s, real tokens/s and samples/s of each iteration."""
from __future__ import annotations

import time

import torch
from mmengine.hooks import Hook

from ...model.loss import IGNORE_INDEX


def batch_counts(batch: dict) -> tuple[int, int, int]:
    """(real tokens, trained tokens, samples) of a collated batch."""
    labels = batch['labels']
    trained = int((labels[..., 1:] != IGNORE_INDEX).sum())
    if batch.get('attention_mask') is not None:
        return int(batch['attention_mask'].sum()), trained, int(labels.shape[0])
    positions = batch.get('position_ids')
    samples = int((positions == 0).sum()) if isinstance(positions, torch.Tensor) else 1
    return int(labels.numel()), trained, samples


class ThroughputHook(Hook):
    """Puts ``tokens_per_sec`` (trained), ``real_tokens_per_sec`` and ``samples_per_sec``
    into the training log. The first ``skip_first`` iterations (warm-up) are excluded from
    the running totals logged at the end."""

    priority = 'BELOW_NORMAL'

    def __init__(self, skip_first: int = 1):
        self.skip_first = skip_first
        self._start = 0.0
        self._totals = [0.0, 0, 0]

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._start = time.perf_counter()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        seconds = max(time.perf_counter() - self._start, 1e-9)
        real, trained, samples = batch_counts(data_batch)
        hub = runner.message_hub
        hub.update_scalar('train/tokens_per_sec', trained / seconds)
        hub.update_scalar('train/real_tokens_per_sec', real / seconds)
        hub.update_scalar('train/samples_per_sec', samples / seconds)
        if batch_idx >= self.skip_first:
            self._totals[0] += seconds
            self._totals[1] += trained
            self._totals[2] += real

    def after_train(self, runner) -> None:
        seconds, trained, real = self._totals
        if seconds > 0:
            runner.logger.info(f'throughput after warm-up: {trained / seconds:.1f} trained '
                               f'tokens/s, {real / seconds:.1f} real tokens/s')
            runner.message_hub.update_info('throughput', {
                'trained_tokens_per_sec': trained / seconds,
                'real_tokens_per_sec': real / seconds})
