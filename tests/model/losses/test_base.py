"""The loss interface: declarations, the reduction a loss reads, the metrics it logs."""
from __future__ import annotations

import pytest
import torch

from xtuner_like.errors import ConfigError
from xtuner_like.model.losses.base import (
    Loss, LossInputs, PreferenceLoss, check_model_inputs)
from xtuner_like.model.sequence_logps import SequenceLogps

POLICY = SequenceLogps(token_logps=torch.tensor([-1.0, -2.0, -3.0]),
                       token_sequence=torch.tensor([0, 0, 1]),
                       logps=torch.tensor([-3.0, -3.0]), tokens=torch.tensor([2, 1]))


class MeanLoss(Loss):
    reduction = 'mean'


def test_a_loss_reads_the_reduction_it_declares():
    assert Loss().sequence_logps(POLICY).tolist() == [-3.0, -3.0]
    assert MeanLoss().sequence_logps(POLICY).tolist() == [-1.5, -3.0]


def test_the_defaults_are_a_log_prob_loss_without_reference():
    loss = Loss()
    assert (loss.inputs, loss.reduction, loss.needs_reference) == ('logps', 'sum', False)
    with pytest.raises(NotImplementedError):
        loss(LossInputs(policy=POLICY))


def test_paired_metrics_have_margins_and_accuracy():
    out = PreferenceLoss(torch.tensor(1.0), torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]),
                         None, None)
    assert out.metrics() == {'rewards/chosen': 0.5, 'rewards/rejected': 0.5,
                             'rewards/margins': 0.0, 'rewards/accuracy': 0.5}


def test_a_model_refuses_a_loss_of_the_other_inputs():
    check_model_inputs(Loss(), 'logps', 'PreferenceFinetune')
    with pytest.raises(ConfigError, match='Loss takes logps, which RewardModel does not give; '
                                          r'train it with PreferenceFinetune \(configs/'):
        check_model_inputs(Loss(), 'scores', 'RewardModel')
