"""Policy-gradient losses: the GRPO family and RLOO, with their advantage estimators.

The same formulas as trl 1.16's GRPOTrainer and RLOOTrainer (tests/model/losses/
test_policy_gradient.py compares loss, advantages, KL and clip ratios), on the flat token
layout of :class:`~..sequence_logps.SequenceLogps`: only scored (completion) tokens are
there, so the completion mask is implicit, and ``token_sequence`` says which completion a
token belongs to. ``LossInputs.batch`` carries the rollout:

- ``advantages`` ``[sequences]``, from the loss's own :meth:`advantages` of the rewards of
  groups of ``group_size`` completions of one prompt (consecutive sequences);
- ``old_token_logps`` ``[scored tokens]``: the policy at generation time (absent: the policy
  itself, detached, as on the first update of a batch);
- ``reference_token_logps`` ``[scored tokens]`` when ``needs_reference`` (``beta != 0``) —
  or ``LossInputs.reference`` in that layout (a token-level loss reads the reference per token);
- ``num_items_in_batch`` (DAPOLoss only): completion tokens of the whole generation batch.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ...registry import LOSSES
from .base import Loss, LossInputs

SCALES = ('group', 'batch', 'none')


def nanstd(x: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Standard deviation with Bessel's correction, ignoring NaNs (NaN for a single value)."""
    mean = torch.nanmean(x, dim=dim, keepdim=True)
    count = (~torch.isnan(x)).sum(dim=dim, keepdim=True)
    var = torch.nanmean((x - mean) ** 2, dim=dim, keepdim=True) * count / (count - 1)
    var = torch.where(count > 1, var, torch.full_like(var, float('nan')))
    return var.sqrt().squeeze() if dim is None else var.sqrt().squeeze(dim)


def group_advantages(rewards: torch.Tensor, group_size: int, scale: str = 'group') -> torch.Tensor:
    """GRPO: each reward minus its group's mean, divided by the std (+1e-4) of its group
    ('group'), of the whole batch ('batch'), or not ('none'; Dr. GRPO). NaN rewards (unscorable
    completions) are left out of the statistics and get advantage 0."""
    grouped = rewards.view(-1, group_size)
    mean = torch.nanmean(grouped, dim=1).repeat_interleave(group_size)
    advantages = rewards - mean
    if scale == 'batch':
        advantages = advantages / (nanstd(rewards).expand_as(rewards) + 1e-4)
    elif scale == 'group':
        std = nanstd(grouped, dim=1).repeat_interleave(group_size) if group_size > 1 else \
            torch.zeros_like(rewards)
        advantages = advantages / (std + 1e-4)
    return torch.nan_to_num(advantages, nan=0.0)


def rloo_advantages(rewards: torch.Tensor, group_size: int,
                    normalize: bool = False) -> torch.Tensor:
    """RLOO: each reward minus the mean of the other rewards of its group (leave one out);
    ``normalize`` then standardises over the batch. NaN rewards are left out; advantage 0."""
    grouped = rewards.view(-1, group_size)
    counts = (~torch.isnan(grouped)).sum(dim=1, keepdim=True)
    baselines = (torch.nansum(grouped, dim=1, keepdim=True) - grouped) / (counts - 1)
    advantages = rewards - baselines.view(-1) if group_size > 1 else torch.zeros_like(rewards)
    if normalize:
        advantages = (advantages - torch.nanmean(advantages)) / (nanstd(advantages) + 1e-4)
    return torch.nan_to_num(advantages, nan=0.0)


@dataclass
class PolicyGradientLoss:
    """A policy-gradient loss and its metrics (kl, clip_ratio/...)."""

    loss: torch.Tensor
    values: dict[str, float] = field(default_factory=dict)

    def metrics(self) -> dict[str, float]:
        return dict(self.values)


def _per_sequence(values: torch.Tensor, sequence: torch.Tensor, n: int) -> torch.Tensor:
    return values.new_zeros(n).index_add(0, sequence, values)


