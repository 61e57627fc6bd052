"""The online-RL loop: generate, score, then ``num_iterations`` policy updates per batch.

One iteration is one optimizer step (so ``max_iters``, the lr schedule, ``log_interval``
and ``save_steps`` count updates). Every ``num_iterations`` iterations the loop takes the
next batch of prompts from the dataloader and asks the model (model/rl.py) for a rollout:
``group_size`` completions per prompt, rewards, advantages and old/reference log-probs. The
update of an iteration runs the registered loss over the rollout's micro-batches, each
weighted by its share of the completions (DAPO: by its own global token count), then one
clipped optimizer step.

Checkpoints fall on generation boundaries, and the sampling generators' states (of every
rank) are kept in the message hub (saved in every checkpoint), so ``--resume auto``
continues with the same prompts and the same samples as an uninterrupted run. On several
processes each rank answers its own prompts and the update goes through the DDP / DeepSpeed
wrapper (engine/rl_distributed.py). Every ``completions_every`` updates
the rollout's completions and rewards go to ``<work_dir>/completions.jsonl`` and a few to
the log.
"""
from __future__ import annotations

import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import torch

from ..errors import ConfigError
from ..model.base import unwrap_model
from ..model.losses.policy_gradient import DAPOLoss
from ..utils.logging import log
from .rl_distributed import accumulation, combine_metrics, gather_objects, \
    global_token_count, is_deepspeed, rank_and_world, whole_parameters
from .train_loop import LrPeakCheck, TrainLoop, align_checkpoints

RNG_KEY = 'rollout_generator_state'


def optim_context(wrapper: Any, model: Any) -> Any:
    """The optim wrapper's forward context (autocast for AMP); DeepSpeed's has none (the
    engine casts)."""
    context = getattr(wrapper, 'optim_context', None)
    return context(model) if context is not None else contextlib.nullcontext()


