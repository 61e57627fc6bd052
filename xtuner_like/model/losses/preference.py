"""Preference losses: the DPO family, SimPO, ORPO, KTO (policy log-probs) and Bradley-Terry
(reward-head scores), each a registered :class:`~.base.Loss`.

Conventions (the same as trl 1.16, so a config moved between the two means the same):
- DPO-family and KTO rewards are ``beta * (policy - reference)`` log-ratios of summed reply
  log-probs; SimPO and ORPO take the per-token mean (``reduction = 'mean'``) and report
  ``beta * mean_logps``.
- IPO divides each log-ratio by its reply length before the squared loss (trl does this too:
  otherwise the loss scales with reply length).
- ``rpo_alpha`` (paired policy losses) adds ``alpha *`` the mean NLL of the chosen replies'
  tokens (trl's 'sft' loss term).
Each formula is tested on its own and against trl's trainers
(tests/model/losses/test_preference.py).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ...errors import ConfigError
from ...registry import LOSSES
from ..sequence_logps import SequenceLogps
from .base import Loss, LossInputs, PreferenceLoss

CHOSEN, REJECTED = slice(0, None, 2), slice(1, None, 2)


def chosen_nll(token_logps: torch.Tensor, is_chosen_token: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood over the chosen replies' tokens (the rpo_alpha SFT term)."""
    picked = token_logps[is_chosen_token]
    return -picked.sum() / max(int(picked.numel()), 1)


def policy_chosen_nll(policy: SequenceLogps) -> torch.Tensor:
    """:func:`chosen_nll` of a preference batch: chosen replies are the even sequences."""
    return chosen_nll(policy.token_logps, policy.token_sequence % 2 == 0)


def _smoothed_sigmoid(logits: torch.Tensor, label_smoothing: float) -> torch.Tensor:
    """-log sigma(x) with a label flipped with probability ``label_smoothing`` (cDPO)."""
    return (-F.logsigmoid(logits) * (1 - label_smoothing)
            - F.logsigmoid(-logits) * label_smoothing)


class PairLoss(Loss):
    """A policy loss over pairs, with the optional ``rpo_alpha`` NLL term on chosen replies.

    Subclasses implement :meth:`pair_loss`.
    """

    def __init__(self, beta: float, rpo_alpha: float | None = None):
        self.beta, self.rpo_alpha = beta, rpo_alpha

    def __call__(self, inputs: LossInputs) -> PreferenceLoss:
        out = self.pair_loss(inputs)
        if self.rpo_alpha:
            out.loss = out.loss + self.rpo_alpha * policy_chosen_nll(inputs.policy)
        return out

    def pair_loss(self, inputs: LossInputs) -> PreferenceLoss:
        raise NotImplementedError

    def rewards(self, inputs: LossInputs) -> torch.Tensor:
        logps = self.sequence_logps(inputs.policy)
        return self.beta * (logps - inputs.reference if self.needs_reference else logps)


class _DPOFamily(PairLoss):
    """Losses of the log-ratio margin ``(pi_c - ref_c) - (pi_r - ref_r)`` of summed log-probs.

    Args:
        beta: strength of the KL constraint (IPO: the regulariser tau).
        label_smoothing: probability that a pair's label is flipped (DPOLoss: conservative
            DPO; RobustDPOLoss: the unbiased estimator); the others take none.
        rpo_alpha: weight of an NLL term on the chosen replies (None: off).
    """

    needs_reference = True
    smooths_labels = True

    def __init__(self, beta: float = 0.1, label_smoothing: float = 0.0,
                 rpo_alpha: float | None = None):
        super().__init__(beta, rpo_alpha)
        if label_smoothing and not self.smooths_labels:
            raise ConfigError(f'{type(self).__name__} takes no label_smoothing (got '
                              f'{label_smoothing}); set it to 0.0 or use DPOLoss')
        self.label_smoothing = label_smoothing

    def losses(self, chosen_ratio: torch.Tensor, rejected_ratio: torch.Tensor,
               chosen_tokens: torch.Tensor, rejected_tokens: torch.Tensor) -> torch.Tensor:
        """Per-pair losses from the two log-ratios ``[pairs]`` and reply lengths."""
        raise NotImplementedError

    def pair_loss(self, inputs: LossInputs) -> PreferenceLoss:
        policy, reference = inputs.policy, inputs.reference
        chosen_ratio = policy.logps[CHOSEN] - reference[CHOSEN]
        rejected_ratio = policy.logps[REJECTED] - reference[REJECTED]
        losses = self.losses(chosen_ratio, rejected_ratio, policy.tokens[CHOSEN],
                             policy.tokens[REJECTED])
        return PreferenceLoss(losses.mean(), self.beta * chosen_ratio.detach(),
                              self.beta * rejected_ratio.detach(),
                              policy.logps[CHOSEN].detach(), policy.logps[REJECTED].detach())


