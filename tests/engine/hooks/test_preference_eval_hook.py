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
                      'ties': 0, 'pairs': 3}
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


def test_ties_count_half_so_an_untrained_policy_reads_50_percent():
    """At step 0 the policy equals the reference: every margin is 0 (issue 23, 5)."""
    tied = [pair(3, 3), pair(5, 5), pair(7, 2), pair(1, 4)]
    result = PreferenceEvalHook(tied).evaluate(FirstTokenScorer())
    assert result == {'accuracy': pytest.approx(0.5), 'margin': pytest.approx(0.5), 'ties': 2,
                      'pairs': 4}


def test_kto_rows_score_the_share_whose_reward_has_the_labels_sign():
    rows = [dict(pair(2, 9), desirable=True), dict(pair(-1, 9), desirable=True),
            dict(pair(-3, 9), desirable=False), dict(pair(0, 9), desirable=False)]
    result = PreferenceEvalHook(rows).evaluate(FirstTokenScorer())
    assert result['accuracy'] == pytest.approx((1 + 0 + 1 + 0.5) / 4) and result['ties'] == 1


def test_heldout_evaluates_the_held_out_rows_of_the_users_own_data(tmp_path, caplog,
                                                                   tiny_tokenizer):
    """'heldout' reads the training dataset dict of the run's config: pointing data_files at
    your own pairs evaluates your pairs, and the log names them (issue 23, 5)."""
    from mmengine.config import Config

    from xtuner_like.dataset import build_dataset
    path = tmp_path / 'mine.json'
    path.write_text(json.dumps([{'prompt': f'Q{i}', 'chosen': f'Yes {i}', 'rejected': 'No'}
                                for i in range(10)]))
    dataset = dict(type=build_dataset, tokenizer=tiny_tokenizer, data_files=str(path),
                   dataset_map_fn='plain_preference', row_type='preference', max_length=64,
                   holdout=0.2, pack_to_max_length=False, cache_dir=str(tmp_path / 'c'))
    scalars = []
    runner = SimpleNamespace(
        model=FirstTokenScorer(), logger=logging.getLogger('pref_heldout_test'),
        work_dir=str(tmp_path), iter=0, cfg=Config(dict(train_dataloader=dict(dataset=dataset))),
        visualizer=SimpleNamespace(add_scalars=lambda values, step: scalars.append(values)))
    hook = PreferenceEvalHook('heldout')
    with caplog.at_level(logging.INFO, logger='pref_heldout_test'):
        hook.before_train(runner)
    assert len(hook.dataset) == 2      # rows 4 and 9 of 10
    texts = [tiny_tokenizer.decode(hook.dataset[i]['input_ids']) for i in range(2)]
    assert 'Q4' in texts[0] and 'Q9' in texts[1]
    assert f'on 2 pairs: the held-out rows (20%, evenly spread) of {path}' in caplog.text
    record = json.loads((tmp_path / 'eval_preference.jsonl').read_text())
    assert record['pairs'] == 2 and str(path) in record['data']


def test_heldout_without_held_out_rows_is_off_and_says_how_to_turn_it_on(tmp_path, caplog):
    from mmengine.config import Config
    runner = SimpleNamespace(
        model=FirstTokenScorer(), logger=logging.getLogger('pref_off_test'),
        work_dir=str(tmp_path), iter=0,
        cfg=Config(dict(train_dataloader=dict(dataset=dict(type='x', data_files='a.json')))))
    hook = PreferenceEvalHook('heldout')
    with caplog.at_level(logging.INFO, logger='pref_off_test'):
        hook.before_train(runner)
        hook.after_train(runner)
    assert hook.dataset is None and 'set holdout=0.1' in caplog.text
    assert not (tmp_path / 'eval_preference.jsonl').exists()
