"""Preference losses: formulas, and parity with trl's trainers on the same tiny model and batch.

Each parity test builds trl's own trainer on a tiny random Llama (policy) and a second one
(reference, so rewards are not 0), takes trl's first batch, lets trl compute its loss and
metrics, then computes ours from the same tokens packed into one row (model/sequence_logps.py)
and compares: loss, rewards/chosen, rewards/rejected, margins, accuracy, log-probs (1e-5).
Every parity test names the registered losses it covers (``@covers``): PARITY is checked to
hold every registered name by tests/model/losses/test_registry.py.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from xtuner_like.errors import ConfigError, UnknownNameError
from xtuner_like.model.losses import LossInputs, PreferenceLoss, build_loss
from xtuner_like.model.losses.preference import chosen_nll, kto_kl
from xtuner_like.model.sequence_logps import SequenceLogps, last_token_index

from ...conftest import make_tiny_llama, make_tiny_tokenizer
from ..preference_helpers import interleave_pairs, pack_sequences, packed_logps, unpad

TOL = 1e-5
PARITY: dict[str, list[str]] = {}  # registered loss name -> the parity tests that cover it


def covers(*names: str):
    """Mark a parity test as covering the registered losses ``names``."""
    def mark(test):
        for name in names:
            PARITY.setdefault(name, []).append(test.__name__)
        return test
    return mark


def loss_of(type_: str, **kw):
    return build_loss(dict(type=type_, **kw))


def pair_inputs(chosen, rejected, reference_chosen=None, reference_rejected=None, tokens=None):
    """Per-pair sums -> LossInputs over interleaved sequences (chosen0, rejected0, ...)."""
    logps = torch.stack([chosen, rejected], 1).flatten()
    tokens = torch.ones_like(logps, dtype=torch.long) if tokens is None else tokens
    policy = SequenceLogps(logps.new_zeros(0), tokens.new_zeros(0), logps, tokens)
    reference = None if reference_chosen is None else torch.stack(
        [reference_chosen, reference_rejected], 1).flatten()
    return LossInputs(policy=policy, reference=reference)


def _pairs(n: int = 4) -> list[dict]:
    """Prompts and replies of different lengths, so packing and padding both matter."""
    return [dict(prompt=f'Who are you?{" Tell me." * (i % 3)}',
                 chosen=' I am Tuna, an assistant.' + ' Yes.' * i,
                 rejected=' The quick brown fox' * (1 + i % 2)) for i in range(n)]


def _close(ours: float, theirs: float, name: str) -> None:
    assert math.isclose(ours, theirs, rel_tol=TOL, abs_tol=TOL), f'{name}: {ours} vs trl {theirs}'


# ---- formulas -----------------------------------------------------------------------------------

def test_dpo_sigmoid_is_negative_log_sigmoid_of_scaled_margin():
    pc, pr, rc, rr = (torch.randn(6) for _ in range(4))
    out = loss_of('DPOLoss', beta=0.2)(pair_inputs(pc, pr, rc, rr))
    expected = -F.logsigmoid(0.2 * ((pc - rc) - (pr - rr))).mean()
    assert torch.allclose(out.loss, expected)
    metrics = out.metrics()
    assert metrics['rewards/accuracy'] == float(((pc - rc) > (pr - rr)).float().mean())
    _close(metrics['rewards/margins'], metrics['rewards/chosen'] - metrics['rewards/rejected'],
           'margins')


@pytest.mark.parametrize('name', ['DPOLoss', 'RobustDPOLoss', 'HingeLoss', 'IPOLoss'])
def test_every_dpo_loss_falls_when_chosen_gains(name):
    """The general rule: raising the chosen log-prob lowers (or keeps) each loss."""
    pc, pr, rc, rr = (torch.randn(5) for _ in range(4))
    tokens = torch.full((10,), 7)
    loss_fn = loss_of(name, beta=0.5, label_smoothing=0.1 if name == 'RobustDPOLoss' else 0)
    pc = pc.requires_grad_()
    loss = loss_fn(pair_inputs(pc, pr, rc, rr, tokens=tokens)).loss
    (grad,) = torch.autograd.grad(loss, pc)
    assert (grad <= 0).all()


def test_unknown_loss_name_suggests_the_close_one():
    with pytest.raises(UnknownNameError, match="no loss 'DPOLos'; did you mean 'DPOLoss'"):
        loss_of('DPOLos')


@pytest.mark.parametrize('name', ['HingeLoss', 'IPOLoss'])
def test_losses_without_label_smoothing_refuse_it(name):
    with pytest.raises(ConfigError, match=f'{name} takes no label_smoothing'):
        loss_of(name, label_smoothing=0.1)


def test_simpo_gamma_is_the_target_margin():
    c, r = torch.tensor([-1.0]), torch.tensor([-1.25])
    out = loss_of('SimPOLoss', beta=2.0, gamma=0.5)(pair_inputs(c, r))
    assert torch.allclose(out.loss, -F.logsigmoid(torch.tensor(0.0)))  # 2 * 0.25 - 0.5 = 0


def test_kto_rows_split_by_label_and_kl_is_non_negative():
    logps, ref = torch.tensor([-3.0, -4.0, -5.0]), torch.tensor([-3.5, -3.0, -5.0])
    desirable = torch.tensor([True, False, True])
    assert kto_kl(torch.tensor([-9.0]), torch.tensor([-1.0])) == 0
    out = loss_of('KTOLoss', beta=1.0).row_loss(logps, ref, desirable, torch.tensor(0.0))
    assert out.chosen_rewards.tolist() == [0.5, 0.0] and out.rejected_rewards.tolist() == [-1.0]
    assert 'rewards/accuracy' not in out.metrics()


def test_bradley_terry_margin_and_centering():
    c, r = torch.tensor([2.0, 0.0]), torch.tensor([1.0, 1.0])
    plain = loss_of('BradleyTerryLoss')(LossInputs(scores=torch.stack([c, r], 1).flatten())).loss
    assert torch.allclose(plain, -F.logsigmoid(c - r).mean())
    assert loss_of('BradleyTerryLoss').pair_loss(c, r, margin=torch.ones(2)).loss > plain
    centred = loss_of('BradleyTerryLoss', center_rewards_coefficient=0.1).pair_loss(c, r).loss
    assert torch.allclose(centred, plain + 0.1 * ((c + r) ** 2).mean())


def test_chosen_nll_is_the_mean_over_chosen_tokens():
    logps = torch.tensor([-1.0, -2.0, -3.0])
    assert chosen_nll(logps, torch.tensor([True, False, True])) == 2.0
    assert chosen_nll(logps, torch.zeros(3, dtype=torch.bool)) == 0


def test_metrics_of_an_empty_side_are_left_out():
    empty = torch.zeros(0)
    out = PreferenceLoss(torch.tensor(0.0), torch.ones(2), empty, torch.ones(2), empty,
                         paired=False)
    assert set(out.metrics()) == {'rewards/chosen', 'logps/chosen'}


# ---- parity with trl --------------------------------------------------------------------------

@pytest.fixture(scope='module')
def trl():
    return pytest.importorskip('trl', reason='trl is a test-only dependency (requirements/test.txt)')


@pytest.fixture(scope='module')
def tiny():
    tok = make_tiny_tokenizer()
    return tok, make_tiny_llama(len(tok), seed=0).eval(), make_tiny_llama(len(tok), seed=1).eval()


def _args(config_cls, tmp_path, batch_size=4, **kw):
    # bf16=False: trl defaults to bf16 autocast, which on the CPU reaches the reference only.
    return config_cls(output_dir=str(tmp_path), per_device_train_batch_size=batch_size, report_to=[],
                      use_cpu=True, dataloader_num_workers=0, seed=0, bf16=False, **kw)


def _trl_dpo(trl, tiny, tmp_path, rows, **kw):
    """trl's loss and logged metrics on its first batch, and the batch itself."""
    from datasets import Dataset
    tok, policy, reference = tiny
    trainer = trl.DPOTrainer(policy, ref_model=reference, args=_args(trl.DPOConfig, tmp_path, **kw),
                             train_dataset=Dataset.from_list(rows), processing_class=tok)
    return (*_trl_first_batch(trainer), trainer.model)


