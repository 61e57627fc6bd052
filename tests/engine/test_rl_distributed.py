"""Online RL on 2 processes (gloo on the CPU): DDP, ZeRO-2 and ZeRO-3 update like one process.

The two-process runs answer one prompt per rank and step (``batch_size=1``); the one-process
run answers both (``batch_size=2``, same sampler order) with ``sampling_streams=2``, so its
group k is sampled from the generator that rank k seeds (engine/rl_loop.py): both draw the
same completions, and the gradient of the whole batch is the mean of the ranks' gradients.
A length reward (the tiny random model never writes an answer) makes the rewards differ
within a group. 4 updates = 2 generation batches of 2 policy updates (old log-probs and
ratio clipping), each update from 2 micro-batches of 2 completions (DDP's ``no_sync`` and
DeepSpeed's accumulation boundary). Tolerances: the ranks reduce fp32 gradients in another
order than one process sums them (the SFT tests measure equality to ~1e-6 relative); the
losses of a GRPO update are near 0 (zero-mean advantages), hence the absolute term. After 4
Adam steps a weight whose gradient is near 0 differs by ~2e-6 (Adam divides by the root of
that gradient's square; measured under ZeRO-3: 1 weight of 2048 off by 2.3e-6; DDP and ZeRO-2
also missed an absolute 1e-6), hence the weights' absolute 5e-5, as in
tests/cli/test_train_distributed.py.
"""
import json
import shutil
from pathlib import Path

import pytest
import torch
from conftest import DISTRIBUTED_MODES, logged_scalars, run_cli, train_two_processes

from xtuner_like.engine.rl_distributed import combine_metrics, gather_objects, rank_and_world

RECIPE = 'smollm2_135m_instruct_lora_grpo'
MODES = DISTRIBUTED_MODES
OPTIONS = ['max_iters=4', 'save_steps=2', 'save_total_limit=-1', 'group_size=4',
           'max_completion_length=6', 'num_iterations=2', 'micro_batch_size=2', 'lr=0.01',
           'param_scheduler=[]', 'log_interval=1', 'evaluation_inputs=[]', 'export_hf=False',
           'completions_every=1', "rewards=[{'type': 'length', 'target': 4, 'scale': 8.0}]",
           "ema={'decay': 0.5}"]
TOLERANCE = dict(rel=1e-4, abs=1e-6)
WEIGHTS = dict(rtol=1e-4, atol=5e-5)



def samples(work: Path) -> list[tuple]:
    rows = [json.loads(line) for line in (work / 'completions.jsonl').read_text().splitlines()]
    return sorted((r['iter'], r['prompt'], r['completion'], r['reward']) for r in rows)


def trained_weights(work: Path, ema: bool = False) -> dict[str, torch.Tensor]:
    from xtuner_like.convert.pth_to_hf import read_ema_state_dict, read_state_dict
    checkpoint = work / 'iter_4.pth'
    if ema:
        return read_ema_state_dict(checkpoint)
    state = read_state_dict(checkpoint)
    return {k: v for k, v in state.items() if 'lora_' in k}


def test_combine_metrics_means_maxima_and_throughputs():
    got = combine_metrics([
        {'reward': 1.0, 'completions/max_length': 6, 'advantages/abs_max': 0.5,
         'train_tokens_per_s': 10.0, 'kl': 0.2},
        {'reward': 0.0, 'completions/max_length': 4, 'advantages/abs_max': 1.5,
         'train_tokens_per_s': 30.0}])
    assert got == {'reward': 0.5, 'completions/max_length': 6, 'advantages/abs_max': 1.5,
                   'train_tokens_per_s': 40.0, 'kl': 0.2}


def test_one_process_gathers_its_own_value():
    assert rank_and_world() == (0, 1)
    assert gather_objects({'a': 1}) == [{'a': 1}]


@pytest.fixture(scope='module')
def one_process(tmp_path_factory, tiny_model_dir, xl_home) -> Path:
    work = tmp_path_factory.mktemp('rl_one')
    assert run_cli(['train', RECIPE, '--work-dir', work, '--cfg-options',
                    f'pretrained_model_name_or_path={tiny_model_dir}', 'batch_size=2',
                    'sampling_streams=2', *OPTIONS]) == 0
    return work


