"""PrecomputeReferenceHook: reference log-probs in one pass before training, cached with the data.

With ``precompute_reference=True`` every training step runs the policy only: before the
first step this hook scores each sample's two sequences with the reference (the same model
with adapters off, or the frozen copy) and adds them as a ``reference_logps`` column, which
the collator batches and :meth:`PreferenceFinetune.reference_logps` uses as given. The values
are saved beside the processed dataset (``reference_<key>.npy`` in its cache folder, keyed by
the reference model's name, dtype and quantization), so a second run reads them back.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from mmengine.dist import barrier, get_dist_info
from mmengine.hooks import Hook

from ...dataset.preference import PreferenceCollator
from ...model.base import unwrap_model
from ...utils.io import atomic_replace


def reference_key(model: torch.nn.Module) -> str:
    """What identifies the reference's log-probs: base model, dtype, quantization."""
    backbone = model.backbone
    from ...compat import config_name_or_path
    parts = [config_name_or_path(backbone.config), str(backbone.dtype),
             str(bool(getattr(backbone, 'is_loaded_in_4bit', False)))]
    return hashlib.sha256('|'.join(parts).encode()).hexdigest()[:16]


class PrecomputeReferenceHook(Hook):
    """Adds reference log-probs to the training dataset before training (see module doc).

    Args:
        enabled: the ``precompute_reference`` knob.
        batch_size: samples per reference forward pass.
    """

    priority = 'VERY_HIGH'

    def __init__(self, enabled: bool = False, batch_size: int = 8):
        self.enabled = enabled
        self.batch_size = batch_size

    def before_train(self, runner) -> None:
        model = unwrap_model(runner.model)
        # The loss object says whether it reads reference log-probs (model/losses/).
        if not self.enabled or not getattr(getattr(model, 'loss', None), 'needs_reference',
                                           False):
            return
        dataset = runner.train_dataloader.dataset
        cache = Path(dataset.data.cache_files[0]['filename']).parent / \
            f'reference_{reference_key(model)}.npy' if dataset.data.cache_files else None
        rank, world_size = get_dist_info()
        if cache is not None and cache.is_file():
            values = np.load(cache)
            runner.logger.info(f'reference log-probs: read from {cache}')
        else:
            values = self.compute(model, dataset)
            if cache is not None and rank == 0:
                _save(cache, values)
            runner.logger.info(f'reference log-probs: computed for {len(values)} samples'
                               + (f', saved to {cache}' if cache is not None else ''))
        if world_size > 1:
            barrier()
        dataset.data = dataset.data.add_column('reference_logps', per_row(values, dataset)) \
            .with_format('numpy')

    def compute(self, model: torch.nn.Module, dataset) -> np.ndarray:
        """``[samples, 2]`` reference log-probs of every sample (pair or KTO row), in dataset
        order (a packed row's samples in their order in the row)."""
        device = next(model.parameters()).device
        collate, parts = PreferenceCollator(), []
        was_training = model.training
        model.eval()
        try:
            for start in range(0, len(dataset), self.batch_size):
                rows = [dataset[i] for i in range(start, min(start + self.batch_size,
                                                             len(dataset)))]
                batch = {k: v.to(device) for k, v in collate(rows).items()}
                parts.append(model.reference_logps(batch).view(-1, 2).cpu().numpy())
        finally:
            model.train(was_training)
        return np.concatenate(parts).astype(np.float32)


def per_row(values: np.ndarray, dataset) -> list:
    """``[samples, 2]`` values -> the ``reference_logps`` column: ``[a, b]`` per unpacked row,
    ``[[a, b], ...]`` (one per sample in it) per packed row."""
    if 'num_samples' not in dataset.data.column_names:
        return values.tolist()
    ends = np.cumsum(np.asarray(dataset.data['num_samples']))[:-1]
    return [part.tolist() for part in np.split(values, ends)]


def _save(path: Path, values: np.ndarray) -> None:
    """np.save through a scratch file, so a killed run never leaves half an array."""
    tmp = path.with_name(f'.{path.name}.tmp-{os.getpid()}')
    try:
        with open(tmp, 'wb') as f:
            np.save(f, values)
        atomic_replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
