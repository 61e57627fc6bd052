"""Losses as registered objects: ``loss=dict(type='DPOLoss', beta=0.1)`` in a config.

A model takes ONE loss spec and builds it with :func:`build_loss`; the names live in
``xtuner_like.registry.LOSSES`` (a failed lookup suggests close names). The interface
(``base.py``):

- **Declares** (class attributes, read by the model and the hooks, never by name):
  ``inputs`` ('logps': a causal LM's log-probs of the scored tokens; 'scores': one scalar
  per sequence from a reward head; 'rollouts': log-probs of generated completions with
  their rollout data), ``reduction`` (how a sequence's token log-probs enter:
  'sum', 'mean', 'score', or 'token' for per-token policy-gradient losses) and
  ``needs_reference`` (the model fills reference log-probs: adapters off, a frozen copy, or
  precomputed by PrecomputeReferenceHook; an instance may decide it from its arguments).
- **Is given** a :class:`LossInputs`: ``policy`` (a SequenceLogps: every scored token's
  log-prob, the sequence it belongs to, per-sequence sums and lengths, with gradients),
  ``reference`` (``[sequences]``, when needed), ``scores`` (reward heads), and ``batch``
  (the collated batch, for labels such as KTO's ``desirable``).
- **Returns** an object with ``loss`` (a mean over the micro-batch's units, e.g. pairs) and
  ``metrics()`` (names without 'loss'); :meth:`Loss.rewards` gives per-sequence rewards for
  held-out preference accuracy.

A policy-gradient loss (GRPO family, RLOO: policy_gradient.py) is one more registered class
with ``inputs = 'rollouts'`` and ``reduction = 'token'``: it reads ``policy.token_logps``
and ``policy.token_sequence`` (per-token log-probs and the completion each belongs to; the
completion mask is implicit, only scored tokens are there), and from ``batch`` the rollout:
``old_token_logps`` and ``reference_token_logps`` (``[scored tokens]``, kept at generation
time; the reference may come as ``LossInputs.reference`` in that layout) and ``advantages``
(``[sequences]``, from rewards by the loss's own ``advantages(rewards, group_size)``).
``needs_reference`` is ``beta != 0``. It returns the clipped surrogate loss with kl and
clip_ratio metrics. The preference and reward models refuse it (they give no rollouts);
the online-RL model (issue 26) is the one that will.

Adding a loss: one class in a module here (imported below), one parity case in
tests/model/losses/, and a recipe (or a recipe's ``--cfg-options loss.type=...``) that
selects it (tests/model/losses/test_registry.py checks both for every registered name).
"""
from __future__ import annotations

from typing import Any, Mapping

from ...errors import ConfigError
from ...registry import LOSSES
from ...utils.build import build
from . import policy_gradient, preference  # noqa: F401  (register the losses)
from .base import Loss, LossInputs, LossOutput, PreferenceLoss

__all__ = ['LOSSES', 'Loss', 'LossInputs', 'LossOutput', 'PreferenceLoss', 'build_loss']


def build_loss(spec: Any) -> Loss:
    """``dict(type='DPOLoss', beta=0.1)`` (a registered name, a class or a dotted path), a
    bare name, or a built :class:`Loss` -> the loss object (unknown arguments: ConfigError
    with close names)."""
    if isinstance(spec, Loss):
        return spec
    if isinstance(spec, str):
        spec = {'type': spec}
    if not isinstance(spec, Mapping) or 'type' not in spec:
        raise ConfigError(f"loss={spec!r}: write loss=dict(type=<one of {', '.join(LOSSES)}>, "
                          '...)')
    type_ = spec['type']
    if isinstance(type_, str) and '.' not in type_:
        type_ = LOSSES.get(type_)
    loss = build({**spec, 'type': type_})
    if not isinstance(loss, Loss):
        raise ConfigError(f'loss type {spec["type"]!r} built a {type(loss).__name__}, not a '
                          'Loss (xtuner_like.model.losses.base.Loss)')
    return loss