def _trl_first_batch(trainer) -> tuple[float, dict, dict]:
    """trl's loss and its logged metrics on the trainer's first batch, and that batch."""
    batch = next(iter(trainer.get_train_dataloader()))
    trainer.model.eval()
    with torch.no_grad():
        loss = float(trainer.compute_loss(trainer.model, dict(batch)))
    return loss, {k: v[-1] for k, v in trainer._metrics['eval'].items()}, batch


def _our_dpo(policy, reference, batch, name='DPOLoss', **kw):
    packed = interleave_pairs(batch['input_ids'], batch['attention_mask'],
                              batch['completion_mask'])
    with torch.no_grad():
        pol, ref = packed_logps(policy, packed), packed_logps(reference, packed)
    out = loss_of(name, **kw)(LossInputs(policy=pol, reference=ref.logps))
    return out, pol


DPO_METRICS = {'rewards/chosen': 'rewards/chosen', 'rewards/rejected': 'rewards/rejected',
               'rewards/margins': 'rewards/margins', 'rewards/accuracy': 'rewards/accuracies',
               'logps/chosen': 'logps/chosen', 'logps/rejected': 'logps/rejected'}


@covers('DPOLoss', 'RobustDPOLoss', 'HingeLoss', 'IPOLoss')
@pytest.mark.parametrize('name,loss_type,label_smoothing', [
    ('DPOLoss', 'sigmoid', 0.0), ('RobustDPOLoss', 'robust', 0.2), ('HingeLoss', 'hinge', 0.0),
    ('IPOLoss', 'ipo', 0.0)])
