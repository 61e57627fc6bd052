"""Preference losses as pure functions of sequence log-probs (or reward scores).

Every function takes per-sequence tensors of one micro-batch and returns a
:class:`PreferenceLoss`: the scalar loss (mean over pairs, or over rows for KTO) and the
per-sequence rewards and log-probs that the log line shows. Nothing here runs a model, so
each formula is tested on its own and against trl (tests/model/test_preference_loss.py).

Conventions (the same as trl 1.16, so a config moved between the two means the same):
- ``logps`` are sums of the reply tokens' log-probs; SimPO and ORPO take the per-token
  mean instead (their callers pass ``summed / tokens``).
- DPO-family rewards are ``beta * (policy - reference)`` log-ratios; reference-free losses
  report ``beta * logps``.
- IPO divides each log-ratio by its reply length before the squared loss (trl does this too:
  otherwise the loss scales with reply length).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import ConfigError

DPO_LOSS_TYPES = ('sigmoid', 'robust', 'hinge', 'ipo')


@dataclass
class PreferenceLoss:
    """A loss and what to log about it; every tensor but ``loss`` is detached."""

    loss: torch.Tensor
    chosen_rewards: torch.Tensor
    rejected_rewards: torch.Tensor
    chosen_logps: torch.Tensor | None  # None for a reward model (it has scores, not log-probs)
    rejected_logps: torch.Tensor | None
    paired: bool = True

    def metrics(self) -> dict[str, float]:
        """Means for the log line: rewards/chosen, rewards/rejected, rewards/margins,
        rewards/accuracy (paired losses only), logps/chosen, logps/rejected."""
        out: dict[str, float] = {}
        for name, values in (('rewards/chosen', self.chosen_rewards),
                             ('rewards/rejected', self.rejected_rewards),
                             ('logps/chosen', self.chosen_logps),
                             ('logps/rejected', self.rejected_logps)):
            if values is not None and values.numel():
                out[name] = float(values.float().mean())
        if 'rewards/chosen' in out and 'rewards/rejected' in out:
            # Unpaired (KTO): difference of the means, as trl logs it.
            out['rewards/margins'] = out['rewards/chosen'] - out['rewards/rejected']
        if self.paired and self.chosen_rewards.numel():
            out['rewards/margins'] = float((self.chosen_rewards - self.rejected_rewards).mean())
            out['rewards/accuracy'] = float(
                (self.chosen_rewards > self.rejected_rewards).float().mean())
        return out


def _smoothed_sigmoid(logits: torch.Tensor, label_smoothing: float) -> torch.Tensor:
    """-log sigma(x) with a label flipped with probability ``label_smoothing`` (cDPO)."""
    return (-F.logsigmoid(logits) * (1 - label_smoothing)
            - F.logsigmoid(-logits) * label_smoothing)


def dpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor,
             reference_chosen: torch.Tensor, reference_rejected: torch.Tensor, *,
             beta: float = 0.1, loss_type: str = 'sigmoid', label_smoothing: float = 0.0,
             chosen_tokens: torch.Tensor | None = None,
             rejected_tokens: torch.Tensor | None = None) -> PreferenceLoss:
    """DPO and its variants on summed reply log-probs, one value per pair.

    Args:
        policy_chosen, policy_rejected, reference_chosen, reference_rejected: ``[pairs]``.
        beta: strength of the KL constraint (IPO: the regulariser tau).
        loss_type: 'sigmoid' (DPO; with ``label_smoothing`` it is conservative DPO),
            'robust' (unbiased under label noise), 'hinge' (SLiC) or 'ipo'.
        label_smoothing: probability that a pair's label is flipped (sigmoid, robust).
        chosen_tokens, rejected_tokens: reply lengths ``[pairs]``, needed by 'ipo'.
    """
    chosen_ratio = policy_chosen - reference_chosen
    rejected_ratio = policy_rejected - reference_rejected
    delta = chosen_ratio - rejected_ratio
    if loss_type == 'sigmoid':
        losses = _smoothed_sigmoid(beta * delta, label_smoothing)
    elif loss_type == 'robust':
        losses = ((-F.logsigmoid(beta * delta) * (1 - label_smoothing)
                   + F.logsigmoid(-beta * delta) * label_smoothing)
                  / (1 - 2 * label_smoothing))
    elif loss_type == 'hinge':
        losses = torch.relu(1 - beta * delta)
    elif loss_type == 'ipo':
        if chosen_tokens is None or rejected_tokens is None:
            raise ValueError("loss_type='ipo' needs chosen_tokens and rejected_tokens")
        per_token = (chosen_ratio / chosen_tokens.clamp(min=1)
                     - rejected_ratio / rejected_tokens.clamp(min=1))
        losses = (per_token - 1 / (2 * beta)) ** 2
    else:
        raise ConfigError(f'unknown DPO loss_type {loss_type!r}; choose one of {DPO_LOSS_TYPES}')
    return PreferenceLoss(losses.mean(), beta * chosen_ratio.detach(),
                          beta * rejected_ratio.detach(), policy_chosen.detach(),
                          policy_rejected.detach())


def _log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(x)) for x < 0, accurate near 0 and for very negative x."""
    return torch.where(x > -0.6931471805599453, torch.log(-torch.expm1(x)),
                       torch.log1p(-torch.exp(x)))