@LOSSES.register('DPOLoss')
class DPOLoss(_DPOFamily):
    """DPO: -log sigma(beta * margin); with ``label_smoothing`` conservative DPO (cDPO)."""

    def losses(self, chosen_ratio, rejected_ratio, chosen_tokens, rejected_tokens):
        return _smoothed_sigmoid(self.beta * (chosen_ratio - rejected_ratio), self.label_smoothing)


@LOSSES.register('RobustDPOLoss')
class RobustDPOLoss(_DPOFamily):
    """Robust DPO: unbiased under label noise of rate ``label_smoothing`` (< 0.5)."""

    def losses(self, chosen_ratio, rejected_ratio, chosen_tokens, rejected_tokens):
        logits, eps = self.beta * (chosen_ratio - rejected_ratio), self.label_smoothing
        return ((-F.logsigmoid(logits) * (1 - eps) + F.logsigmoid(-logits) * eps)
                / (1 - 2 * eps))


@LOSSES.register('HingeLoss')
class HingeLoss(_DPOFamily):
    """SLiC's hinge on the margin: relu(1 - beta * margin)."""

    smooths_labels = False

    def losses(self, chosen_ratio, rejected_ratio, chosen_tokens, rejected_tokens):
        return torch.relu(1 - self.beta * (chosen_ratio - rejected_ratio))


@LOSSES.register('IPOLoss')
class IPOLoss(_DPOFamily):
    """IPO: (per-token margin - 1 / (2 beta))^2, each log-ratio divided by its reply length."""

    smooths_labels = False

    def losses(self, chosen_ratio, rejected_ratio, chosen_tokens, rejected_tokens):
        per_token = (chosen_ratio / chosen_tokens.clamp(min=1)
                     - rejected_ratio / rejected_tokens.clamp(min=1))
        return (per_token - 1 / (2 * self.beta)) ** 2


@LOSSES.register('SimPOLoss')
class SimPOLoss(PairLoss):
    """SimPO: reference-free, length-normalised, with a target margin ``gamma``.

    loss = -log sigma(beta * (mean_logp_chosen - mean_logp_rejected) - gamma).

    Args:
        beta: reward scale (~2). gamma: the target reward margin.
        label_smoothing: label-noise rate, as DPOLoss. rpo_alpha: as DPOLoss.
    """

    reduction = 'mean'

    def __init__(self, beta: float = 2.0, gamma: float = 0.5, label_smoothing: float = 0.0,
                 rpo_alpha: float | None = None):
        super().__init__(beta, rpo_alpha)
        self.gamma, self.label_smoothing = gamma, label_smoothing

    def pair_loss(self, inputs: LossInputs) -> PreferenceLoss:
        means = self.sequence_logps(inputs.policy)
        chosen, rejected = means[CHOSEN], means[REJECTED]
        logits = self.beta * (chosen - rejected) - self.gamma
        return PreferenceLoss(_smoothed_sigmoid(logits, self.label_smoothing).mean(),
                              self.beta * chosen.detach(), self.beta * rejected.detach(),
                              chosen.detach(), rejected.detach())


def _log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(x)) for x < 0, accurate near 0 and for very negative x."""
    return torch.where(x > -0.6931471805599453, torch.log(-torch.expm1(x)),
                       torch.log1p(-torch.exp(x)))


@LOSSES.register('ORPOLoss')
class ORPOLoss(PairLoss):
    """ORPO: NLL of the chosen replies minus ``beta * log sigma(log odds ratio)``; no reference.

    Args:
        beta: weight of the odds-ratio term (lambda in the paper). rpo_alpha: as DPOLoss.
    """

    reduction = 'mean'

    def __init__(self, beta: float = 0.1, rpo_alpha: float | None = None):
        super().__init__(beta, rpo_alpha)

    def pair_loss(self, inputs: LossInputs) -> PreferenceLoss:
        means = self.sequence_logps(inputs.policy)
        return self.odds_ratio_loss(means[CHOSEN], means[REJECTED],
                                    policy_chosen_nll(inputs.policy))

    def odds_ratio_loss(self, chosen_mean_logps: torch.Tensor, rejected_mean_logps: torch.Tensor,
                        nll: torch.Tensor) -> PreferenceLoss:
        """The formula, given the per-token mean log-prob of each reply and the SFT term."""
        chosen, rejected = chosen_mean_logps.float(), rejected_mean_logps.float()
        log_odds = (chosen - rejected) - (_log1mexp(chosen) - _log1mexp(rejected))
        loss = nll - self.beta * F.logsigmoid(log_odds).mean()
        return PreferenceLoss(loss, self.beta * chosen.detach(), self.beta * rejected.detach(),
                              chosen.detach(), rejected.detach())


def kto_kl(policy_kl_logps: torch.Tensor, reference_kl_logps: torch.Tensor) -> torch.Tensor:
    """KTO's reference point: mean log-ratio on mismatched (prompt, reply) rows, >= 0, detached."""
    return (policy_kl_logps - reference_kl_logps).mean().detach().clamp(min=0)


