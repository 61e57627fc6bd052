"""PreferenceEvalHook: preference accuracy on held-out pairs before, during and after training."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from mmengine.hooks import Hook

from ...config import dataset_spec
from ...dataset.preference import PreferenceCollator
from ...dataset.spec import eval_options
from ...model.base import unwrap_model
from ...utils.build import build

HELDOUT = 'heldout'


class PreferenceEvalHook(Hook):
    """Scores held-out pairs with the model's ``pair_rewards`` (a preference or reward model).

    Logs accuracy (the share of pairs whose chosen reply gets the higher reward; a tie counts
    half, so a policy equal to its reference reads 50%, not 0%), the ties and the mean
    margin, and which rows were scored; writes ``heldout/accuracy`` and ``heldout/margin`` to
    TensorBoard and appends them to ``<work_dir>/eval_preference.jsonl``. KTO rows (a
    ``desirable`` label each) score the share whose reward has the label's sign.

    Args:
        dataset: ``'heldout'``: the evaluation part of the training dataset (its held-out
            rows, or its ``eval_data_files``; off when it has neither); a preference
            dataset or its spec; None turns the hook off.
        batch_size: pairs per forward pass.
        every_n_iters: also evaluate every N iterations (None: only before and after).
        enabled: False turns the hook off (a config knob).
    """

    priority = 'LOW'

    def __init__(self, dataset: Any = None, batch_size: int = 8,
                 every_n_iters: int | None = None, enabled: bool = True):
        self.dataset = dataset if enabled else None
        self.batch_size = batch_size
        self.every_n_iters = every_n_iters

    def before_train(self, runner) -> None:
        if isinstance(self.dataset, str) and self.dataset == HELDOUT:
            self.dataset = self._heldout_spec(runner)
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

    @staticmethod
    def _heldout_spec(runner) -> dict | None:
        spec = eval_options(dataset_spec(runner.cfg))
        if spec is None:
            runner.logger.info('held-out preference accuracy: off (set holdout=0.1 to hold out '
                               'a share of the data, or eval_data_files=<file>)')
        return spec

    def evaluate(self, model: torch.nn.Module) -> dict[str, float]:
        """Accuracy (ties count half), ties and mean margin of ``model`` on the held-out rows."""
        device = next(model.parameters()).device
        collate, chosen, rejected, labels = PreferenceCollator(), [], [], []
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
                if 'desirable' in batch:
                    labels.append(batch['desirable'].cpu())
        finally:
            model.train(was_training)
        c, r = torch.cat(chosen), torch.cat(rejected)
        if labels:   # KTO: a desirable reply should gain reward, an undesirable one lose it
            margin = torch.where(torch.cat(labels).bool(), c, -c)
        else:
            margin = c - r
        wins = (margin > 0).float() + 0.5 * (margin == 0).float()
        return {'accuracy': float(wins.mean()), 'margin': float(margin.mean()),
                'ties': int((margin == 0).sum()), 'pairs': int(c.numel())}

    def _evaluate(self, runner, when: str) -> None:
        result = self.evaluate(unwrap_model(runner.model))
        rows = getattr(self.dataset, 'stats', {}).get('data')
        runner.logger.info(
            f'[held-out preference {when}] accuracy {result["accuracy"]:.1%} (ties count half: '
            f'{result["ties"]} of {result["pairs"]} tied), mean reward margin '
            f'{result["margin"]:.4f} on {result["pairs"]} '
            + ('labelled rows' if 'desirable' in self._first_row() else 'pairs')
            + (f': {rows}' if rows else ''))
        runner.visualizer.add_scalars({'heldout/accuracy': result['accuracy'],
                                       'heldout/margin': result['margin']}, step=runner.iter)
        with open(Path(runner.work_dir) / 'eval_preference.jsonl', 'a', encoding='utf-8') as f:
            f.write(json.dumps({'when': when, 'iter': runner.iter, **result,
                                **({'data': rows} if rows else {})}) + '\n')

    def _first_row(self) -> dict:
        return self.dataset[0] if len(self.dataset) else {}