class RLTrainLoop(TrainLoop):
    """:class:`TrainLoop` for a model with ``rollout`` / ``policy_loss`` (GRPOFinetune).

    Args:
        completions_every: write the completions of every N-th update's rollout (0: never).
        log_completions: how many of them also go to the log.
        seed: seed of the sampling generators (None: the runner's seed), offset by the rank.
        sampling_streams: sampling generators per process; prompt group ``k`` of a batch is
            sampled from generator ``k % sampling_streams``, one generation call per
            generator. One process with ``sampling_streams=N`` draws the samples that N
            processes with one stream each draw for the same prompts (their generators are
            seeded alike), which is how the tests compare them; 1 (one batched call) is
            the fastest.
    """

    def __init__(self, runner: Any, dataloader: Any, max_iters: int | None = None,
                 max_epochs: int | None = None, completions_every: int = 10,
                 log_completions: int = 2, seed: int | None = None,
                 sampling_streams: int = 1, **kwargs: Any) -> None:
        super().__init__(runner, dataloader, max_iters, max_epochs, **kwargs)
        if isinstance(sampling_streams, bool) or not isinstance(sampling_streams, int) \
                or sampling_streams < 1:
            raise ConfigError(f'train_cfg.sampling_streams={sampling_streams!r}: must be a '
                              'whole number >= 1')
        self.completions_every, self.log_completions = completions_every, log_completions
        self.seed, self.streams = seed, sampling_streams
        self.rollout = None
        self.generators: list[torch.Generator] = []

    def _make_generators(self, device: torch.device) -> list[torch.Generator]:
        """This rank's sampling generators: seeded by (seed, rank, stream), or restored from
        the checkpoint resumed from (which holds every rank's)."""
        rank, world = rank_and_world()
        seed = self.seed if self.seed is not None else (getattr(self.runner, 'seed', 0) or 0)
        generators = []
        for stream in range(self.streams):
            generator = torch.Generator(device=device)
            generator.manual_seed(int(seed) + 1000003 * (rank * self.streams + stream))
            generators.append(generator)
        saved = self.runner.message_hub.get_info(RNG_KEY)
        if saved is None:
            return generators
        if isinstance(saved, torch.Tensor) or (saved and not isinstance(saved[0], list)):
            saved = [[saved]] if isinstance(saved, torch.Tensor) else [list(saved)]
        if len(saved) != world or any(len(states) != self.streams for states in saved):
            log(f'the checkpoint holds the sampling generators of {len(saved)} process(es) '
                f'x {len(saved[0])} stream(s), this run has {world} x {self.streams}: '
                'sampling restarts from the seed (the samples differ from an uninterrupted '
                'run)', logging.WARNING)
            return generators
        for generator, state in zip(generators, saved[rank]):
            generator.set_state(torch.as_tensor(state, dtype=torch.uint8).cpu())
        return generators

    def _save_generators(self) -> None:
        """Every rank's generator states into the message hub (rank 0 saves checkpoints)."""
        states = [g.get_state() for g in self.generators]
        self.runner.message_hub.update_info(RNG_KEY, gather_objects(states))

    def run(self) -> torch.nn.Module:
        model = unwrap_model(self.runner.model)
        every = model.num_iterations
        self._prepare(1, False)
        align_checkpoints(self.runner, every)
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        device = next(model.parameters()).device
        self.generators = self._make_generators(device)
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
                with whole_parameters(model):     # ZeRO-3: one gather for the rollout
                    self.rollout = model.rollout(
                        prompts['prompt_ids'], prompts['rows'], dataset.tokenizer,
                        dataset.chat_format.stop_words,
                        self.generators[0] if self.streams == 1 else self.generators)
                global_token_count(self.rollout.micro_batches)
                self._save_generators()
                self._write_completions(self.rollout)
            peak.see()
            self.run_iter(self.rollout)
        peak.check()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model

    def run_iter(self, rollout: Any) -> None:
        """One policy update over the rollout's micro-batches, then one optimizer step.

        Each micro-batch's loss is its share of the update: its part of the completions
        (DAPO: of the tokens of all ranks, times the ranks, as DDP and ZeRO average the
        gradients over ranks); the forward goes through the wrapper so gradients are reduced.
        """
        runner, model = self.runner, unwrap_model(self.runner.model)
        data_batch = {'rollout': rollout}
        runner.call_hook('before_train_iter', batch_idx=self._iter, data_batch=data_batch)
        model.train()
        wrapper = runner.optim_wrapper
        total = sum(b['count'] for b in rollout.micro_batches)
        start = time.perf_counter()
        loss_value, metrics = 0.0, {}
        last = len(rollout.micro_batches) - 1
        for i, batch in enumerate(rollout.micro_batches):
            share = float(rank_and_world()[1]) if isinstance(model.loss, DAPOLoss) else \
                batch['count'] / total
            with accumulation(runner.model, i == last), optim_context(wrapper, runner.model):
                loss, values = runner.model._run_forward({'batch': batch, 'weight': share},
                                                         mode='policy_loss')
                wrapper.backward(loss)
            loss_value += float(loss.detach())
            for k, v in values.items():
                metrics[k] = metrics.get(k, 0.0) + v * batch['count'] / total
        wrapper.step()
        if not is_deepspeed(runner.model):     # DeepSpeed's step clears the gradients
            wrapper.zero_grad()
        seconds = time.perf_counter() - start
        outputs = {'loss': loss_value, **rollout.metrics, **metrics,
                   'train_tokens_per_s': rollout.tokens / max(seconds, 1e-9)}
        outputs = combine_metrics(gather_objects(outputs))
        runner.call_hook('after_train_iter', batch_idx=self._iter, data_batch=data_batch,
                         outputs=outputs)
        self._iter += 1

    def _write_completions(self, rollout: Any) -> None:
        if not self.completions_every or self._iter % self.completions_every:
            return
        samples = [s for rank in gather_objects(rollout.samples) for s in rank]
        if rank_and_world()[0]:
            return
        path = Path(self.runner.work_dir) / 'completions.jsonl'
        with path.open('a', encoding='utf-8') as f:
            for sample in samples:
                f.write(json.dumps({'iter': self._iter, **sample}, ensure_ascii=False) + '\n')
        for sample in samples[:self.log_completions]:
            log(f"[completion @ {self._iter}] reward {sample['reward']:.3f}: "
                f"{sample['completion'][:200]!r}", logging.INFO)