@LOSSES.register('KTOLoss')
class KTOLoss(Loss):
    """KTO on unpaired rows: each row is a reply labelled desirable (``batch['desirable']``)
    or not; its odd sequence is the mismatched (prompt, reply) row of the reference point.

    loss_i = w_d (1 - sigma(beta (r_i - kl))) for desirable rows and
             w_u (1 - sigma(beta (kl - r_i))) for the others, averaged over rows,
    where r_i is the row's policy/reference log-ratio and ``kl`` comes from :func:`kto_kl`.

    Args:
        beta: KL strength. desirable_weight, undesirable_weight: weights of the two kinds.
    """

    needs_reference = True

    def __init__(self, beta: float = 0.1, desirable_weight: float = 1.0,
                 undesirable_weight: float = 1.0):
        self.beta = beta
        self.desirable_weight, self.undesirable_weight = desirable_weight, undesirable_weight

    def __call__(self, inputs: LossInputs) -> PreferenceLoss:
        policy, reference = inputs.policy.logps, inputs.reference
        kl = kto_kl(policy[REJECTED].detach(), reference[REJECTED])
        return self.row_loss(policy[CHOSEN], reference[CHOSEN], inputs.batch['desirable'], kl)

    def row_loss(self, policy_logps: torch.Tensor, reference_logps: torch.Tensor,
                 desirable: torch.Tensor, kl: torch.Tensor) -> PreferenceLoss:
        """The formula, given each row's summed log-probs, its label and the reference point."""
        desirable = desirable.bool()
        ratio = policy_logps - reference_logps
        chosen = self.desirable_weight * (1 - torch.sigmoid(self.beta * (ratio[desirable] - kl)))
        rejected = self.undesirable_weight * (
            1 - torch.sigmoid(self.beta * (kl - ratio[~desirable])))
        rewards = self.beta * ratio.detach()
        return PreferenceLoss(torch.cat([chosen, rejected]).mean(), rewards[desirable],
                              rewards[~desirable], policy_logps.detach()[desirable],
                              policy_logps.detach()[~desirable], paired=False)

    def rewards(self, inputs: LossInputs) -> torch.Tensor:
        return self.beta * (inputs.policy.logps - inputs.reference)


@LOSSES.register('BradleyTerryLoss')
class BradleyTerryLoss(Loss):
    """Reward-model loss: -log sigma(score_chosen - score_rejected [- margin]).

    Args:
        center_rewards_coefficient: adds ``c * mean((s_c + s_r)^2)`` to keep scores near 0
            (None: off).
    """

    inputs = 'scores'
    reduction = 'score'

    def __init__(self, center_rewards_coefficient: float | None = None):
        self.center_rewards_coefficient = center_rewards_coefficient

    def __call__(self, inputs: LossInputs) -> PreferenceLoss:
        return self.pair_loss(inputs.scores[CHOSEN], inputs.scores[REJECTED])

    def pair_loss(self, chosen_scores: torch.Tensor, rejected_scores: torch.Tensor,
                  margin: torch.Tensor | None = None) -> PreferenceLoss:
        """The formula on the scores of each pair; the scores are the rewards."""
        delta = chosen_scores - rejected_scores
        if margin is not None:
            delta = delta - margin
        loss = -F.logsigmoid(delta).mean()
        if self.center_rewards_coefficient:
            loss = loss + self.center_rewards_coefficient * (
                (chosen_scores + rejected_scores) ** 2).mean()
        return PreferenceLoss(loss, chosen_scores.detach(), rejected_scores.detach(), None, None)

    def rewards(self, inputs: LossInputs) -> torch.Tensor:
        return inputs.scores
