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
from .vllm_rollout import VLLMRollout, check_backend, check_vllm, vllm_generate


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


# attention implementations that take a custom 4-D mask (flash / flex kernels do not)
MASKED_ATTENTION = ('sdpa', 'sdpa_packed', 'eager')


def pack_groups(prompts: Sequence[Sequence[int]], completions: Sequence[Sequence[int]],
                device: Any, additive: bool = False) -> dict:
    """Completions that share a prompt -> one packed row holding each prompt ONCE.

    The ``group_size`` completions of a prompt follow it in the row; a ``[1, 1, L, L]``
    attention mask lets each completion see its prompt and itself (causally), never its
    siblings, and positions continue from the prompt, so every completion token gets the
    very logits it gets in ``prompt + completion`` alone, while the prompt's tokens are
    computed once instead of G times (its gradient sums the G uses, as G copies would).
    ``score_index`` are the row positions whose logits predict ``score_targets`` (the first
    completion token is predicted at the prompt's last token), ``score_sequence`` the
    completion each belongs to. ``additive``: a float mask (0 / -inf) for eager attention.
    """
    ids, positions, group, segment = [], [], [], []
    index, targets, sequence = [], [], []
    first, groups = 0, 0
    while first < len(prompts):
        prompt = list(prompts[first])
        ids.extend(prompt)
        positions.extend(range(len(prompt)))
        group.extend([groups] * len(prompt))
        segment.extend([-1] * len(prompt))
        last = len(ids) - 1
        k = first
        while k < len(prompts) and list(prompts[k]) == prompt:
            completion = list(completions[k])
            start = len(ids)
            ids.extend(completion)
            positions.extend(range(len(prompt), len(prompt) + len(completion)))
            group.extend([groups] * len(completion))
            segment.extend([k] * len(completion))
            index.extend([last, *range(start, start + len(completion) - 1)][:len(completion)])
            targets.extend(completion)
            sequence.extend([k] * len(completion))
            k += 1
        first, groups = k, groups + 1
    tensor = lambda x: torch.tensor(x, dtype=torch.long, device=device)  # noqa: E731
    group_t, segment_t = tensor(group), tensor(segment)
    steps = torch.arange(len(ids), device=device)
    mask = (steps[None, :] <= steps[:, None]) & (group_t[None, :] == group_t[:, None]) & (
        (segment_t[None, :] == -1) | (segment_t[None, :] == segment_t[:, None]))
    if additive:
        mask = torch.zeros(mask.shape, device=device).masked_fill(~mask, float('-inf'))
    return {'input_ids': tensor([ids]), 'position_ids': tensor([positions]),
            'attention_mask': mask[None, None], 'score_index': tensor(index),
            'score_targets': tensor(targets), 'score_sequence': tensor(sequence),
            'num_sequences': len(prompts)}


def scored_logits(model: torch.nn.Module, batch: dict) -> torch.Tensor:
    """``[scored tokens, V]`` float logits at the ``score_index`` of a :func:`pack_groups`
    row (the LM head only there, unless the model rescales its logits)."""
    inputs = dict(input_ids=batch['input_ids'], position_ids=batch['position_ids'],
                  attention_mask=batch['attention_mask'], use_cache=False)
    index = batch['score_index']
    if rescales_logits(model.config):
        return model(**inputs).logits[0, index].float()
    hidden = model.get_decoder()(**inputs).last_hidden_state[0, index]
    return model.get_output_embeddings()(hidden).float()


def scored_logps(logits: torch.Tensor, batch: dict) -> SequenceLogps:
    """Per-completion log-probs from :func:`scored_logits`."""
    token_logps = -F.cross_entropy(logits, batch['score_targets'], reduction='none')
    return _reduce(token_logps, batch['score_sequence'], batch['num_sequences'])


def entropy_of(logits: torch.Tensor) -> torch.Tensor:
    """Per-token entropy of ``[N, V]`` logits (no gradient)."""
    return entropy_from_logps(F.log_softmax(logits.detach().float(), -1))


def entropy_from_logps(logp: torch.Tensor) -> torch.Tensor:
    """Per-token entropy of ``[N, V]`` log-probabilities."""
    return -(logp.exp() * logp).sum(-1)


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
        generation_backend: 'hf' (model/generate.py, the live policy) or 'vllm' (a vLLM
            engine colocated on the GPU, weights synced before each rollout;
            model/vllm_rollout.py).
        vllm: keywords of :class:`~xtuner_like.model.vllm_rollout.VLLMRollout`, e.g.
            ``dict(gpu_memory_utilization=0.3)``.
        share_prompts: pack each prompt once with its group's completions (:func:`pack_groups`)
            for the log-prob passes and the update; 'auto': where the attention takes a 4-D
            mask (sdpa, eager; not flash-attn, which gets :func:`pack_sequences`).
    """

    def __init__(self, llm: Any, lora: Any = None, loss: Any = 'GRPOLoss',
                 rewards: Sequence[Any] = ({'type': 'exact_answer'},), group_size: int = 4,
                 max_completion_length: int = 128, temperature: float = 1.0,
                 top_p: float = 1.0, top_k: int = 0, num_iterations: int = 1,
                 micro_batch_size: int | None = None, reference_llm: Any = None,
                 generation_backend: str = 'hf', vllm: dict | None = None,
                 share_prompts: bool | str = 'auto', **kwargs: Any):
        self.generation_backend = check_backend(generation_backend)
        if generation_backend == 'vllm':
            check_vllm()   # one line on a machine without CUDA or without the package
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
        self.vllm_options = dict(vllm or {})
        attention = getattr(self.backbone.config, '_attn_implementation', None)
        self.share_prompts = attention in MASKED_ATTENTION if share_prompts == 'auto' else \
            bool(share_prompts)
        self._additive_mask = attention == 'eager'
        self._vllm: list[VLLMRollout] = []   # built at the first rollout (model on the GPU)
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
        if 'score_index' in batch:
            return scored_logps(scored_logits(model, batch), batch)
        return packed_sequence_logps(model, batch)

    @torch.no_grad()
    def logps_and_entropy(self, batch: dict) -> tuple[SequenceLogps, torch.Tensor]:
        """The policy's completion log-probs and per-token entropies, without gradients."""
        model = self.backbone
        if 'score_index' in batch:
            logits = scored_logits(model, batch)
            return scored_logps(logits, batch), entropy_of(logits)
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
        entropy = entropy_from_logps(logp)
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
            batch = pack_groups(prompts[part], generated[part], device, self._additive_mask) \
                if self.share_prompts else pack_sequences(prompts[part], generated[part], device)
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
        if self.generation_backend == 'vllm':
            if not self._vllm:
                self._vllm.append(VLLMRollout(self.llm, **self.vllm_options))
            first = generator if generator is None or isinstance(generator, torch.Generator) \
                else generator[0]     # vLLM seeds its own sampler from this generator
            return vllm_generate(self._vllm[0], self.llm, prompts, self.max_completion_length,
                                 stop_ids, stops, self.temperature, self.top_p, self.top_k,
                                 tokenizer.eos_token_id, first)
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
        if 'score_index' in batch:
            logits = scored_logits(model, batch)
            policy = scored_logps(logits, batch)
            if 'old_token_logps' not in batch:
                entropy = float(entropy_of(logits).mean())
        elif rescales_logits(model.config):
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
                    entropy = float(entropy_of(head(hidden.detach()[:, :-1][mask])).mean())
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
