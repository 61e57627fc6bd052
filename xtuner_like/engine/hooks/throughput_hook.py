"""ThroughputHook: trained tokens/s, real tokens/s and samples/s of each iteration."""
from __future__ import annotations

import json
import os.path as osp
import time

import torch
from mmengine.hooks import Hook

from ...utils.labels import count_trained


def batch_counts(batch: dict) -> tuple[int, int, int]:
    """(real tokens, trained tokens, samples) of a collated batch."""
    labels = batch['labels']
    trained = count_trained(labels, shifted=True)
    if batch.get('attention_mask') is not None:
        return int(batch['attention_mask'].sum()), trained, int(labels.shape[0])
    positions = batch.get('position_ids')
    samples = int((positions == 0).sum()) if isinstance(positions, torch.Tensor) else 1
    return int(labels.numel()), trained, samples


def sample_lengths(batch: dict) -> list[int]:
    """Length of every sample in a collated batch (padding excluded, packs split)."""
    if batch.get('attention_mask') is not None:
        return [int(n) for n in batch['attention_mask'].sum(-1).flatten()]
    positions = batch.get('position_ids')
    if not isinstance(positions, torch.Tensor):
        return [int(batch['labels'].shape[-1])] * int(batch['labels'][..., :1].numel())
    lengths = []
    for row in positions.reshape(-1, positions.shape[-1]):
        starts = torch.nonzero(row == 0).flatten().tolist() + [row.numel()]
        lengths += [b - a for a, b in zip(starts, starts[1:]) if b > a]
    return lengths


class ThroughputHook(Hook):
    """Puts ``tokens_per_sec`` (trained), ``real_tokens_per_sec`` and ``samples_per_sec``
    into the training log. The first ``skip_first`` iterations (warm-up) are excluded from
    the running totals logged at the end.

    At the end it also writes ``throughput.json`` into the log folder: for every iteration
    its wall-clock end (``time.time()``), seconds, real and trained tokens, and the summed
    squared sample lengths (attention work), which ``tools/bench_train.py`` reads.
    """

    priority = 'BELOW_NORMAL'

    def __init__(self, skip_first: int = 1):
        self.skip_first = skip_first
        self._start = 0.0
        self._totals = [0.0, 0, 0]
        self._records: list[dict] = []

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._start = time.perf_counter()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        seconds = max(time.perf_counter() - self._start, 1e-9)
        real, trained, samples = batch_counts(data_batch)
        hub = runner.message_hub
        hub.update_scalar('train/tokens_per_sec', trained / seconds)
        hub.update_scalar('train/real_tokens_per_sec', real / seconds)
        hub.update_scalar('train/samples_per_sec', samples / seconds)
        self._records.append({
            'end': time.time(), 'seconds': seconds, 'real': real, 'trained': trained,
            'slots': int(data_batch['labels'].numel()),
            'squares': sum(n * n for n in sample_lengths(data_batch))})
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
        if runner.rank == 0 and self._records:
            with open(osp.join(runner.log_dir, 'throughput.json'), 'w') as f:
                json.dump({'iterations': self._records}, f)
