"""Policy-gradient losses: advantages, and parity with trl 1.16's GRPOTrainer / RLOOTrainer.

Each parity test builds trl's trainer on a tiny random Llama (saved to a folder: trl loads the
reference from the model's path), lets trl generate and score a batch (a reward function that
records what it returned), then makes the policy differ from its reference and from the
generation-time policy (so KL and clipping are not trivially 0), ends two completions early
(as an end-of-turn would), and compares trl's ``_compute_loss`` and logged metrics with our
loss object on the same per-token log-probs (flattened to our token layout): loss,
advantages, kl, clip ratios (1e-5).
"""
from __future__ import annotations

import math

import pytest
import torch

from xtuner_like.model.losses import LossInputs, build_loss
from xtuner_like.model.losses.policy_gradient import (
    group_advantages, nanstd, rloo_advantages)
from xtuner_like.model.sequence_logps import SequenceLogps

from ...conftest import make_tiny_llama, make_tiny_tokenizer

TOL = 1e-5
PARITY: dict[str, list[str]] = {}  # registered loss name -> the parity tests that cover it


def covers(*names: str):
    def mark(test):
        for name in names:
            PARITY.setdefault(name, []).append(test.__name__)
        return test
    return mark


def _close(ours: float, theirs: float, name: str) -> None:
    assert math.isclose(ours, theirs, rel_tol=TOL, abs_tol=TOL), f'{name}: {ours} vs trl {theirs}'


# ---- advantages -----------------------------------------------------------------------------

def test_group_advantages_standardise_within_each_group():
    rewards = torch.tensor([1.0, 3.0, 2.0, 2.0])
    adv = group_advantages(rewards, 2)
    assert torch.allclose(adv, torch.tensor([-1, 1, 0, 0]) / (2 ** 0.5 + 1e-4))
    assert group_advantages(rewards, 2, 'none').tolist() == [-1.0, 1.0, 0.0, 0.0]
    batch = group_advantages(rewards, 2, 'batch')
    assert torch.allclose(batch, torch.tensor([-1.0, 1, 0, 0]) / (rewards.std() + 1e-4))


def test_unscorable_completions_are_left_out_and_get_zero_advantage():
    rewards = torch.tensor([1.0, float('nan'), 3.0, 0.0, 2.0, 4.0])
    adv = group_advantages(rewards, 3, 'none')
    assert adv.tolist() == [-1.0, 0.0, 1.0, -2.0, 0.0, 2.0]
    assert rloo_advantages(rewards, 3).tolist() == [-2.0, 0.0, 2.0, -3.0, 0.0, 3.0]
    assert math.isnan(float(nanstd(torch.tensor([1.0]))))


def test_rloo_baseline_leaves_the_completion_out():
    rewards = torch.tensor([1.0, 2.0, 6.0])
    assert rloo_advantages(rewards, 3).tolist() == [-3.0, -1.5, 4.5]


def test_beta_zero_needs_no_reference():
    assert not build_loss('GRPOLoss').needs_reference
    assert build_loss(dict(type='DAPOLoss', beta=0.04)).needs_reference
    with pytest.raises(ValueError, match="scale_rewards='grup'"):
        build_loss(dict(type='GRPOLoss', scale_rewards='grup'))


# ---- parity with trl --------------------------------------------------------------------------

@pytest.fixture(scope='module')
def trl():
    return pytest.importorskip('trl',
                               reason='trl is a test-only dependency (requirements/test.txt)')


@pytest.fixture(scope='module')
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp('tiny')
    tok = make_tiny_tokenizer()
    make_tiny_llama(len(tok), seed=0).save_pretrained(path)
    tok.save_pretrained(path)
    return path


PROMPTS = [dict(prompt=f'Who are you{"?" * (i + 1)}') for i in range(3)]
G = 2  # completions per prompt


def _trainer(trainer_cls, config_cls, model_dir, tmp_path, rewards, **kw):
    from datasets import Dataset

    def reward_fn(completions, **_):
        values = [float(len(c) % 7) + 0.5 * i for i, c in enumerate(completions)]
        rewards.extend(values)
        return values
    args = config_cls(output_dir=str(tmp_path), per_device_train_batch_size=G * len(PROMPTS),
                      num_generations=G, max_completion_length=6, use_cpu=True, bf16=False,
                      report_to=[], seed=0, dataloader_num_workers=0, **kw)
    trainer = trainer_cls(str(model_dir), reward_funcs=reward_fn, args=args,
                          train_dataset=Dataset.from_list(PROMPTS),
                          processing_class=make_tiny_tokenizer())
    trainer.model.eval()
    return trainer


def _rollout(trainer):
    """trl generates and scores; then the policy moves and two completions end early."""
    out = trainer._generate_and_score_completions([p for p in PROMPTS for _ in range(G)])
    torch.manual_seed(1)
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    mask = out['completion_mask'].clone()
    mask[1, -2:] = 0
    mask[4, -3:] = 0
    out['completion_mask'] = mask
    return out