@pytest.fixture(scope='module', params=list(MODES))
def two_processes(request, tmp_path_factory, tiny_model_dir, xl_home):
    mode = request.param
    work = tmp_path_factory.mktemp(f'rl_two_{mode}')
    log = train_two_processes(work, tiny_model_dir, MODES[mode], ['batch_size=1', *OPTIONS],
                              recipe=RECIPE)
    return mode, work, log


@pytest.mark.multiprocess
def test_two_processes_update_like_one(two_processes, one_process):
    mode, work, log = two_processes
    assert 'process group: gloo, rank 0 of 2' in log
    # the same completions and rewards (every rank's go to completions.jsonl)
    assert samples(work) == samples(one_process), mode
    ref, got = logged_scalars(one_process), logged_scalars(work)
    assert sorted(got) == sorted(ref) == [1, 2, 3, 4]
    assert any(abs(ref[s]['reward'] - ref[1]['reward']) > 0 for s in ref) or \
        ref[1]['reward_std'] > 0      # the rewards differ, so the updates are not zero
    for step in ref:
        # (a std is the mean of the ranks' stds: not compared)
        for key in ('loss', 'grad_norm', 'reward', 'advantages/abs_max',
                    'completions/mean_length', 'clip_ratio/region_mean'):
            assert got[step][key] == pytest.approx(ref[step][key], **TOLERANCE), (mode, key)
    a, b = trained_weights(one_process), trained_weights(work)
    assert a.keys() == b.keys() and a
    assert any(v.abs().sum() > 0 for k, v in a.items() if 'lora_B' in k)
    for name in a:
        torch.testing.assert_close(b[name], a[name], **WEIGHTS)


@pytest.mark.multiprocess
def test_ema_of_two_processes_is_the_ema_of_one(two_processes, one_process):
    """Item 2: the EMA each rank keeps (rank 0's is saved) equals one process's."""
    mode, work, _ = two_processes
    a, b = trained_weights(one_process, ema=True), trained_weights(work, ema=True)
    assert a.keys() == b.keys() and a
    for name in a:
        torch.testing.assert_close(b[name], a[name], **WEIGHTS)


@pytest.mark.multiprocess
def test_dapo_divides_by_the_completion_tokens_of_all_ranks(tmp_path, tiny_model_dir, xl_home):
    """DAPO's loss is the token sum over the tokens of the whole generation batch: each rank
    divides by the count of all ranks (and its share is the number of ranks, as DDP
    averages), so 2 processes give one process's losses and gradient norms."""
    options = [*OPTIONS, 'loss.type=DAPOLoss', 'max_iters=2', 'save_steps=2']
    one, two = tmp_path / 'one', tmp_path / 'two'
    assert run_cli(['train', RECIPE, '--work-dir', one, '--cfg-options',
                    f'pretrained_model_name_or_path={tiny_model_dir}', 'batch_size=2',
                    'sampling_streams=2', *options]) == 0
    train_two_processes(two, tiny_model_dir, MODES['ddp'], ['batch_size=1', *options],
                        recipe=RECIPE)
    assert samples(two) == samples(one)
    ref, got = logged_scalars(one), logged_scalars(two)
    assert sorted(got) == sorted(ref) == [1, 2]
    for step in ref:
        for key in ('loss', 'grad_norm'):
            assert got[step][key] == pytest.approx(ref[step][key], **TOLERANCE), key


@pytest.mark.multiprocess
def test_resume_auto_on_two_processes_draws_the_same_samples(two_processes, tiny_model_dir,
                                                              tmp_path):
    """Both ranks' generator states are in rank 0's checkpoint: rank 1 resumes its own."""
    mode, work, _ = two_processes
    if mode != 'zero2':
        pytest.skip('one strategy is enough: the generator states do not depend on it')
    resumed = tmp_path / 'resumed'
    resumed.mkdir()
    shutil.copytree(work / 'iter_2.pth', resumed / 'iter_2.pth')
    (resumed / 'last_checkpoint').write_text(str(resumed / 'iter_2.pth'))
    train_two_processes(resumed, tiny_model_dir, [*MODES[mode], '--resume', 'auto'],
                        ['batch_size=1', *OPTIONS], recipe=RECIPE)
    assert samples(resumed) == [s for s in samples(work) if s[0] == 2]
    expected, got = logged_scalars(work), logged_scalars(resumed)
    assert sorted(got) == [3, 4]
    for step in got:
        assert got[step]['loss'] == pytest.approx(expected[step]['loss'], rel=1e-5, abs=1e-7)
        assert got[step]['grad_norm'] == pytest.approx(expected[step]['grad_norm'], rel=1e-5)
