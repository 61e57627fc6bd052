"""A sampler that batches samples of similar length, for padded (unpacked) training."""
from __future__ import annotations

import math
from typing import Iterator, Sequence

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import Sampler


def _dataset_lengths(dataset) -> list[int]:
    """Lengths from a ``length`` column (datasets.Dataset) or a ``lengths`` attribute."""
    if 'length' in (getattr(dataset, 'column_names', None) or ()):
        return [int(n) for n in dataset['length']]
    if hasattr(dataset, 'lengths'):
        return [int(n) for n in dataset.lengths]
    raise TypeError(
        f'LengthGroupedSampler needs sample lengths: {type(dataset).__name__} has no '
        "'length' column and no 'lengths' attribute")


class LengthGroupedSampler(Sampler):
    """Yields indices so each batch holds samples of similar length.

    Each epoch: permute all indices (seeded by ``seed + epoch``), cut them into
    mega-batches of ``mega_batch_mult`` global batches, sort each mega-batch by
    length (longest first), cut into global batches of ``batch_size *
    world_size``, shuffle the batch order and move the batch holding the
    longest sample first (an out-of-memory shows at once); a short last batch
    stays last. Rank ``r`` takes
    every ``world_size``-th index from ``r``, so every rank's batch in a step
    has similar lengths. Like mmengine's ``DefaultSampler``, indices are
    repeated to make the total divisible by ``world_size``.

    Args:
        dataset: A ``datasets.Dataset`` with a ``length`` column, or any object
            with a ``lengths`` sequence.
        batch_size: Per-rank batch size (must match the DataLoader's).
        shuffle: Permute samples and batch order each epoch.
        seed: Random seed; ``None`` draws one shared by all ranks.
        mega_batch_mult: Global batches per length-sorted mega-batch.
    """

    def __init__(self, dataset, batch_size: int, shuffle: bool = True,
                 seed: int | None = None, mega_batch_mult: int = 50):
        if batch_size < 1 or mega_batch_mult < 1:
            raise ValueError('batch_size and mega_batch_mult must be >= 1')
        self.lengths = _dataset_lengths(dataset)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.mega_batch_mult = mega_batch_mult
        self.rank, self.world_size = get_dist_info()
        self.epoch = 0
        self.num_samples = math.ceil(len(self.lengths) / self.world_size)
        self.total_size = self.num_samples * self.world_size

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch; the order depends only on ``(seed, epoch)``."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[int]:
        indices = self._global_order()
        return iter(indices[self.rank:self.total_size:self.world_size])

    def _global_order(self) -> list[int]:
        n = len(self.lengths)
        if n == 0:
            return []
        gen = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(n, generator=gen).tolist() if self.shuffle else list(range(n))
        order = (order * math.ceil(self.total_size / n))[:self.total_size]
        global_bs = self.batch_size * self.world_size
        mega = global_bs * self.mega_batch_mult
        batches: list[list[int]] = []
        for start in range(0, len(order), mega):
            chunk = sorted(order[start:start + mega], key=lambda i: -self.lengths[i])
            batches.extend(chunk[b:b + global_bs] for b in range(0, len(chunk), global_bs))
        # A short last batch stays last so every rank's batches stay aligned.
        tail = [batches.pop()] if len(batches[-1]) < global_bs else []
        if self.shuffle and batches:
            perm = torch.randperm(len(batches), generator=gen).tolist()
            batches = [batches[i] for i in perm]
            longest = max(range(len(batches)), key=lambda b: self.lengths[batches[b][0]])
            batches[0], batches[longest] = batches[longest], batches[0]
        return _flatten(batches + tail)


def _flatten(batches: Sequence[Sequence[int]]) -> list[int]:
    return [i for batch in batches for i in batch]


DATA_SAMPLERS.register_module(module=LengthGroupedSampler, force=True)
