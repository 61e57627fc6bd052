"""GRPOFinetune: rollouts (groups, end-of-turn, advantages, old/reference log-probs) and the
whole loop through the CLI: the reward rises on a trivial task with a high lr."""
import json

import pytest
import torch
from conftest import run_cli

from xtuner_like.errors import ConfigError
from xtuner_like.model import load_causal_lm
from xtuner_like.model.losses.policy_gradient import DAPOLoss
from xtuner_like.model.rl import GRPOFinetune, pack_groups, pack_sequences

RECIPE = 'smollm2_135m_instruct_lora_grpo'


def make(tiny_model_dir, **kwargs):
    llm = dict(type=load_causal_lm, pretrained_model_name_or_path=str(tiny_model_dir))
    kwargs.setdefault('rewards', [dict(type='reward_fns.e_share')])
    return GRPOFinetune(llm, **kwargs)


def test_pack_sequences_scores_completions_only():
    batch = pack_sequences([[1, 2], [3]], [[4, 5], [6, 7, 8]], 'cpu')
    assert batch['input_ids'].tolist() == [[1, 2, 4, 5, 3, 6, 7, 8]]
    assert batch['position_ids'].tolist() == [[0, 1, 2, 3, 0, 1, 2, 3]]
    assert batch['labels'].tolist() == [[-100, -100, 4, 5, -100, 6, 7, 8]]


def test_pack_groups_holds_each_prompt_once():
    batch = pack_groups([[1, 2], [1, 2], [3]], [[4, 5], [6], [7, 8]], 'cpu')
    assert batch['input_ids'].tolist() == [[1, 2, 4, 5, 6, 3, 7, 8]]
    assert batch['position_ids'].tolist() == [[0, 1, 2, 3, 2, 0, 1, 2]]
    # the first token of each completion is predicted at its prompt's last token
    assert batch['score_index'].tolist() == [1, 2, 1, 5, 6]
    assert batch['score_targets'].tolist() == [4, 5, 6, 7, 8]
    assert batch['score_sequence'].tolist() == [0, 0, 1, 2, 2]
    mask = batch['attention_mask'][0, 0].int().tolist()
    assert mask[4] == [1, 1, 0, 0, 1, 0, 0, 0]     # [6] sees its prompt, not its sibling
    assert mask[7] == [0, 0, 0, 0, 0, 1, 1, 1]     # [7, 8] sees only prompt [3]


@pytest.mark.parametrize('attention', ['sdpa', 'eager'])
def test_shared_prompts_give_the_log_probs_and_gradients_of_plain_packing(tiny_model_dir,
                                                                           attention):
    model = GRPOFinetune(dict(type=load_causal_lm, attn_implementation=attention,
                              pretrained_model_name_or_path=str(tiny_model_dir)),
                         rewards=[dict(type='reward_fns.e_share')])
    assert model.share_prompts
    prompts, completions = [[5, 6, 7], [5, 6, 7], [8, 9]], [[10, 11, 12], [13], [14, 15]]
    results = []
    for batch in (pack_sequences(prompts, completions, 'cpu'),
                  pack_groups(prompts, completions, 'cpu', additive=attention == 'eager')):
        model.zero_grad()
        logps = model.sequence_logps(model.backbone, batch)
        logps.logps.sum().backward()
        results.append((logps, [p.grad.clone() for p in model.parameters()]))
    (plain, plain_grads), (shared, shared_grads) = results
    assert torch.allclose(plain.token_logps, shared.token_logps, atol=1e-5)
    assert plain.tokens.tolist() == shared.tokens.tolist() == [3, 1, 2]
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(plain_grads, shared_grads))


@pytest.mark.parametrize('loss', ['GRPOLoss', 'RLOOLoss', 'DAPOLoss'])
def test_rollout_groups_scores_and_prepares_the_update(tiny_model_dir, tiny_tokenizer, loss):
    model = make(tiny_model_dir, loss=dict(type=loss, beta=0.04), group_size=3,
                 max_completion_length=6, micro_batch_size=4, num_iterations=2,
                 lora=dict(type='peft.LoraConfig', r=4, target_modules='all-linear'))
    prompts = [tiny_tokenizer.encode('Who are you?'), tiny_tokenizer.encode('The quick')]
    rollout = model.rollout(prompts, [{'prompt': 'a'}, {'prompt': 'b'}], tiny_tokenizer,
                            ['<|im_end|>'], torch.Generator().manual_seed(0))
    assert [b['count'] for b in rollout.micro_batches] == [4, 2]
    assert len(rollout.samples) == 6 and rollout.samples[3]['prompt'] == 'b'
    m = rollout.metrics
    assert 0 <= m['completions/clipped_ratio'] <= 1 and m['completions/max_length'] <= 6
    for key in ('reward', 'reward_std', 'rewards/e_share/mean', 'entropy', 'advantages/std',
                'generation_tokens_per_s'):
        assert key in m
    # adapters start at zero (LoRA B = 0): the reference equals the policy
    for batch in rollout.micro_batches:
        assert torch.allclose(batch['reference_token_logps'], batch['old_token_logps'],
                              atol=1e-5)
    first = rollout.micro_batches[0]
    loss_value, metrics = model.policy_loss(first, 0.5)
    assert loss_value.requires_grad and 'clip_ratio/region_mean' in metrics
    if loss != 'RLOOLoss':
        assert metrics['kl'] == pytest.approx(0.0, abs=1e-5)
    assert isinstance(model.loss, DAPOLoss) == (loss == 'DAPOLoss')


