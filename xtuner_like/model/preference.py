"""PreferenceFinetune: DPO-family, ORPO, SimPO and KTO training of a causal LM.

A micro-batch is one packed row of whole sequences (dataset/preference.py): sequence ``2k``
is sample ``k``'s chosen reply (KTO: its reply), ``2k + 1`` its rejected reply (KTO: the
mismatched KL sequence). The policy runs once over the row; the loss (model/
preference_loss.py) is chosen by ``loss_type``.

Reference log-probs, without a second copy where possible:
- LoRA/QLoRA: the same model with its adapters disabled (peft's ``disable_adapter``);
- full fine-tuning: a frozen copy of the starting weights, kept outside the module tree so
  it is neither trained, checkpointed nor handed to the optimizer;
- precomputed: a batch that carries ``reference_logps`` (``[samples, 2]``) uses them and
  runs the policy only.
ORPO and SimPO need no reference.

The loss unit is a sample (a pair, or a KTO row): ``loss_sum`` returns the micro-batch's mean
times its samples, and the train loop divides by the samples of the whole accumulation
window. The log line and TensorBoard get rewards/chosen, rewards/rejected, rewards/margins,
rewards/accuracy and logps/chosen, logps/rejected of each micro-batch.
"""
from __future__ import annotations

import copy
from typing import Any

import torch

from ..errors import UnknownNameError
from ..utils.build import build
from .preference_loss import (
    DPO_LOSS_TYPES, PreferenceLoss, chosen_nll, dpo_loss, kto_kl, kto_loss, orpo_loss,
    simpo_loss)
from .sequence_logps import (
    SequenceLogps, sequence_logps_from_hidden, sequence_logps_from_logits)
from .sft import _LOGIT_POSTPROCESSING, SupervisedFinetune

LOSS_TYPES = (*DPO_LOSS_TYPES, 'orpo', 'simpo', 'kto')
REFERENCE_FREE = ('orpo', 'simpo')


def count_samples(batch: dict) -> int:
    """Samples (pairs or KTO rows) in a collated preference batch: two sequences each."""
    return int((batch['position_ids'] == 0).sum()) // 2


