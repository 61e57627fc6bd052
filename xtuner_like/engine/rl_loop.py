"""The online-RL loop: generate, score, then ``num_iterations`` policy updates per batch.

One iteration is one optimizer step (so ``max_iters``, the lr schedule, ``log_interval``
and ``save_steps`` count updates). Every ``num_iterations`` iterations the loop takes the
next batch of prompts from the dataloader and asks the model (model/rl.py) for a rollout:
``group_size`` completions per prompt, rewards, advantages and old/reference log-probs. The
update of an iteration runs the registered loss over the rollout's micro-batches, each
weighted by its share of the completions (DAPO: by its own global token count), then one
clipped optimizer step.

Checkpoints fall on generation boundaries, and the sampling generator's state is kept in
the message hub (saved in every checkpoint), so ``--resume auto`` continues with the same
prompts and the same samples as an uninterrupted run. Every ``completions_every`` updates
the rollout's completions and rewards go to ``<work_dir>/completions.jsonl`` and a few to
the log.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from ..model.base import unwrap_model
from ..model.losses.policy_gradient import DAPOLoss
from ..utils.logging import log
from .train_loop import LrPeakCheck, TrainLoop, align_checkpoints

RNG_KEY = 'rollout_generator_state'


class RLTrainLoop(TrainLoop):
    """:class:`TrainLoop` for a model with ``rollout`` / ``policy_loss`` (GRPOFinetune).

    Args:
        completions_every: write the completions of every N-th update's rollout (0: never).
        log_completions: how many of them also go to the log.
        seed: seed of the sampling generator (None: the runner's seed), offset by the rank.
    """

    def __init__(self, runner: Any, dataloader: Any, max_iters: int | None = None,
                 max_epochs: int | None = None, completions_every: int = 10,
                 log_completions: int = 2, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(runner, dataloader, max_iters, max_epochs, **kwargs)
        self.completions_every, self.log_completions = completions_every, log_completions
        self.seed = seed
        self.rollout = None
        self.generator: torch.Generator | None = None

    def _make_generator(self, device: torch.device) -> torch.Generator:
        rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
        seed = self.seed if self.seed is not None else (getattr(self.runner, 'seed', 0) or 0)
        generator = torch.Generator(device=device)
        generator.manual_seed(int(seed) + 1000003 * rank)
        state = self.runner.message_hub.get_info(RNG_KEY)
        if state is not None:
            generator.set_state(torch.as_tensor(state, dtype=torch.uint8).cpu())
        return generator

    def run(self) -> torch.nn.Module:
        model = unwrap_model(self.runner.model)
        every = model.num_iterations
        self._prepare(1, False)
        align_checkpoints(self.runner, every)
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        device = next(model.parameters()).device
        self.generator = self._make_generator(device)
        if self._iter > 0:
            batches = self._iter // every
            log(f'resuming: skipping the {batches} prompt batches already trained', logging.INFO)
            if self._iter % every:
                log(f'resumed at update {self._iter}, inside a generation batch of '
                    f'num_iterations={every}: generating a new batch there', logging.WARNING)
            for _ in range(batches):
                next(self.dataloader_iterator)
        peak = LrPeakCheck(self.runner.optim_wrapper, resumed=self._iter > 0)
        dataset = self.dataloader.dataset
        while self._iter < self._max_iters and not self.stop_training:
            if self._iter % every == 0 or self.rollout is None:
                prompts = next(self.dataloader_iterator)
                self.rollout = model.rollout(prompts['prompt_ids'], prompts['rows'],
                                             dataset.tokenizer, dataset.chat_format.stop_words,
                                             self.generator)
                self.runner.message_hub.update_info(RNG_KEY, self.generator.get_state())
                self._write_completions(self.rollout)
            peak.see()
            self.run_iter(self.rollout)
        peak.check()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model

    def run_iter(self, rollout: Any) -> None:
        """One policy update over the rollout's micro-batches, then one optimizer step."""
        runner, model = self.runner, unwrap_model(self.runner.model)
        data_batch = {'rollout': rollout}
        runner.call_hook('before_train_iter', batch_idx=self._iter, data_batch=data_batch)
        model.train()
        wrapper = runner.optim_wrapper
        total = sum(b['count'] for b in rollout.micro_batches)
        start = time.perf_counter()
        loss_value, metrics = 0.0, {}
        for batch in rollout.micro_batches:
            share = 1.0 if isinstance(model.loss, DAPOLoss) else \
                batch['count'] / total
            with wrapper.optim_context(runner.model):
                loss, values = model.policy_loss(batch, share)
            wrapper.backward(loss)
            loss_value += float(loss.detach())
            for k, v in values.items():
                metrics[k] = metrics.get(k, 0.0) + v * batch['count'] / total
        wrapper.step()
        wrapper.zero_grad()
        seconds = time.perf_counter() - start
        outputs = {'loss': loss_value, **rollout.metrics, **metrics,
                   'train_tokens_per_s': rollout.tokens / max(seconds, 1e-9)}
        runner.call_hook('after_train_iter', batch_idx=self._iter, data_batch=data_batch,
                         outputs=outputs)
        self._iter += 1

    def _write_completions(self, rollout: Any) -> None:
        if not self.completions_every or self._iter % self.completions_every:
            return
        rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
        if rank:
            return
        path = Path(self.runner.work_dir) / 'completions.jsonl'
        with path.open('a', encoding='utf-8') as f:
            for sample in rollout.samples:
                f.write(json.dumps({'iter': self._iter, **sample}, ensure_ascii=False) + '\n')
        for sample in rollout.samples[:self.log_completions]:
            log(f"[completion @ {self._iter}] reward {sample['reward']:.3f}: "
                f"{sample['completion'][:200]!r}", logging.INFO)