def test_dpo_matches_trl_dpo_trainer(trl, tiny, tmp_path, name, loss_type, label_smoothing):
    loss, theirs, batch, policy = _trl_dpo(trl, tiny, tmp_path, _pairs(), beta=0.3,
                                           loss_type=[loss_type], label_smoothing=label_smoothing)
    ours, _ = _our_dpo(policy, tiny[2], batch, name, beta=0.3, label_smoothing=label_smoothing)
    _close(float(ours.loss), loss, 'loss')
    for mine, their_name in DPO_METRICS.items():
        _close(ours.metrics()[mine], theirs[their_name], mine)


@covers('DPOLoss')
def test_conservative_dpo_matches_trl_on_both_label_orders(trl, tiny, tmp_path):
    """trl 1.16's 'sigmoid' has no label smoothing; cDPO with eps is (1-eps) * DPO(pairs) +
    eps * DPO(pairs with chosen and rejected swapped), both computed by trl's DPOTrainer."""
    eps, rows = 0.15, _pairs()
    swapped = [dict(r, chosen=r['rejected'], rejected=r['chosen']) for r in rows]
    straight, _, batch, policy = _trl_dpo(trl, tiny, tmp_path, rows, beta=0.3)
    flipped = _trl_dpo(trl, tiny, tmp_path / 'swapped', swapped, beta=0.3)[0]
    ours, _ = _our_dpo(policy, tiny[2], batch, beta=0.3, label_smoothing=eps)
    _close(float(ours.loss), (1 - eps) * straight + eps * flipped, 'loss')


