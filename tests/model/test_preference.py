"""PreferenceFinetune: every loss type trains; the reference is adapters-off or a frozen copy."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from peft import LoraConfig

from xtuner_like.dataset.map_fns import get_map_fn
from xtuner_like.dataset.preference import KtoRows, PreferenceCollator, PreferenceRows
from xtuner_like.errors import ConfigError, UnknownNameError
from xtuner_like.model import load_causal_lm
from xtuner_like.model.preference import PreferenceFinetune, count_samples
from xtuner_like.registry import LOSSES
from xtuner_like.model.sequence_logps import sequence_index

LORA = dict(type=LoraConfig, r=4, lora_alpha=8, lora_dropout=0.0, target_modules='all-linear',
            task_type='CAUSAL_LM')
# Every registered loss a causal LM trains with (the reward model's are in test_reward.py).
LOSS_TYPES = [name for name, cls in LOSSES.items() if cls.inputs == 'logps']
PAIRS = [{'prompt': 'Who are you?', 'chosen': 'I am Tuna.', 'rejected': 'The fox.'},
         {'prompt': 'Give three tips.', 'chosen': 'Eat well, sleep.', 'rejected': 'No.'},
         {'prompt': 'Hi', 'chosen': 'Hello! I am Tuna.', 'rejected': 'quick brown dog'}]


def llm_spec(path):
    return dict(type=load_causal_lm, pretrained_model_name_or_path=str(path), dtype='fp32')


def make_batch(tokenizer, loss_type: str = 'DPOLoss') -> dict:
    kto = loss_type == 'KTOLoss'
    rows = KtoRows() if kto else PreferenceRows()
    spec = SimpleNamespace(map_fn=get_map_fn('kto' if kto else 'plain_preference'),
                           max_length=128, chat_format=SimpleNamespace(template='chatml',
                                                                       system=None))
    raw = [{'prompt': p['prompt'], 'completion': p['chosen' if i % 2 else 'rejected'],
            'label': bool(i % 2)} for i, p in enumerate(PAIRS)] if kto else PAIRS
    cols = rows.encode([rows.map(r, spec, tokenizer) for r in raw], tokenizer, spec)
    return PreferenceCollator()([{k: v[i] for k, v in cols.items()} for i in range(len(raw))])


@pytest.mark.parametrize('lora', [LORA, None], ids=['lora', 'full'])
@pytest.mark.parametrize('loss_type', LOSS_TYPES)
def test_every_loss_type_gives_a_finite_loss_metrics_and_gradients(tiny_model_dir, tiny_tokenizer,
                                                                   loss_type, lora):
    rpo = {'rpo_alpha': 0.5} if loss_type == 'DPOLoss' else {}
    model = PreferenceFinetune(llm_spec(tiny_model_dir), lora=lora,
                               loss=dict(type=loss_type, **rpo))
    assert bool(model._frozen_reference) == (model.loss.needs_reference and lora is None)
    out = model(**make_batch(tiny_tokenizer, loss_type))
    assert math.isfinite(float(out['loss']))
    assert {'rewards/chosen', 'rewards/rejected', 'rewards/margins'} <= set(out)
    assert not any('loss' in k for k in out if k != 'loss')  # mmengine sums every '*loss*' key
    out['loss'].backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize('lora', [LORA, None], ids=['lora', 'full'])
def test_at_the_start_the_policy_is_its_reference(tiny_model_dir, tiny_tokenizer, lora):
    """LoRA starts at B=0 and the frozen copy equals the policy: rewards 0, DPO loss log 2."""
    model = PreferenceFinetune(llm_spec(tiny_model_dir), lora=lora)
    out = model(**make_batch(tiny_tokenizer))
    assert abs(float(out['rewards/chosen'])) < 1e-6 and abs(float(out['rewards/rejected'])) < 1e-6
    assert math.isclose(float(out['loss']), math.log(2), rel_tol=1e-6)


def test_lora_reference_is_the_base_model_with_adapters_off(tiny_model_dir, tiny_tokenizer):
    model = PreferenceFinetune(llm_spec(tiny_model_dir), lora=LORA)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'lora_B' in name:
                p.normal_()
    batch = make_batch(tiny_tokenizer)
    base = load_causal_lm(str(tiny_model_dir), dtype='fp32')
    with torch.no_grad():
        expected = model.sequence_logps(base, batch).logps
        policy = model.sequence_logps(model.backbone, batch).logps
    assert torch.allclose(model.reference_logps(batch), expected, atol=1e-5)
    assert not torch.allclose(policy, expected, atol=1e-3)
    assert not model._frozen_reference  # no second copy under LoRA


def test_full_finetune_reference_is_frozen_and_outside_the_checkpoint(tiny_model_dir,
                                                                      tiny_tokenizer):
    model = PreferenceFinetune(llm_spec(tiny_model_dir))
    n_params = sum(1 for _ in model.parameters())
    assert len(model._frozen_reference) == 1
    assert n_params == sum(1 for _ in model.llm.parameters())
    assert all(k.startswith('llm.') for k in model.state_dict())
    batch = make_batch(tiny_tokenizer)
    before = model.reference_logps(batch).clone()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    assert torch.allclose(model.reference_logps(batch), before)


def test_precomputed_reference_logps_are_used_as_given(tiny_model_dir, tiny_tokenizer):
    model = PreferenceFinetune(llm_spec(tiny_model_dir), lora=LORA)
    batch = make_batch(tiny_tokenizer)
    batch['reference_logps'] = torch.tensor([[-1.0, -2.0], [-3.0, -4.0], [-5.0, -6.0]])
    assert model.reference_logps(batch).tolist() == [-1, -2, -3, -4, -5, -6]


def test_loss_units_are_samples_and_the_denominator_spans_the_window(tiny_model_dir,
                                                                      tiny_tokenizer):
    model = PreferenceFinetune(llm_spec(tiny_model_dir), lora=LORA)
    batch = make_batch(tiny_tokenizer)
    assert count_samples(batch) == model.loss_units(batch) == 3
    alone = model(**batch)['loss']
    assert torch.allclose(model(**batch, loss_denominator=6)['loss'], alone / 2)


def test_unknown_loss_type_suggests_the_close_name(tiny_model_dir):
    with pytest.raises(UnknownNameError, match="did you mean 'SimPOLoss'"):
        PreferenceFinetune(llm_spec(tiny_model_dir), loss=dict(type='SimP0Loss'))


def test_a_loss_on_scores_is_refused_with_the_model_to_use(tiny_model_dir):
    with pytest.raises(ConfigError, match='BradleyTerryLoss takes scores.*RewardModel'):
        PreferenceFinetune(llm_spec(tiny_model_dir), loss='BradleyTerryLoss')


def test_a_policy_gradient_loss_is_refused_until_a_model_gives_rollouts(tiny_model_dir):
    with pytest.raises(ConfigError, match='GRPOLoss takes rollouts, which PreferenceFinetune'):
        PreferenceFinetune(llm_spec(tiny_model_dir), loss='GRPOLoss')


def test_the_loss_says_whether_the_model_keeps_a_reference(tiny_model_dir):
    simpo = PreferenceFinetune(llm_spec(tiny_model_dir), loss=dict(type='SimPOLoss'))
    assert not simpo.needs_reference and not simpo._frozen_reference
    assert PreferenceFinetune(llm_spec(tiny_model_dir)).needs_reference


def test_a_few_dpo_steps_raise_the_margin(tiny_model_dir, tiny_tokenizer):
    torch.manual_seed(0)
    model = PreferenceFinetune(llm_spec(tiny_model_dir), lora=LORA,
                               loss=dict(type='DPOLoss', beta=0.5))
    batch = make_batch(tiny_tokenizer)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    margins = []
    for _ in range(6):
        out = model(**batch)
        margins.append(float(out['rewards/margins']))
        opt.zero_grad()
        out['loss'].backward()
        opt.step()
    assert margins[-1] > margins[0] + 0.1 and float(model(**batch)['rewards/accuracy']) == 1.0


def _datasets(tokenizer, tmp_path, row_type: str) -> tuple:
    """The same rows built packed (pairs share rows) and unpacked (a row per pair)."""
    import json

    from xtuner_like.dataset import build_preference_dataset
    n = 10
    if row_type == 'kto':
        rows = [{'prompt': f'Q{i}?', 'completion': 'I am Tuna. ' * (i % 3 + 1),
                 'label': i % 3 != 0} for i in range(n)]
    else:
        rows = [{'prompt': f'Q{i}?' + ' Why?' * (i % 2), 'chosen': 'I am Tuna. ' * (i % 3 + 1),
                 'rejected': 'No.' * (i % 4 + 1)} for i in range(n)]
    path = tmp_path / f'{row_type}.json'
    path.write_text(json.dumps(rows))
    options = dict(data_files=str(path), max_length=96, row_type=row_type,
                   dataset_map_fn='kto' if row_type == 'kto' else 'plain_preference',
                   cache_dir=str(tmp_path / 'cache'))
    return tuple(build_preference_dataset(tokenizer, pack_to_max_length=packed, **options)
                 for packed in (True, False))


def _all_rows(ds) -> dict:
    return PreferenceCollator()([ds[i] for i in range(len(ds))])


def _trained_model(model) -> None:
    """LoRA B (and the score head) away from 0: policy != reference, rewards not all 0."""
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'lora_B' in name or 'score' in name:
                p.normal_(std=0.1)


def _key(batch: dict) -> list[tuple]:
    """Each pair's chosen sequence tokens: identifies the pair whatever its place."""
    seq = sequence_index(batch['position_ids'])[0]
    ids = batch['input_ids'][0]
    return [tuple(ids[seq == k].tolist()) for k in range(0, int(seq.max()) + 1, 2)]