def test_the_same_generator_state_gives_the_same_rollout(tiny_model_dir, tiny_tokenizer):
    model = make(tiny_model_dir, group_size=2, max_completion_length=5)
    prompts = [tiny_tokenizer.encode('Who are you?')]
    gen = torch.Generator().manual_seed(3)
    state = gen.get_state()
    a = model.rollout(prompts, [{}], tiny_tokenizer, generator=gen)
    gen.set_state(state)
    b = model.rollout(prompts, [{}], tiny_tokenizer, generator=gen)
    assert [s['completion'] for s in a.samples] == [s['completion'] for s in b.samples]


def test_one_generator_per_stream_draws_what_each_draws_alone(tiny_model_dir, tiny_tokenizer):
    """Group k is sampled from generator k % N: the samples one process draws with N
    generators are those that N processes (one group and one generator each) draw."""
    model = make(tiny_model_dir, group_size=2, max_completion_length=5)
    prompts = [tiny_tokenizer.encode('Who are you?'), tiny_tokenizer.encode('The quick brown')]
    both = model.rollout(prompts, [{}, {}], tiny_tokenizer,
                         generator=[torch.Generator().manual_seed(s) for s in (1, 2)])
    alone = [model.rollout([p], [{}], tiny_tokenizer, generator=torch.Generator().manual_seed(s))
             for p, s in zip(prompts, (1, 2))]
    assert [s['completion'] for s in both.samples] == \
        [s['completion'] for r in alone for s in r.samples]


def test_forward_policy_loss_mode_is_policy_loss(tiny_model_dir, tiny_tokenizer):
    """The RL loop calls the wrapper (DDP / DeepSpeed) with mode='policy_loss'."""
    model = make(tiny_model_dir, group_size=2, max_completion_length=4)
    rollout = model.rollout([tiny_tokenizer.encode('Who are you?')], [{}], tiny_tokenizer,
                            generator=torch.Generator().manual_seed(0))
    batch = rollout.micro_batches[0]
    loss, metrics = model(mode='policy_loss', batch=batch, weight=0.5)
    expected, _ = model.policy_loss(batch, 0.5)
    assert torch.equal(loss, expected) and 'clip_ratio/region_mean' in metrics


def test_a_full_fine_tune_keeps_a_frozen_reference_only_when_beta_is_set(tiny_model_dir):
    assert make(tiny_model_dir, loss=dict(type='GRPOLoss', beta=0.0))._frozen_reference == []
    full = make(tiny_model_dir, loss=dict(type='GRPOLoss', beta=0.1))
    reference = full._frozen_reference[0]
    assert not any(p.requires_grad for p in reference.parameters())
    assert not any(k.startswith('_frozen') for k in full.state_dict())


def test_bad_settings_are_config_errors(tiny_model_dir):
    with pytest.raises(ConfigError, match='takes logps, which GRPOFinetune'):
        make(tiny_model_dir, loss='DPOLoss')
    with pytest.raises(ConfigError, match='must be >= 1'):
        make(tiny_model_dir, group_size=0)


def test_reward_rises_on_a_trivial_task(tmp_path, tiny_model_dir, xl_home):
    work = tmp_path / 'work'
    assert run_cli(['train', RECIPE, '--work-dir', work, '--cfg-options',
                    f'pretrained_model_name_or_path={tiny_model_dir}', 'lora=None', 'lr=0.02',
                    'warmup_iters=0', 'max_iters=10', 'save_steps=100', 'batch_size=2',
                    'group_size=8', 'max_completion_length=8', 'completions_every=3',
                    "rewards=[{'type': 'reward_fns.e_share'}]", 'evaluation_inputs=[]',
                    'export_hf=False']) == 0
    rows = [json.loads(line) for p in work.glob('*/vis_data/scalars.json')
            for line in p.read_text().splitlines()]
    rewards = [r['reward'] for r in rows if 'reward' in r]
    # one update per batch: no separate old-policy pass; the update's forward gives entropy
    assert all('entropy' in r for r in rows if 'reward' in r)
    assert len(rewards) == 10
    assert sum(rewards[-3:]) / 3 > sum(rewards[:3]) / 3 + 0.05, rewards
    samples = [json.loads(line) for line in (work / 'completions.jsonl').read_text().splitlines()]
    assert sorted({s['iter'] for s in samples}) == [0, 3, 6, 9]
    assert {'prompt', 'completion', 'reward', 'e_share'} <= set(samples[0])