@covers('DPOLoss')
def test_rpo_alpha_sft_term_matches_trl(trl, tiny, tmp_path):
    """Our rpo_alpha term (mean NLL of chosen reply tokens) == trl's 'sft' loss type."""
    alpha = 0.7
    loss, _, batch, policy = _trl_dpo(trl, tiny, tmp_path, _pairs(), beta=0.3,
                                      loss_type=['sigmoid', 'sft'], loss_weights=[1.0, alpha])
    ours, pol = _our_dpo(policy, tiny[2], batch, beta=0.3, rpo_alpha=alpha)
    _close(float(ours.loss), loss, 'loss')
    plain, _ = _our_dpo(policy, tiny[2], batch, beta=0.3)
    is_chosen = pol.token_sequence % 2 == 0
    _close(float(plain.loss + alpha * chosen_nll(pol.token_logps, is_chosen)), loss, 'loss')


@covers('KTOLoss')
def test_kto_matches_trl_kto_trainer(trl, tiny, tmp_path):
    from datasets import Dataset
    tok, policy, reference = tiny
    rows = [dict(prompt=p['prompt'], completion=p['chosen' if i % 3 else 'rejected'],
                 label=bool(i % 3)) for i, p in enumerate(_pairs(6))]
    trainer = trl.KTOTrainer(policy, ref_model=reference,
                             args=_args(trl.KTOConfig, tmp_path, beta=0.2, desirable_weight=1.3,
                                        undesirable_weight=0.8, batch_size=6),
                             train_dataset=Dataset.from_list(rows), processing_class=tok)
    loss, theirs, batch = _trl_first_batch(trainer)
    kto = loss_of('KTOLoss', beta=0.2, desirable_weight=1.3, undesirable_weight=0.8)
    with torch.no_grad():
        main, kl_rows = ([unpad(*(batch[f'{p}{k}'][i] for k in (
            'input_ids', 'attention_mask', 'completion_mask'))) for i in range(6)]
            for p in ('', 'KL_'))
        # Our rows: each row's sequence, then its mismatched KL sequence, in one pack.
        packed = pack_sequences([seq for pair in zip(main, kl_rows) for seq in pair])
        ours = kto(LossInputs(policy=packed_logps(trainer.model, packed),
                              reference=packed_logps(reference, packed).logps,
                              batch={'desirable': batch['label']}))
        kl_rows, main = pack_sequences(kl_rows), pack_sequences(main)
        kl = kto_kl(packed_logps(trainer.model, kl_rows).logps, packed_logps(reference, kl_rows).logps)
        pol, ref = packed_logps(trainer.model, main), packed_logps(reference, main)
    _close(float(ours.loss), loss, 'loss')
    _close(float(kto.row_loss(pol.logps, ref.logps, batch['label'], kl).loss), loss, 'row loss')
    _close(float(kl), theirs['kl'], 'kl')
    for name in ('rewards/chosen', 'rewards/rejected', 'rewards/margins', 'logps/chosen',
                 'logps/rejected'):
        _close(ours.metrics()[name], theirs[name], name)


def _orpo_batch(trainer):
    """trl's ORPO/CPO batch -> our packed row (chosen0, rejected0, ...) and a full-text twin."""
    batch = next(iter(trainer.get_train_dataloader()))
    seqs, full = [], []
    for i in range(batch['chosen_input_ids'].shape[0]):
        for side in ('chosen', 'rejected'):
            mask = batch[f'{side}_attention_mask'][i]
            scored = batch[f'{side}_labels'][i][:mask.shape[0]] != -100
            seqs.append(unpad(batch[f'{side}_input_ids'][i], mask, scored))
            full.append(unpad(batch[f'{side}_input_ids'][i], mask, mask))
    return batch, pack_sequences(seqs), pack_sequences(full)