@pytest.mark.parametrize('loss_type', [*LOSS_TYPES, 'reward'])
def test_packed_pairs_give_the_unpacked_losses_and_rewards(tiny_model_dir, tiny_tokenizer,
                                                          tmp_path, loss_type):
    """Pairs packed several to a row train exactly as a row per pair: same loss, metrics and
    per-pair rewards (<= 1e-5), for every loss type and the reward model."""
    from xtuner_like.model import RewardModel
    packed_ds, alone_ds = _datasets(tiny_tokenizer, tmp_path,
                                    'kto' if loss_type == 'KTOLoss' else 'preference')
    assert len(packed_ds) < len(alone_ds)
    if loss_type == 'reward':
        model = RewardModel(dict(llm_spec(tiny_model_dir), head='reward'), lora=LORA)
    else:
        model = PreferenceFinetune(llm_spec(tiny_model_dir), lora=LORA, loss=loss_type)
    _trained_model(model)
    model.eval()
    packed, alone = _all_rows(packed_ds), _all_rows(alone_ds)
    with torch.no_grad():
        out_packed, out_alone = model(**packed), model(**alone)
        assert set(out_packed) == set(out_alone)
        for name in out_packed:  # means over pairs: the order of the pairs does not matter
            assert torch.allclose(out_packed[name].float(), out_alone[name].float(), atol=1e-5,
                                  rtol=0), name
        if loss_type != 'KTOLoss':
            by_pair = [dict(zip(_key(b), zip(*[r.tolist() for r in model.pair_rewards(b)])))
                       for b in (packed, alone)]
            assert by_pair[0].keys() == by_pair[1].keys()
            for key, rewards in by_pair[0].items():
                assert torch.allclose(torch.tensor(rewards), torch.tensor(by_pair[1][key]),
                                      atol=1e-5, rtol=0)


def test_each_sequence_of_a_packed_pair_row_scores_as_it_does_alone(tiny_model_dir,
                                                                    tiny_tokenizer, tmp_path):
    """The pack-isolation rule on real packed pair rows: a sequence's reply log-prob inside
    the pack equals its log-prob computed on that sequence alone (<= 1e-5)."""
    packed_ds, _ = _datasets(tiny_tokenizer, tmp_path, 'preference')
    model = PreferenceFinetune(llm_spec(tiny_model_dir), lora=LORA).eval()
    _trained_model(model)
    batch = _all_rows(packed_ds)
    with torch.no_grad():
        in_pack = model.sequence_logps(model.backbone, batch).logps
        starts = torch.nonzero(batch['position_ids'][0] == 0).flatten().tolist()
        bounds = [*starts, batch['input_ids'].shape[1]]
        alone = torch.cat([model.sequence_logps(model.backbone, {
            k: batch[k][:, a:b] for k in ('input_ids', 'labels', 'position_ids')}).logps
            for a, b in zip(bounds, bounds[1:])])
    assert len(alone) == len(in_pack) > 2 * len(packed_ds)  # several pairs per row
    assert torch.allclose(in_pack, alone, atol=1e-5, rtol=0), (in_pack - alone).abs().max()
