"""ValLossHook: loss and perplexity on the trained tokens of a validation set."""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from mmengine.dist import all_reduce, get_dist_info, is_main_process
from mmengine.hooks import Hook
from torch.utils.data import DataLoader

from ...dataset.collate import SftCollator
from ...errors import ConfigError
from ...model.base import TrainableModel, unwrap_model
from ...utils.build import build


def shard(rows: int, rank: int, world: int, batch_size: int) -> tuple[list[int], int]:
    """This rank's validation rows and how many batches it runs idle.

    Every row is evaluated exactly once across the ranks (``DistributedSampler`` repeats rows
    to even the shares, which would count them twice); a rank with fewer batches runs idle
    forwards so that every rank runs as many forwards (ZeRO-3 gathers weights in each one).
    """
    mine = list(range(rank, rows, world))
    most = math.ceil(math.ceil(rows / world) / batch_size)
    return mine, most - math.ceil(len(mine) / batch_size)


class ValLossHook(Hook):
    """Evaluates ``dataset`` every ``every_n_iters`` and after training.

    The loss is the model's loss sum over the whole set divided by its units (for SFT: every
    trained token; the training loss's definition), summed over ranks; perplexity is its exp. Both
    are logged, written to TensorBoard as ``val/loss`` and ``val/perplexity`` and appended to
    ``<work_dir>/val_loss.jsonl``. With ``save_best``, the checkpoint of the lowest loss so
    far is ``<work_dir>/best_val.pth`` (adapters only for LoRA, like every checkpoint).

    Args:
        dataset: a dataset spec (e.g. ``build_sft_dataset`` or ``build_curated_dataset``
            with ``split='eval'``); the training tokenizer is used when it sets none.
        every_n_iters: also evaluate every N iterations (None: only after training).
        batch_size: rows per forward pass.
        save_best: keep the checkpoint with the lowest validation loss.
    """

    priority = 'LOW'

    def __init__(self, dataset: dict, every_n_iters: int | None = None, batch_size: int = 1,
                 save_best: bool = False):
        self.dataset, self.every_n_iters = dataset, every_n_iters
        self.batch_size, self.save_best = batch_size, save_best
        self.loader: DataLoader | None = None
        self.idle, self.idle_batch = 0, None
        self.best = math.inf

    def before_train(self, runner) -> None:
        tokenizer = getattr(runner.train_dataloader.dataset, 'tokenizer', None)
        data = build(self.dataset, tokenizer=tokenizer) if tokenizer is not None else \
            build(self.dataset)
        rank, world = get_dist_info()
        mine, self.idle = shard(len(data), rank, world, self.batch_size)
        pad = data.tokenizer.pad_token_id if data.tokenizer.pad_token_id is not None else 0
        collate = SftCollator(pad, data.packed)
        self.loader = DataLoader(data, batch_size=self.batch_size, sampler=mine,
                                 collate_fn=collate)
        self.idle_batch = collate([data[0]]) if self.idle else None
        runner.logger.info(f'validation: {len(data)} rows, every {self.every_n_iters} '
                           f'iterations and after training')

    @torch.no_grad()
    def evaluate(self, runner) -> dict[str, float]:
        """Validation loss and perplexity now (every rank takes part)."""
        model = unwrap_model(runner.model)
        if not isinstance(model, TrainableModel):
            raise ConfigError(f'ValLossHook needs a TrainableModel (e.g. SupervisedFinetune), '
                              f'got {type(model).__name__}')
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        totals = torch.zeros(2, dtype=torch.float64, device=device)
        for batch in self.loader:
            loss_sum, ntokens = model.loss_sum({k: v.to(device) for k, v in batch.items()})
            totals += torch.stack([loss_sum.double().detach(),
                                   torch.tensor(float(ntokens), dtype=torch.float64,
                                                device=device)])
        for _ in range(self.idle):                # matched forwards, results not counted
            model.loss_sum({k: v.to(device) for k, v in self.idle_batch.items()})
        model.train(was_training)
        all_reduce(totals)
        loss = (totals[0] / totals[1].clamp(min=1)).item()
        return {'loss': loss, 'perplexity': math.exp(min(loss, 50.0)),
                'tokens': int(totals[1].item())}

    def _run(self, runner, when: str) -> None:
        result = self.evaluate(runner)
        step = runner.iter if when == 'end' else runner.iter + 1
        runner.logger.info(f"validation at iter {step}: loss {result['loss']:.4f}, perplexity "
                           f"{result['perplexity']:.3f} ({result['tokens']} trained tokens)")
        runner.visualizer.add_scalars({'val/loss': result['loss'],
                                       'val/perplexity': result['perplexity']}, step=step)
        if is_main_process():
            with (Path(runner.work_dir) / 'val_loss.jsonl').open('a') as f:
                f.write(json.dumps({'iter': step, **result}) + '\n')
        if self.save_best and result['loss'] < self.best:
            self.best = result['loss']
            runner.save_checkpoint(runner.work_dir, 'best_val.pth', save_optimizer=False,
                                   save_param_scheduler=False)
            runner.logger.info("best validation loss so far; saved best_val.pth")

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        n = self.every_n_iters
        if n and self.every_n_train_iters(runner, n) and runner.iter + 1 < runner.max_iters:
            self._run(runner, 'iter')

    def after_train(self, runner) -> None:
        self._run(runner, 'end')
