"""PreferenceEvalHook: preference accuracy on held-out pairs before, during and after training."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from mmengine.hooks import Hook

from ...dataset.preference import PreferenceCollator
from ...model.base import unwrap_model
from ...utils.build import build


class PreferenceEvalHook(Hook):
    """Scores held-out pairs with the model's ``pair_rewards`` (a preference or reward model).

    Logs accuracy (the share of pairs whose chosen reply gets the higher reward) and the mean
    margin, writes them to TensorBoard as ``heldout/accuracy`` and ``heldout/margin`` and
    appends them to ``<work_dir>/eval_preference.jsonl``.

    Args:
        dataset: a preference dataset or its spec (``build_preference_dataset`` of the
            held-out file); None turns the hook off.
        batch_size: pairs per forward pass.
        every_n_iters: also evaluate every N iterations (None: only before and after).
    """

    priority = 'LOW'

    def __init__(self, dataset: Any = None, batch_size: int = 8,
                 every_n_iters: int | None = None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.every_n_iters = every_n_iters

    def before_train(self, runner) -> None:
        if self.dataset is not None:
            self.dataset = build(self.dataset)
            self._evaluate(runner, 'before training')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.dataset is not None and self.every_n_iters and \
                (runner.iter + 1) % self.every_n_iters == 0:
            self._evaluate(runner, f'iter {runner.iter + 1}')

    def after_train(self, runner) -> None:
        if self.dataset is not None:
            self._evaluate(runner, 'after training')

    def evaluate(self, model: torch.nn.Module) -> dict[str, float]:
        """Accuracy and mean margin of ``model`` on the held-out pairs."""
        device = next(model.parameters()).device
        collate, chosen, rejected = PreferenceCollator(), [], []
        was_training = model.training
        model.eval()
        try:
            for start in range(0, len(self.dataset), self.batch_size):
                rows = [self.dataset[i] for i in range(
                    start, min(start + self.batch_size, len(self.dataset)))]
                batch = {k: v.to(device) for k, v in collate(rows).items()}
                c, r = model.pair_rewards(batch)
                chosen.append(c.float().cpu())
                rejected.append(r.float().cpu())
        finally:
            model.train(was_training)
        c, r = torch.cat(chosen), torch.cat(rejected)
        return {'accuracy': float((c > r).float().mean()), 'margin': float((c - r).mean()),
                'pairs': int(c.numel())}

    def _evaluate(self, runner, when: str) -> None:
        result = self.evaluate(unwrap_model(runner.model))
        runner.logger.info(f'[held-out preference {when}] accuracy {result["accuracy"]:.1%}, '
                           f'mean reward margin {result["margin"]:.4f} on {result["pairs"]} '
                           'pairs')
        runner.visualizer.add_scalars({'heldout/accuracy': result['accuracy'],
                                       'heldout/margin': result['margin']}, step=runner.iter)
        with open(Path(runner.work_dir) / 'eval_preference.jsonl', 'a', encoding='utf-8') as f:
            f.write(json.dumps({'when': when, 'iter': runner.iter, **result}) + '\n')