class ClippedPolicyLoss(Loss):
    """The GRPO family: PPO's clipped surrogate per token, plus ``beta *`` the k3 estimate
    of KL(policy || reference) per token; the variants differ in how token losses are averaged.

    Args:
        beta: KL weight (0: no reference is computed at all).
        epsilon: lower clip range; epsilon_high: upper clip range (None: epsilon; DAPO's
            asymmetric clipping sets it higher, e.g. 0.28).
        scale_rewards: advantages divided by the std of the 'group', the 'batch', or 'none'.
        kl_correction: multiply the KL term by the importance ratio, which makes its gradient
            the unbiased reverse-KL gradient (DeepSeek-V3.2; trl's use_bias_correction_kl,
            on by default there too); the logged kl is the corrected one.
    """

    inputs = 'rollouts'
    reduction = 'token'

    def __init__(self, beta: float = 0.0, epsilon: float = 0.2,
                 epsilon_high: float | None = None, scale_rewards: str = 'group',
                 kl_correction: bool = True):
        if scale_rewards not in SCALES:
            raise ValueError(f'scale_rewards={scale_rewards!r}; choose one of {SCALES}')
        self.beta, self.epsilon = beta, epsilon
        self.epsilon_high = epsilon if epsilon_high is None else epsilon_high
        self.scale_rewards, self.kl_correction = scale_rewards, kl_correction
        self.needs_reference = beta != 0.0

    def advantages(self, rewards: torch.Tensor, group_size: int) -> torch.Tensor:
        """``[sequences]`` advantages of the rewards of consecutive groups of completions."""
        return group_advantages(rewards, group_size, self.scale_rewards)

    def __call__(self, inputs: LossInputs) -> PolicyGradientLoss:
        policy, batch = inputs.policy, inputs.batch
        logps, sequence = policy.token_logps, policy.token_sequence
        old = batch.get('old_token_logps')
        old = logps.detach() if old is None else old
        advantages = batch['advantages'][sequence]
        ratio = torch.exp(logps - old)
        clipped = torch.clamp(ratio, 1 - self.epsilon, 1 + self.epsilon_high)
        per_token = -torch.min(ratio * advantages, clipped * advantages)
        values = {}
        if self.needs_reference:
            reference = inputs.reference if inputs.reference is not None else \
                batch['reference_token_logps']
            kl = torch.exp(reference - logps) - (reference - logps) - 1
            if self.kl_correction:
                kl = kl * ratio
            per_token = per_token + self.beta * kl
            values['kl'] = float(kl.detach().mean())
        low = (ratio < 1 - self.epsilon) & (advantages < 0)
        high = (ratio > 1 + self.epsilon_high) & (advantages > 0)
        values.update({'clip_ratio/low_mean': float(low.float().mean()),
                       'clip_ratio/high_mean': float(high.float().mean()),
                       'clip_ratio/region_mean': float((low | high).float().mean())})
        return PolicyGradientLoss(self.average(per_token, policy.tokens, sequence, batch), values)

    def average(self, per_token: torch.Tensor, tokens: torch.Tensor, sequence: torch.Tensor,
                batch: dict) -> torch.Tensor:
        """Token losses -> the scalar loss (the variants differ only here)."""
        raise NotImplementedError


@LOSSES.register('GRPOLoss')
class GRPOLoss(ClippedPolicyLoss):
    """GRPO: the mean over completions of each completion's mean token loss."""

    def average(self, per_token, tokens, sequence, batch):
        sums = _per_sequence(per_token, sequence, len(tokens))
        return (sums / tokens.clamp(min=1)).mean()


@LOSSES.register('BNPOLoss')
class BNPOLoss(ClippedPolicyLoss):
    """BNPO: the mean over all completion tokens of the micro-batch."""

    def average(self, per_token, tokens, sequence, batch):
        return per_token.sum() / tokens.sum().clamp(min=1)