@covers('ORPOLoss')
def test_orpo_matches_trl_orpo_trainer(trl, tiny, tmp_path):
    """Same odds-ratio term and rewards. trl's NLL term covers prompt + reply of the chosen
    sequence; ours covers the reply only, so the total is compared with trl's span fed in."""
    from datasets import Dataset
    from trl.experimental.orpo import ORPOConfig, ORPOTrainer
    tok, policy, _ = tiny
    trainer = ORPOTrainer(policy, args=_args(ORPOConfig, tmp_path, beta=0.25, max_length=128),
                          train_dataset=Dataset.from_list(_pairs()), processing_class=tok)
    batch, packed, full = _orpo_batch(trainer)
    trainer.model.eval()
    with torch.no_grad():
        loss, theirs = trainer.get_batch_loss_metrics(trainer.model, batch)
        pol, whole = packed_logps(trainer.model, packed), packed_logps(trainer.model, full)
    full_nll = chosen_nll(whole.token_logps, whole.token_sequence % 2 == 0)
    ours = loss_of('ORPOLoss', beta=0.25).odds_ratio_loss(pol.mean_logps[0::2],
                                                        pol.mean_logps[1::2], full_nll)
    _close(float(ours.loss), float(loss), 'loss')
    for mine, their_name in DPO_METRICS.items():
        _close(ours.metrics()[mine], theirs[their_name], mine)


@covers('SimPOLoss')
def test_simpo_matches_trl_cpo_trainer(trl, tiny, tmp_path):
    from datasets import Dataset
    from trl.experimental.cpo import CPOConfig, CPOTrainer
    tok, policy, _ = tiny
    args = _args(CPOConfig, tmp_path, loss_type='simpo', beta=2.0, simpo_gamma=0.7,
                 cpo_alpha=0.0, label_smoothing=0.1, max_length=128)
    trainer = CPOTrainer(policy, args=args, train_dataset=Dataset.from_list(_pairs()),
                         processing_class=tok)
    batch, packed, _ = _orpo_batch(trainer)
    trainer.model.eval()
    with torch.no_grad():
        loss, theirs = trainer.get_batch_loss_metrics(trainer.model, batch)
        pol = packed_logps(trainer.model, packed)
    ours = loss_of('SimPOLoss', beta=2.0, gamma=0.7, label_smoothing=0.1)(LossInputs(policy=pol))
    _close(float(ours.loss), float(loss), 'loss')
    for mine, their_name in DPO_METRICS.items():
        _close(ours.metrics()[mine], theirs[their_name], mine)


@covers('BradleyTerryLoss')
def test_bradley_terry_matches_trl_reward_trainer(trl, tmp_path):
    from datasets import Dataset
    from transformers import LlamaConfig, LlamaForSequenceClassification
    tok = make_tiny_tokenizer()
    base = make_tiny_llama(len(tok)).config.to_dict()
    base.update(num_labels=1, pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    model = LlamaForSequenceClassification(LlamaConfig(**base)).eval()
    rows = [dict(chosen=p['prompt'] + p['chosen'], rejected=p['prompt'] + p['rejected'])
            for p in _pairs()]
    trainer = trl.RewardTrainer(model, args=_args(trl.RewardConfig, tmp_path,
                                                  center_rewards_coefficient=0.05),
                                train_dataset=Dataset.from_list(rows), processing_class=tok)
    loss, theirs, batch = _trl_first_batch(trainer)
    with torch.no_grad():
        mask = batch['attention_mask']
        packed = interleave_pairs(batch['input_ids'], mask, mask)
        hidden = model.model(input_ids=packed['input_ids'], position_ids=packed['position_ids'],
                             use_cache=False).last_hidden_state
        scores = model.score(hidden.flatten(0, 1)[last_token_index(packed['position_ids'])])[:, 0]
    ours = loss_of('BradleyTerryLoss', center_rewards_coefficient=0.05)(LossInputs(scores=scores))
    _close(float(ours.loss), loss, 'loss')
    _close(ours.metrics()['rewards/accuracy'], theirs['accuracy'], 'accuracy')
    _close(ours.metrics()['rewards/margins'], theirs['margin'], 'margin')
    _close(float(scores.mean()), theirs['mean_reward'], 'mean reward')
