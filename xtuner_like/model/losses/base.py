"""The loss interface: what a registered loss declares, what it is given, what it returns.

See the package docstring (``xtuner_like.model.losses``) for the whole contract.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Protocol

import torch

from ...errors import ConfigError
from ..sequence_logps import SequenceLogps

# How a loss combines the log-probs of a sequence's scored tokens.
REDUCTIONS = ('sum', 'mean', 'score', 'token')


@dataclass
class LossInputs:
    """What a model gives a loss for one packed micro-batch.

    Sequences are numbered in reading order over the batch; in a preference batch sequence
    ``2k`` is sample ``k``'s chosen reply (KTO: its reply) and ``2k + 1`` its rejected reply
    (KTO: the mismatched KL sequence).
    """

    policy: SequenceLogps | None = None      # scored tokens under the policy (None: scores)
    # The reference's log-probs when needs_reference: [sequences] sums, or [scored tokens]
    # for a loss whose reduction is 'token'.
    reference: torch.Tensor | None = None
    scores: torch.Tensor | None = None       # [sequences] a reward head's scores
    batch: Mapping[str, Any] = field(default_factory=dict)  # the collated batch (labels ...)


class LossOutput(Protocol):
    """What every loss returns: the scalar to minimise (a mean over the micro-batch's units)
    and the means to log (names without 'loss': mmengine sums every '*loss*' key)."""

    loss: torch.Tensor

    def metrics(self) -> dict[str, float]: ...


class Loss:
    """Base of every registered loss (see the package docstring).

    Class attributes a loss declares:
        inputs: 'logps' (a causal LM's log-probs of the scored tokens of a dataset's rows),
            'scores' (one scalar per sequence from a reward head) or 'rollouts' (log-probs
            of generated completions with their rollout: advantages, old log-probs): which
            model can train with it.
        reduction: how a sequence's token log-probs enter the loss: 'sum', 'mean' (per
            token), 'score' (no tokens) or 'token' (each token on its own: policy gradient).
        needs_reference: whether the model must fill ``LossInputs.reference`` (an instance
            may decide from its arguments, e.g. a KL term with beta 0 needs none).
    """

    inputs: ClassVar[str] = 'logps'
    reduction: ClassVar[str] = 'sum'
    needs_reference: bool = False

    def __call__(self, inputs: LossInputs) -> LossOutput:
        raise NotImplementedError

    def rewards(self, inputs: LossInputs) -> torch.Tensor:
        """``[sequences]`` rewards the loss implies (held-out preference accuracy)."""
        raise NotImplementedError

    def sequence_logps(self, policy: SequenceLogps) -> torch.Tensor:
        """``[sequences]`` policy log-probs reduced as this loss declares ('sum' or 'mean')."""
        return policy.mean_logps if self.reduction == 'mean' else policy.logps

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in vars(self).items() if not k.startswith('_'))
        return f'{type(self).__name__}({args})'


@dataclass
class PreferenceLoss:
    """A pairwise (or KTO) loss and what to log about it; every tensor but ``loss`` is
    detached."""

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


# Which model gives a loss its inputs (for the error when a config pairs them wrongly).
MODEL_FOR_INPUTS = {
    'logps': 'PreferenceFinetune (configs/_base_/models/preference.py)',
    'scores': 'RewardModel (configs/_base_/models/reward.py)',
    'rollouts': 'GRPOFinetune (configs/_base_/models/grpo.py)',
}


def check_model_inputs(loss: Loss, model_inputs: str, model_name: str) -> None:
    """A model that gives ``model_inputs`` refuses a loss that takes another kind, naming
    the model that gives it."""
    if loss.inputs != model_inputs:
        raise ConfigError(f'{type(loss).__name__} takes {loss.inputs}, which {model_name} does '
                          f'not give; train it with {MODEL_FOR_INPUTS[loss.inputs]}')
