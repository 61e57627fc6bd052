"""GRPOFinetune: online RL of a causal LM (the GRPO family, RLOO) with verifiable rewards.

One generation batch (engine/rl_loop.py drives it):

1. :meth:`GRPOFinetune.rollout`: each prompt is answered ``group_size`` times by the live
   policy (model/generate.py: one KV cache, LoRA adapters on, no merge), sampled with
   ``temperature`` / ``top_p`` / ``top_k`` for at most ``max_completion_length`` tokens; a
   completion ends with its end-of-turn token (what follows is never scored). The rewards
   (model/rewards.py) score the texts, the loss object turns them into advantages, and the
   policy's log-probs at generation time ("old"), the reference's (when the loss's beta is
   not 0: the same weights with adapters off for LoRA/QLoRA, a frozen copy for a full
   fine-tune) and the entropy are computed once, without gradients.
2. :meth:`GRPOFinetune.policy_loss`, ``num_iterations`` times per generation batch: the
   registered loss (model/losses/policy_gradient.py: ratio clipping, KL) on micro-batches of
   ``micro_batch_size`` completions packed into one row (position_ids restart per sequence).
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from ..utils.build import build
from .generate import cut_at_stop, generate_batch, stop_strings, stop_token_ids
from .losses import LossInputs, build_loss
from .losses.base import check_model_inputs
from .rewards import RewardSet, nan_stats
from .sequence_logps import SequenceLogps, _reduce, sequence_logps_from_hidden, \
    sequence_logps_from_logits
from .sft import SupervisedFinetune, packed_sequence_logps, rescales_logits


@dataclass
class Rollout:
    """A scored generation batch, split into packed micro-batches."""

    micro_batches: list[dict]
    metrics: dict[str, float]
    samples: list[dict] = field(default_factory=list)   # for completions.jsonl
    tokens: int = 0                                     # completion + prompt tokens


def pack_sequences(prompts: Sequence[Sequence[int]], completions: Sequence[Sequence[int]],
                   device: Any) -> dict:
    """Prompt + completion sequences -> one packed row: input_ids, position_ids, labels
    (the completion tokens; -100 on the prompt)."""
    ids, positions, labels = [], [], []
    for prompt, completion in zip(prompts, completions):
        seq = list(prompt) + list(completion)
        ids.extend(seq)
        positions.extend(range(len(seq)))
        labels.extend([-100] * len(prompt) + list(completion))
    as_row = lambda x: torch.tensor([x], dtype=torch.long, device=device)  # noqa: E731
    return {'input_ids': as_row(ids), 'position_ids': as_row(positions), 'labels': as_row(labels)}


class GRPOFinetune(SupervisedFinetune):
    """Causal LM + optional LoRA/QLoRA trained online on its own completions.

    Args:
        llm, lora, **kwargs: as :class:`SupervisedFinetune`.
        loss: a loss that takes rollouts: ``dict(type='GRPOLoss', beta=0.0, epsilon=0.2)``,
            'DrGRPOLoss', 'DAPOLoss', 'BNPOLoss', 'RLOOLoss' (model/losses/policy_gradient.py).
        rewards: reward specs (model/rewards.py), e.g. ``[dict(type='exact_answer')]``.
        group_size: completions per prompt (G).
        max_completion_length: generated tokens at most per completion.
        temperature, top_p, top_k: sampling of the completions.
        num_iterations: policy updates per generation batch (> 1: the ratio to the "old"
            policy is clipped).
        micro_batch_size: completions per forward/backward (None: the whole batch).
        reference_llm: a model spec for the reference of a full fine-tune (default: a frozen
            copy of ``llm`` as loaded).
    """

    def __init__(self, llm: Any, lora: Any = None, loss: Any = 'GRPOLoss',
                 rewards: Sequence[Any] = ({'type': 'exact_answer'},), group_size: int = 4,
                 max_completion_length: int = 128, temperature: float = 1.0,
                 top_p: float = 1.0, top_k: int = 0, num_iterations: int = 1,
                 micro_batch_size: int | None = None, reference_llm: Any = None,
                 **kwargs: Any):
        self.loss = build_loss(loss)
        check_model_inputs(self.loss, 'rollouts', 'GRPOFinetune')
        self.rewards = RewardSet(list(rewards))
        super().__init__(llm, lora=lora, **kwargs)
        if group_size < 1 or num_iterations < 1 or max_completion_length < 1:
            from ..errors import ConfigError
            raise ConfigError('group_size, num_iterations and max_completion_length must be '
                              f'>= 1 (got {group_size}, {num_iterations}, '
                              f'{max_completion_length})')
        self.group_size, self.num_iterations = int(group_size), int(num_iterations)
        self.max_completion_length = int(max_completion_length)
        self.temperature, self.top_p, self.top_k = temperature, top_p, top_k
        self.micro_batch_size = micro_batch_size
        self._frozen_reference: list[torch.nn.Module] = []
        if self.loss.needs_reference and not self.has_adapters:
            reference = build(reference_llm) if reference_llm is not None else copy.deepcopy(
                self.backbone)
            self._frozen_reference.append(reference.requires_grad_(False).eval())

    @staticmethod
    def loss_units(batch: dict) -> int:
        return 1

    # ---- log-probs --------------------------------------------------------------------
    def sequence_logps(self, model: torch.nn.Module, batch: dict) -> SequenceLogps:
        """Completion-token log-probs of every sequence of a packed micro-batch."""
        return packed_sequence_logps(model, batch)

    @torch.no_grad()
    def logps_and_entropy(self, batch: dict) -> tuple[SequenceLogps, torch.Tensor]:
        """The policy's completion log-probs and per-token entropies, without gradients."""
        model = self.backbone
        inputs = dict(input_ids=batch['input_ids'], position_ids=batch['position_ids'],
                      use_cache=False)
        labels = batch['labels']
        mask = labels[:, 1:] != -100
        if rescales_logits(model.config):
            logits = model(**inputs).logits[:, :-1][mask].float()
        else:
            hidden = model.get_decoder()(**inputs).last_hidden_state
            logits = model.get_output_embeddings()(hidden[:, :-1][mask]).float()
        logp = F.log_softmax(logits, -1)
        targets = labels[:, 1:][mask]
        token_logps = logp.gather(1, targets[:, None])[:, 0]
        entropy = -(logp.exp() * logp).sum(-1)
        from .sequence_logps import sequence_index
        seq = sequence_index(batch['position_ids'])[:, 1:][mask]
        n = int(sequence_index(batch['position_ids']).max()) + 1
        return _reduce(token_logps, seq, n), entropy

    @torch.no_grad()
    def reference_logps(self, batch: dict) -> SequenceLogps:
        """Reference completion log-probs: adapters off, or the frozen copy."""
        if self.has_adapters:
            with self.llm.disable_adapter():
                return self.sequence_logps(self.backbone, batch)
        reference = self._frozen_reference[0]
        device = batch['input_ids'].device
        if next(reference.parameters()).device != device:
            reference.to(device)
        return self.sequence_logps(reference, batch)

    # ---- one generation batch ---------------------------------------------------------
    @torch.no_grad()
    def rollout(self, prompt_ids: Sequence[Sequence[int]], rows: Sequence[dict],
                tokenizer: Any, stop_words: Sequence[str] = (),
                generator: torch.Generator | Sequence[torch.Generator] | None = None
                ) -> Rollout:
        """Generate, score and prepare one batch of prompts (see the module docstring).

        ``generator``: one, or a list of N: prompt group ``k`` is then sampled from generator
        ``k % N`` (one generation call per generator; engine/rl_loop.py, sampling_streams).
        """
        device = next(self.parameters()).device
        g = self.group_size
        prompts = [list(p) for p in prompt_ids for _ in range(g)]
        group_rows = [r for r in rows for _ in range(g)]
        stop_ids = stop_token_ids(tokenizer, stop_words)
        stops = stop_strings(stop_words, tokenizer)
        was_training = self.training
        self.eval()
        start = time.perf_counter()
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        generated = self._sample(prompts, tokenizer, stops, stop_ids, pad, generator)
        gen_seconds = time.perf_counter() - start
        texts, clipped = [], []
        for ids in generated:
            text = tokenizer.decode(ids, skip_special_tokens=False)
            ended = ids[-1] in stop_ids or any(s in text for s in stops)
            clipped.append(not ended)
            texts.append(cut_at_stop(text, stops).strip())
        total, per_fn = self.rewards.score(texts, group_rows)
        lengths = torch.tensor([len(ids) for ids in generated], dtype=torch.float32)
        metrics: dict[str, float] = {}
        for name, values in per_fn.items():
            metrics[f'rewards/{name}/mean'], metrics[f'rewards/{name}/std'] = nan_stats(values)
        metrics['reward'], metrics['reward_std'] = nan_stats(total)
        if self.rewards.accuracy_names:
            metrics['accuracy'] = nan_stats(per_fn[self.rewards.accuracy_names[0]])[0]
        metrics.update({'completions/mean_length': float(lengths.mean()),
                        'completions/max_length': float(lengths.max()),
                        'completions/clipped_ratio': float(sum(clipped)) / len(clipped),
                        'generation_tokens_per_s': float(lengths.sum()) / max(gen_seconds, 1e-9)})
        # micro-batches: old log-probs, entropy, reference
        size = self.micro_batch_size or len(prompts)
        micro_batches, entropies, kl_sums = [], [], []
        # one update per batch: the "old" policy is the policy itself (the loss detaches it)
        # and the entropy comes from the update's forward; RLOO's KL reward needs old sums
        needs_old = self.num_iterations > 1 or (self.loss.needs_reference and
                                                hasattr(self.loss, 'normalize_advantages'))
        for first in range(0, len(prompts), size):
            part = slice(first, first + size)
            batch = pack_sequences(prompts[part], generated[part], device)
            batch['sequences'] = slice(first, min(first + size, len(prompts)))
            batch['count'] = len(generated[part])
            if needs_old:
                old, entropy = self.logps_and_entropy(batch)
                entropies.append(entropy)
                batch.update(old_token_logps=old.token_logps, old_logps=old.logps)
            if self.loss.needs_reference:
                ref = self.reference_logps(batch)
                batch.update(reference_token_logps=ref.token_logps)
                if needs_old:
                    kl_sums.append(old.logps - ref.logps)
            micro_batches.append(batch)
        kl = torch.cat(kl_sums).cpu() if kl_sums else None
        if kl is not None and hasattr(self.loss, 'normalize_advantages'):   # RLOO
            advantages = self.loss.advantages(total, g, kl=kl)
        else:
            advantages = self.loss.advantages(total, g)
        completion_tokens = int(lengths.sum())
        for batch in micro_batches:
            batch['advantages'] = advantages[batch['sequences']].to(device)
            batch['num_items_in_batch'] = completion_tokens
        metrics.update({'advantages/mean': float(advantages.mean()),
                        'advantages/std': float(advantages.std()) if len(advantages) > 1 else 0.0,
                        'advantages/abs_max': float(advantages.abs().max())})
        if entropies:
            metrics['entropy'] = float(torch.cat(entropies).mean())
        self.train(was_training)
        samples = [{'prompt': row.get('prompt', ''), 'completion': text,
                    'reward': float(total[i]),
                    **{name: float(v[i]) for name, v in per_fn.items()}}
                   for i, (row, text) in enumerate(zip(group_rows, texts))]
        tokens = sum(len(p) for p in prompts) + completion_tokens
        return Rollout(micro_batches, metrics, samples, tokens)

    def _sample(self, prompts: list[list[int]], tokenizer: Any, stops: list[str],
                stop_ids: list[int], pad: int,
                generator: torch.Generator | Sequence[torch.Generator] | None) -> list:
        """The completions' token ids, from one generator or one per stream of groups."""
        options = dict(stop_texts=stops, stop_ids=stop_ids, temperature=self.temperature,
                       top_k=self.top_k, top_p=self.top_p, pad_id=pad)
        if generator is None or isinstance(generator, torch.Generator):
            return generate_batch(self.llm, tokenizer, prompts, self.max_completion_length,
                                  generator=generator, **options)
        generated: list = [None] * len(prompts)
        for stream, gen in enumerate(generator):
            rows = [i for i in range(len(prompts))
                    if (i // self.group_size) % len(generator) == stream]
            out = generate_batch(self.llm, tokenizer, [prompts[i] for i in rows],
                                 self.max_completion_length, generator=gen, **options)
            for i, ids in zip(rows, out):
                generated[i] = ids
        return generated

    # ---- one policy update ------------------------------------------------------------
    def policy_loss(self, batch: dict, weight: float = 1.0) -> tuple[torch.Tensor, dict]:
        """The loss of one packed micro-batch (times ``weight``, its share of the update);
        the metrics include the policy's mean token entropy when the rollout has none."""
        model = self.backbone
        inputs = dict(input_ids=batch['input_ids'], position_ids=batch['position_ids'],
                      use_cache=False)
        entropy = None
        if rescales_logits(model.config):
            policy = sequence_logps_from_logits(model(**inputs).logits, batch['labels'],
                                                batch['position_ids'])
        else:
            hidden = model.get_decoder()(**inputs).last_hidden_state
            head = model.get_output_embeddings()
            policy = sequence_logps_from_hidden(hidden, batch['labels'],
                                                batch['position_ids'], head)
            if 'old_token_logps' not in batch:
                with torch.no_grad():
                    mask = batch['labels'][:, 1:] != -100
                    logp = F.log_softmax(head(hidden.detach()[:, :-1][mask]).float(), -1)
                    entropy = float(-(logp.exp() * logp).sum(-1).mean())
        out = self.loss(LossInputs(policy=policy, batch=batch))
        metrics = out.metrics()
        if entropy is not None:
            metrics['entropy'] = entropy
        return out.loss * weight, metrics

    def forward(self, mode: str = 'loss', loss_denominator: float | None = None,
                **batch: Any) -> Any:
        """``mode='loss'`` on one prepared micro-batch: ``{'loss', **metrics}``;
        ``mode='policy_loss'`` (``batch=``, ``weight=``): :meth:`policy_loss`'s pair, so the
        RL loop's update runs through the DDP / DeepSpeed wrapper's forward."""
        if mode == 'policy_loss':
            return self.policy_loss(batch['batch'], batch.get('weight', 1.0))
        if mode != 'loss':
            return super().forward(mode=mode, **batch)
        loss, metrics = self.policy_loss(batch)
        return {'loss': loss, **{k: torch.tensor(v) for k, v in metrics.items()}}
