"""PreferenceEvalHook: held-out accuracy and margin, batching, and what it logs and writes."""
from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest
import torch

from xtuner_like.engine.hooks import PreferenceEvalHook


def pair(chosen_first: int, rejected_first: int) -> dict:
    """One unpacked pair: two 3-token sequences whose first ids are their rewards."""
    ids = [chosen_first, 9, 9, rejected_first, 9, 9]
    return {'input_ids': ids, 'labels': ids, 'position_ids': [0, 1, 2, 0, 1, 2]}


class FirstTokenScorer(torch.nn.Module):
    """``pair_rewards``: each sequence's reward is its first token id."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.modes = []

    def pair_rewards(self, batch):
        self.modes.append(self.training)
        starts = (batch['position_ids'][0] == 0).nonzero().flatten()
        firsts = batch['input_ids'][0][starts].float()
        return firsts[0::2], firsts[1::2]


PAIRS = [pair(5, 3), pair(1, 4), pair(7, 2)]   # margins 2, -3, 5


@pytest.mark.parametrize('batch_size', [1, 2, 8])
def test_accuracy_and_margin_over_every_pair_in_eval_mode(batch_size):
    model = FirstTokenScorer()
    result = PreferenceEvalHook(PAIRS, batch_size=batch_size).evaluate(model)
    assert result == {'accuracy': pytest.approx(2 / 3), 'margin': pytest.approx(4 / 3),
                      'pairs': 3}
    assert model.modes and not any(model.modes) and model.training   # eval, then restored


def test_before_during_and_after_training_are_logged_and_written(tmp_path, caplog):
    scalars = []
    model = FirstTokenScorer()
    runner = SimpleNamespace(model=model, logger=logging.getLogger('pref_eval_test'),
                             work_dir=str(tmp_path), iter=0,
                             visualizer=SimpleNamespace(
                                 add_scalars=lambda values, step: scalars.append((step, values))))
    hook = PreferenceEvalHook(PAIRS, batch_size=2, every_n_iters=2)
    with caplog.at_level(logging.INFO, logger='pref_eval_test'):
        hook.before_train(runner)
        for runner.iter in range(4):
            hook.after_train_iter(runner, runner.iter)
        hook.after_train(runner)
    records = [json.loads(line) for line in (tmp_path / 'eval_preference.jsonl').open()]
    assert [r['when'] for r in records] == ['before training', 'iter 2', 'iter 4',
                                            'after training']
    assert all(r['accuracy'] == pytest.approx(2 / 3) and r['pairs'] == 3 for r in records)
    assert [step for step, _ in scalars] == [0, 1, 3, 3]
    assert set(scalars[0][1]) == {'heldout/accuracy', 'heldout/margin'}
    assert 'accuracy 66.7%' in caplog.text


def test_no_dataset_turns_the_hook_off(tmp_path):
    runner = SimpleNamespace(model=FirstTokenScorer(), work_dir=str(tmp_path), iter=0)
    hook = PreferenceEvalHook(None, every_n_iters=1)
    hook.before_train(runner)
    hook.after_train_iter(runner, 0)
    hook.after_train(runner)
    assert not (tmp_path / 'eval_preference.jsonl').exists()