@LOSSES.register('DrGRPOLoss')
class DrGRPOLoss(ClippedPolicyLoss):
    """Dr. GRPO: the token-loss sum over completions x ``max_completion_length`` (no length
    bias); its advantages are not divided by a std by default.

    Args:
        max_completion_length: the generation limit (the constant normaliser).
        beta, epsilon, epsilon_high, scale_rewards, kl_correction: as GRPOLoss.
    """

    def __init__(self, max_completion_length: int = 256, beta: float = 0.0, epsilon: float = 0.2,
                 epsilon_high: float | None = None, scale_rewards: str = 'none',
                 kl_correction: bool = True):
        super().__init__(beta, epsilon, epsilon_high, scale_rewards, kl_correction)
        self.max_completion_length = max_completion_length

    def average(self, per_token, tokens, sequence, batch):
        return per_token.sum() / (len(tokens) * self.max_completion_length)


@LOSSES.register('DAPOLoss')
class DAPOLoss(ClippedPolicyLoss):
    """DAPO: token-level, the sum over the micro-batch divided by the completion tokens of the
    whole generation batch (``batch['num_items_in_batch']``; absent: this micro-batch's), with
    asymmetric clipping (``epsilon_high`` 0.28 by default)."""

    def __init__(self, beta: float = 0.0, epsilon: float = 0.2, epsilon_high: float = 0.28,
                 scale_rewards: str = 'group', kl_correction: bool = True):
        super().__init__(beta, epsilon, epsilon_high, scale_rewards, kl_correction)

    def average(self, per_token, tokens, sequence, batch):
        items = batch.get('num_items_in_batch')
        items = tokens.sum() if items is None else torch.as_tensor(items)
        return per_token.sum() / items.clamp(min=1)


@LOSSES.register('RLOOLoss')
class RLOOLoss(Loss):
    """RLOO: the clipped surrogate per completion (the ratio of summed log-probs), advantages
    with a leave-one-out baseline; KL enters the rewards (``beta *`` summed old - reference
    log-probs), not the loss.

    Args:
        beta: KL weight in the reward (0: no reference). epsilon, epsilon_high: clip ranges.
        normalize_advantages: standardise advantages over the batch.
    """

    inputs = 'rollouts'
    reduction = 'sum'

    def __init__(self, beta: float = 0.05, epsilon: float = 0.2,
                 epsilon_high: float | None = None, normalize_advantages: bool = False):
        self.beta, self.epsilon = beta, epsilon
        self.epsilon_high = epsilon if epsilon_high is None else epsilon_high
        self.normalize_advantages = normalize_advantages
        self.needs_reference = beta != 0.0

    def advantages(self, rewards: torch.Tensor, group_size: int,
                   kl: torch.Tensor | None = None) -> torch.Tensor:
        """Leave-one-out advantages of ``rewards - beta * kl`` (``kl``: ``[sequences]`` summed
        old - reference log-probs of each completion, when beta is not 0)."""
        if self.beta and kl is not None:
            rewards = rewards - self.beta * kl
        return rloo_advantages(rewards, group_size, self.normalize_advantages)

    def __call__(self, inputs: LossInputs) -> PolicyGradientLoss:
        policy, batch = inputs.policy, inputs.batch
        old = batch.get('old_logps')
        old = policy.logps.detach() if old is None else old
        advantages = batch['advantages']
        ratio = torch.exp(policy.logps - old)
        clipped = torch.clamp(ratio, 1 - self.epsilon, 1 + self.epsilon_high)
        loss = -torch.min(ratio * advantages, clipped * advantages).mean()
        low = (ratio < 1 - self.epsilon) & (advantages < 0)
        high = (ratio > 1 + self.epsilon_high) & (advantages > 0)
        return PolicyGradientLoss(loss, {'clip_ratio/low_mean': float(low.float().mean()),
                                         'clip_ratio/high_mean': float(high.float().mean()),
                                         'clip_ratio/region_mean': float(
                                             (low | high).float().mean())})