class PairwiseModel(SupervisedFinetune):
    """What preference and reward models share: a loss over samples of two sequences, its
    unit (a sample), and the reward metrics in the log. Subclasses implement
    :meth:`preference_loss` and :meth:`pair_rewards`."""

    @staticmethod
    def loss_units(batch: dict) -> int:
        """Samples in the batch: the preference losses average over pairs (KTO: rows)."""
        return count_samples(batch)

    def preference_loss(self, batch: dict) -> PreferenceLoss:
        """The loss of one packed micro-batch (a mean over its samples)."""
        raise NotImplementedError

    def pair_rewards(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Rewards ``(chosen, rejected)`` of a batch of pairs (held-out accuracy)."""
        raise NotImplementedError

    def loss_sum(self, batch: dict) -> tuple[torch.Tensor, int]:
        """(mean loss x samples, samples): the window divides by all of its samples."""
        samples = count_samples(batch)
        return self.preference_loss(batch).loss * samples, samples

    def forward(self, mode: str = 'loss', loss_denominator: float | None = None,
                **batch: Any) -> Any:
        """As the base class, and ``mode='loss'`` also returns the reward metrics to log."""
        if mode != 'loss':
            return super().forward(mode=mode, **batch)
        samples = count_samples(batch)
        out = self.preference_loss(batch)
        loss = out.loss * samples / (loss_denominator if loss_denominator else max(samples, 1))
        device = loss.device
        return {'loss': loss, **{name: torch.tensor(value, device=device)
                                 for name, value in out.metrics().items()}}


class PreferenceFinetune(PairwiseModel):
    """Causal LM + optional LoRA/QLoRA trained on preference pairs or KTO rows.

    Args:
        llm, lora, **kwargs: as :class:`SupervisedFinetune`.
        loss_type: 'sigmoid' (DPO), 'robust', 'hinge', 'ipo', 'orpo', 'simpo' or 'kto'.
        beta: the loss's temperature (DPO/KTO: KL strength; ORPO: the odds-ratio weight
            lambda; SimPO: reward scale, ~2).
        label_smoothing: DPO/robust/SimPO label-noise rate.
        rpo_alpha: weight of an extra NLL term on the chosen replies (None: off).
        simpo_gamma: SimPO's target reward margin.
        desirable_weight, undesirable_weight: KTO's weights of the two kinds of rows.
        reference_llm: a model spec for the reference of a full fine-tune (default: a
            frozen copy of ``llm`` as loaded).
    """

    def __init__(self, llm: Any, lora: Any = None, loss_type: str = 'sigmoid',
                 beta: float = 0.1, label_smoothing: float = 0.0,
                 rpo_alpha: float | None = None, simpo_gamma: float = 0.5,
                 desirable_weight: float = 1.0, undesirable_weight: float = 1.0,
                 reference_llm: Any = None, **kwargs: Any):
        if loss_type not in LOSS_TYPES:
            raise UnknownNameError('preference loss_type', loss_type, LOSS_TYPES)
        super().__init__(llm, lora=lora, **kwargs)
        self.loss_type, self.beta, self.label_smoothing = loss_type, beta, label_smoothing
        self.rpo_alpha, self.simpo_gamma = rpo_alpha, simpo_gamma
        self.kto_weights = (desirable_weight, undesirable_weight)
        self.needs_reference = loss_type not in REFERENCE_FREE
        # A plain list: the frozen copy must stay out of state_dict, parameters() and ZeRO.
        self._frozen_reference: list[torch.nn.Module] = []
        if self.needs_reference and not self.has_adapters:
            reference = build(reference_llm) if reference_llm is not None else copy.deepcopy(
                self.backbone)
            self._frozen_reference.append(reference.requires_grad_(False).eval())

    def sequence_logps(self, model: torch.nn.Module, batch: dict) -> SequenceLogps:
        """Reply log-probs of every sequence of the packed batch under ``model``."""
        inputs = dict(input_ids=batch['input_ids'], position_ids=batch['position_ids'],
                      use_cache=False)
        if any(getattr(model.config, k, None) for k in _LOGIT_POSTPROCESSING):
            return sequence_logps_from_logits(model(**inputs).logits, batch['labels'],
                                              batch['position_ids'])
        hidden = model.get_decoder()(**inputs).last_hidden_state
        return sequence_logps_from_hidden(hidden, batch['labels'], batch['position_ids'],
                                          model.get_output_embeddings())

    @torch.no_grad()
    def reference_logps(self, batch: dict) -> torch.Tensor:
        """Reference log-probs ``[sequences]``: precomputed, adapters off, or the frozen copy."""
        if batch.get('reference_logps') is not None:
            return batch['reference_logps'].to(batch['input_ids'].device).flatten().float()
        if self.has_adapters:
            with self.llm.disable_adapter():
                return self.sequence_logps(self.backbone, batch).logps
        reference = self._frozen_reference[0]
        device = batch['input_ids'].device
        if next(reference.parameters()).device != device:
            reference.to(device)
        return self.sequence_logps(reference, batch).logps

    def preference_loss(self, batch: dict) -> PreferenceLoss:
        """The configured loss of one packed micro-batch (a mean over its samples)."""
        policy = self.sequence_logps(self.backbone, batch)
        first, second = slice(0, None, 2), slice(1, None, 2)
        if self.loss_type in REFERENCE_FREE:
            means = policy.mean_logps
            if self.loss_type == 'orpo':
                out = orpo_loss(means[first], means[second], self._chosen_nll(policy),
                                beta=self.beta)
            else:
                out = simpo_loss(means[first], means[second], beta=self.beta,
                                 gamma=self.simpo_gamma, label_smoothing=self.label_smoothing)
        elif self.loss_type == 'kto':
            reference = self.reference_logps(batch)
            kl = kto_kl(policy.logps[second].detach(), reference[second])
            out = kto_loss(policy.logps[first], reference[first], batch['desirable'], kl,
                           beta=self.beta, desirable_weight=self.kto_weights[0],
                           undesirable_weight=self.kto_weights[1])
        else:
            reference = self.reference_logps(batch)
            out = dpo_loss(policy.logps[first], policy.logps[second], reference[first],
                           reference[second], beta=self.beta, loss_type=self.loss_type,
                           label_smoothing=self.label_smoothing,
                           chosen_tokens=policy.tokens[first],
                           rejected_tokens=policy.tokens[second])
        if self.rpo_alpha:
            out.loss = out.loss + self.rpo_alpha * self._chosen_nll(policy)
        return out

    @torch.no_grad()
    def pair_rewards(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Implicit rewards ``(chosen, rejected)`` of a batch of pairs, whatever the loss:
        ``beta * (policy - reference)`` log-probs, or ``beta *`` mean log-probs for the
        reference-free losses (for held-out preference accuracy)."""
        policy = self.sequence_logps(self.backbone, batch)
        if self.loss_type in REFERENCE_FREE:
            rewards = self.beta * policy.mean_logps
        else:
            rewards = self.beta * (policy.logps - self.reference_logps(batch))
        return rewards[0::2], rewards[1::2]

    @staticmethod
    def _chosen_nll(policy: SequenceLogps) -> torch.Tensor:
        return chosen_nll(policy.token_logps, policy.token_sequence % 2 == 0)