def orpo_loss(chosen_mean_logps: torch.Tensor, rejected_mean_logps: torch.Tensor,
              chosen_nll: torch.Tensor, *, beta: float = 0.1) -> PreferenceLoss:
    """ORPO: NLL of the chosen reply minus ``beta * log sigma(log odds ratio)``; no reference.

    Args:
        chosen_mean_logps, rejected_mean_logps: per-token mean log-prob of each reply.
        chosen_nll: the SFT term (mean NLL over chosen reply tokens), a scalar.
        beta: weight of the odds-ratio term (lambda in the paper).
    """
    chosen, rejected = chosen_mean_logps.float(), rejected_mean_logps.float()
    log_odds = (chosen - rejected) - (_log1mexp(chosen) - _log1mexp(rejected))
    loss = chosen_nll - beta * F.logsigmoid(log_odds).mean()
    return PreferenceLoss(loss, beta * chosen.detach(), beta * rejected.detach(),
                          chosen.detach(), rejected.detach())


def simpo_loss(chosen_mean_logps: torch.Tensor, rejected_mean_logps: torch.Tensor, *,
               beta: float = 2.0, gamma: float = 0.5,
               label_smoothing: float = 0.0) -> PreferenceLoss:
    """SimPO: reference-free, length-normalised, with a target margin ``gamma``.

    loss = -log sigma(beta * (mean_logp_chosen - mean_logp_rejected) - gamma).
    """
    logits = beta * (chosen_mean_logps - rejected_mean_logps) - gamma
    losses = _smoothed_sigmoid(logits, label_smoothing)
    return PreferenceLoss(losses.mean(), beta * chosen_mean_logps.detach(),
                          beta * rejected_mean_logps.detach(), chosen_mean_logps.detach(),
                          rejected_mean_logps.detach())


def kto_kl(policy_kl_logps: torch.Tensor, reference_kl_logps: torch.Tensor) -> torch.Tensor:
    """KTO's reference point: mean log-ratio on mismatched (prompt, reply) rows, >= 0, detached."""
    return (policy_kl_logps - reference_kl_logps).mean().detach().clamp(min=0)


def kto_loss(policy_logps: torch.Tensor, reference_logps: torch.Tensor, desirable: torch.Tensor,
             kl: torch.Tensor, *, beta: float = 0.1, desirable_weight: float = 1.0,
             undesirable_weight: float = 1.0) -> PreferenceLoss:
    """KTO on unpaired rows: each row is a reply labelled desirable (True) or not.

    loss_i = w_d (1 - sigma(beta (r_i - kl))) for desirable rows and
             w_u (1 - sigma(beta (kl - r_i))) for the others, averaged over rows,
    where r_i is the row's policy/reference log-ratio and ``kl`` comes from :func:`kto_kl`.
    """
    desirable = desirable.bool()
    ratio = policy_logps - reference_logps
    chosen_losses = desirable_weight * (1 - torch.sigmoid(beta * (ratio[desirable] - kl)))
    rejected_losses = undesirable_weight * (1 - torch.sigmoid(beta * (kl - ratio[~desirable])))
    loss = torch.cat([chosen_losses, rejected_losses]).mean()
    rewards = beta * ratio.detach()
    return PreferenceLoss(loss, rewards[desirable], rewards[~desirable],
                          policy_logps.detach()[desirable], policy_logps.detach()[~desirable],
                          paired=False)


def bradley_terry_loss(chosen_scores: torch.Tensor, rejected_scores: torch.Tensor, *,
                       margin: torch.Tensor | None = None,
                       center_rewards_coefficient: float | None = None) -> PreferenceLoss:
    """Reward-model loss: -log sigma(score_chosen - score_rejected [- margin]).

    ``center_rewards_coefficient`` adds ``c * mean((s_c + s_r)^2)`` to keep scores near 0.
    The scores are the rewards; there are no log-probs.
    """
    delta = chosen_scores - rejected_scores
    if margin is not None:
        delta = delta - margin
    loss = -F.logsigmoid(delta).mean()
    if center_rewards_coefficient:
        loss = loss + center_rewards_coefficient * ((chosen_scores + rejected_scores) ** 2).mean()
    return PreferenceLoss(loss, chosen_scores.detach(), rejected_scores.detach(), None, None)


def chosen_nll(token_logps: torch.Tensor, is_chosen_token: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood over the chosen replies' tokens (the rpo_alpha SFT term)."""
    picked = token_logps[is_chosen_token]
    return -picked.sum() / max(int(picked.numel()), 1)
