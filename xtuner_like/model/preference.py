"""PreferenceFinetune: DPO-family, ORPO, SimPO and KTO training of a causal LM.

A micro-batch is one packed row of whole sequences (dataset/preference.py): sequence ``2k``
is sample ``k``'s chosen reply (KTO: its reply), ``2k + 1`` its rejected reply (KTO: the
mismatched KL sequence). The policy runs once over the row; the loss is ONE registered
object (model/losses/, ``loss=dict(type='DPOLoss', beta=0.1)``) that says what it needs.

Reference log-probs, without a second copy where possible:
- LoRA/QLoRA: the same model with its adapters disabled (peft's ``disable_adapter``);
- full fine-tuning: a frozen copy of the starting weights, kept outside the module tree so
  it is neither trained, checkpointed nor handed to the optimizer;
- precomputed: a batch that carries ``reference_logps`` (``[samples, 2]``) uses them and
  runs the policy only.
A loss whose ``needs_reference`` is false (SimPO, ORPO) gets none.

The loss unit is a sample (a pair, or a KTO row): ``loss_sum`` returns the micro-batch's mean
times its samples, and the train loop divides by the samples of the whole accumulation
window. The log line and TensorBoard get rewards/chosen, rewards/rejected, rewards/margins,
rewards/accuracy and logps/chosen, logps/rejected of each micro-batch.
"""
from __future__ import annotations

import copy
from typing import Any

import torch

from ..utils.build import build
from .losses import Loss, LossInputs, PreferenceLoss, build_loss
from .losses.base import check_model_inputs
from .sequence_logps import SequenceLogps
from .sft import SupervisedFinetune, packed_sequence_logps


def count_samples(batch: dict) -> int:
    """Samples (pairs or KTO rows) in a collated preference batch: two sequences each."""
    return int((batch['position_ids'] == 0).sum()) // 2


class PairwiseModel(SupervisedFinetune):
    """What preference and reward models share: a loss object over samples of two sequences,
    its unit (a sample), and the reward metrics in the log. Subclasses implement
    :meth:`loss_inputs` (what their model gives the loss: log-probs or scores)."""

    loss: Loss

    @property
    def needs_reference(self) -> bool:
        """Whether the loss asks for reference log-probs (the loss object decides)."""
        return self.loss.needs_reference

    @staticmethod
    def loss_units(batch: dict) -> int:
        """Samples in the batch: the preference losses average over pairs (KTO: rows)."""
        return count_samples(batch)

    def loss_inputs(self, batch: dict) -> LossInputs:
        """What the loss reads of one packed micro-batch (policy log-probs or scores, and the
        reference when the loss needs it)."""
        raise NotImplementedError

    def preference_loss(self, batch: dict) -> PreferenceLoss:
        """The loss of one packed micro-batch (a mean over its samples)."""
        return self.loss(self.loss_inputs(batch))

    @torch.no_grad()
    def pair_rewards(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Rewards ``(chosen, rejected)`` of a batch of pairs (held-out accuracy), as the loss
        defines them (DPO: ``beta * (policy - reference)``; SimPO: ``beta *`` mean log-probs;
        a reward model: its scores)."""
        rewards = self.loss.rewards(self.loss_inputs(batch))
        return rewards[0::2], rewards[1::2]

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
        loss: the loss spec, e.g. ``dict(type='DPOLoss', beta=0.1, label_smoothing=0.0)``,
            ``dict(type='SimPOLoss', beta=2.0, gamma=0.5)``, ``dict(type='KTOLoss')``
            (registered names: ``xtuner_like.registry.LOSSES``; model/losses/).
        reference_llm: a model spec for the reference of a full fine-tune (default: a
            frozen copy of ``llm`` as loaded).
    """

    def __init__(self, llm: Any, lora: Any = None, loss: Any = 'DPOLoss',
                 reference_llm: Any = None, **kwargs: Any):
        self.loss = build_loss(loss)
        check_model_inputs(self.loss, 'logps', 'PreferenceFinetune')
        super().__init__(llm, lora=lora, **kwargs)
        # A plain list: the frozen copy must stay out of state_dict, parameters() and ZeRO.
        self._frozen_reference: list[torch.nn.Module] = []
        if self.needs_reference and not self.has_adapters:
            reference = build(reference_llm) if reference_llm is not None else copy.deepcopy(
                self.backbone)
            self._frozen_reference.append(reference.requires_grad_(False).eval())

    def sequence_logps(self, model: torch.nn.Module, batch: dict) -> SequenceLogps:
        """Reply log-probs of every sequence of the packed batch under ``model``."""
        return packed_sequence_logps(model, batch)

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

    def loss_inputs(self, batch: dict) -> LossInputs:
        """The policy's reply log-probs and, when the loss needs it, the reference's."""
        return LossInputs(policy=self.sequence_logps(self.backbone, batch),
                          reference=self.reference_logps(batch) if self.needs_reference
                          else None, batch=batch)