def _token_logps(trainer, model, out) -> torch.Tensor:
    ids = torch.cat([out['prompt_ids'], out['completion_ids']], 1)
    attention = torch.cat([out['prompt_mask'], out['completion_mask']], 1)
    with torch.no_grad():
        return trainer._get_per_token_logps_and_entropies(
            model, ids, attention, out['completion_ids'].shape[1])[0]


def _ours(per_token: torch.Tensor, mask: torch.Tensor) -> SequenceLogps:
    """trl's padded ``[B, C]`` per-token log-probs -> our flat token layout."""
    keep = mask.bool()
    sequence = torch.arange(mask.shape[0])[:, None].expand_as(mask)[keep]
    tokens = keep.sum(1)
    logps = per_token.new_zeros(mask.shape[0]).index_add(0, sequence, per_token[keep])
    return SequenceLogps(per_token[keep], sequence, logps, tokens)


@covers('GRPOLoss', 'DrGRPOLoss', 'DAPOLoss', 'BNPOLoss')
@pytest.mark.parametrize('name,loss_type,kw', [
    ('GRPOLoss', 'grpo', {}), ('BNPOLoss', 'bnpo', {}),
    ('DrGRPOLoss', 'dr_grpo', {'scale_rewards': 'none'}), ('DAPOLoss', 'dapo', {}),
    ('GRPOLoss', 'grpo', {'scale_rewards': 'batch', 'beta': 0.0})])
def test_grpo_family_matches_trl_grpo_trainer(trl, model_dir, tmp_path, name, loss_type, kw):
    kw = {'beta': 0.04, 'epsilon': 0.2, 'epsilon_high': 0.28, **kw}
    rewards: list[float] = []
    trainer = _trainer(trl.GRPOTrainer, trl.GRPOConfig, model_dir, tmp_path, rewards,
                       loss_type=loss_type, **kw)
    extra = {'max_completion_length': 6} if name == 'DrGRPOLoss' else {}
    loss_fn = build_loss(dict(type=name, **kw, **extra))
    out = _rollout(trainer)
    advantages = loss_fn.advantages(torch.tensor(rewards), G)
    assert torch.allclose(advantages, out['advantages'], atol=TOL, rtol=0)
    mask = out['completion_mask']
    policy = _token_logps(trainer, trainer.model, out)
    old = policy + 0.3 * torch.randn_like(policy)  # the generation-time policy: ratios clip
    out.update(old_per_token_logps=old, num_items_in_batch=mask.sum())
    with torch.no_grad():
        loss = float(trainer._compute_loss(trainer.model, out))
    theirs = {k: v[-1] for k, v in trainer._metrics['eval'].items()}
    keep = mask.bool()
    batch = {'advantages': advantages, 'old_token_logps': old[keep],
             'num_items_in_batch': mask.sum()}
    if loss_fn.needs_reference:
        batch['reference_token_logps'] = out['ref_per_token_logps'][keep]
    ours = loss_fn(LossInputs(policy=_ours(policy, mask), batch=batch))
    _close(float(ours.loss), loss, 'loss')
    metrics = ours.metrics()
    assert 0 < metrics['clip_ratio/region_mean'] < 1
    for key in ('clip_ratio/low_mean', 'clip_ratio/high_mean', 'clip_ratio/region_mean',
                *(['kl'] if kw['beta'] else [])):
        _close(metrics[key], theirs[key], key)
    assert ('kl' in metrics) == bool(kw['beta'])


@covers('RLOOLoss')
@pytest.mark.parametrize('normalize', [False, True])
def test_rloo_matches_trl_rloo_trainer(trl, model_dir, tmp_path, normalize):
    rewards: list[float] = []
    kw = dict(beta=0.05, epsilon=0.2, epsilon_high=0.28, normalize_advantages=normalize)
    trainer = _trainer(trl.RLOOTrainer, trl.RLOOConfig, model_dir, tmp_path, rewards, **kw)
    # trl scores with the policy and the reference before the policy moves (as _rollout does)
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    before = trainer._generate_and_score_completions([p for p in PROMPTS for _ in range(G)])
    full = before['completion_mask']
    old_tokens = _token_logps(trainer, trainer.model, before)
    ref_tokens = _token_logps(trainer, trainer.ref_model, before)
    loss_fn = build_loss(dict(type='RLOOLoss', **kw))
    kl = ((old_tokens - ref_tokens) * full).sum(1)
    advantages = loss_fn.advantages(torch.tensor(rewards), G, kl=kl)
    assert torch.allclose(advantages, before['advantages'], atol=TOL, rtol=0)
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    with torch.no_grad():
        loss = float(trainer._compute_loss(trainer.model, before))
    theirs = {k: v[-1] for k, v in trainer._metrics['eval'].items()}
    policy = _token_logps(trainer, trainer.model, before)
    ours = loss_fn(LossInputs(policy=_ours(policy, full),
                              batch={'advantages': advantages, 'old_logps': before['old_logps']}))
    _close(float(ours.loss), loss, 'loss')
    for key in ('clip_ratio/low_mean', 'clip_ratio/high_mean', 'clip_ratio/region_mean'):
        _close(ours.metrics()[key], theirs[key], key)
