"""2 processes on the CPU (gloo): DDP, ZeRO-2 and ZeRO-3 match one process; save, convert, resume.

The two-process runs are started the way users start them, ``NPROC_PER_NODE=2 xtuner-like
train ...`` (re-executed under torch.distributed.run). One process accumulating 2 micro-batches
sees the same global batches as 2 processes with 1 each (same sampler order), so with a
constant learning rate and no dropout the losses and gradient norms must agree; fp32 sums in a
different order allow rel 1e-4 (measured: equal to 6 decimals).
"""
import re
import shutil
from pathlib import Path

import pytest
import torch
from conftest import (DISTRIBUTED_MODES, QLORA, launch_two_processes, logged_scalars,
                      run_cli, train_two_processes)

pytestmark = pytest.mark.multiprocess

RECIPE = 'smollm2_135m_instruct_lora_identity'   # conftest.train_two_processes' default
# ZeRO-3 keeps weights under stage3_param_persistence_threshold (1e5 elements in the preset)
# whole on every rank: all of the tiny model's. With 0 every weight is partitioned, as a real
# model's are, so the fused LoRA layer meets the empty shards (issue 16).
MODES = DISTRIBUTED_MODES
OPTIONS = ['save_steps=2', 'log_interval=1', 'evaluation_inputs=[]', 'lora_dropout=0.0',
           'param_scheduler=[]', 'export_hf=False', 'lr=1e-2']
TOLERANCE = dict(rel=1e-4, abs=1e-5)



def adapter(out_dir: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file
    return load_file(str(out_dir / 'adapter_model.safetensors'))


@pytest.fixture(scope='module')
def one_process(tmp_path_factory, tiny_model_dir, xl_home) -> Path:
    """8 micro-batches in windows of 2 in one process: the global batches of the 2-process runs."""
    work = tmp_path_factory.mktemp('one_process')
    assert run_cli(['train', RECIPE, '--work-dir', work, '--cfg-options',
                    f'pretrained_model_name_or_path={tiny_model_dir}', 'max_iters=8',
                    'accumulative_counts=2', *OPTIONS]) == 0
    return work


@pytest.fixture(scope='module', params=list(MODES))
def two_processes(request, tmp_path_factory, tiny_model_dir, xl_home, one_process):
    mode = request.param
    work = tmp_path_factory.mktemp(f'two_{mode}')
    log = train_two_processes(work, tiny_model_dir, MODES[mode], ['max_iters=4', *OPTIONS])
    return mode, work, log


def test_same_losses_and_gradient_norms_as_one_process(two_processes, one_process):
    mode, work, log = two_processes
    assert 'launching:' in log and 'xtuner_like.launch.torchrun --nproc_per_node=2' in log
    assert 'process group: gloo, rank 0 of 2' in log
    ref, got = logged_scalars(one_process), logged_scalars(work)
    assert sorted(got) == [1, 2, 3, 4]
    for step in got:
        # rank 0 logs the first micro-batch of each window; one process logs both
        assert got[step]['loss'] == pytest.approx(ref[2 * step - 1]['loss'], **TOLERANCE), mode
        assert got[step]['grad_norm'] == pytest.approx(ref[2 * step]['grad_norm'], **TOLERANCE)


def test_checkpoint_is_atomic_and_converts_to_the_same_adapter(two_processes, one_process,
                                                              tmp_path):
    from xtuner_like.convert.pth_to_hf import pth_to_hf
    mode, work, _ = two_processes
    checkpoint = work / 'iter_4.pth'
    assert checkpoint.is_dir() if mode != 'ddp' else checkpoint.is_file()
    assert not list(work.glob('.*.tmp'))
    config = work / f'{RECIPE}.py'
    got = adapter(pth_to_hf(config, checkpoint, tmp_path / 'got'))
    ref = adapter(pth_to_hf(one_process / f'{RECIPE}.py', one_process / 'iter_8.pth',
                            tmp_path / 'ref'))
    assert sorted(got) == sorted(ref) and got
    # ZeRO-3 reduces partitioned gradients in another order than one process; after 4 Adam
    # steps a near-zero weight can differ by ~2e-5 (seen with SmolLM2's default system text
    # in every identity sample), while the losses and gradient norms above agree.
    for name in ref:
        torch.testing.assert_close(got[name], ref[name], rtol=1e-4, atol=5e-5)


def test_resume_auto_continues_with_the_same_losses(two_processes, tiny_model_dir, tmp_path):
    mode, work, _ = two_processes
    resumed = tmp_path / 'resumed'
    resumed.mkdir()
    source = work / 'iter_2.pth'
    (shutil.copytree if source.is_dir() else shutil.copy)(source, resumed / 'iter_2.pth')
    (resumed / 'last_checkpoint').write_text(str(resumed / 'iter_2.pth'))
    train_two_processes(resumed, tiny_model_dir, [*MODES[mode], '--resume', 'auto'],
                        ['max_iters=4', *OPTIONS])
    expected, got = logged_scalars(work), logged_scalars(resumed)
    assert sorted(got) == [3, 4]
    for step in got:
        assert got[step]['loss'] == pytest.approx(expected[step]['loss'], rel=1e-5, abs=1e-6)


# LoRA x {DDP, ZeRO-2, ZeRO-3} runs in the fixtures above (loss equality, convert, resume);
# these add the other tunings under every strategy, with the default fast paths on.
# QLoRA under plain DDP aborted once in rank 1 at its first step ("terminate called without
# an active exception", gloo on a machine at load 20) and passed on rerun; until that C++ abort
# is understood it stays out of CI, so a flaky run cannot block every landing.
@pytest.mark.parametrize('strategy', ['ddp', 'zero2', 'zero3'])
@pytest.mark.parametrize('tuning', ['qlora', 'full'])
def test_tunings_train_save_and_convert_under_every_strategy(tuning, strategy, tmp_path,
                                                            tiny_model_dir, xl_home):
    from xtuner_like.convert.pth_to_hf import pth_to_hf
    if tuning == 'qlora':
        pytest.importorskip('bitsandbytes', reason='QLoRA needs bitsandbytes')
    work = tmp_path / 'work'
    options = [QLORA] if tuning == 'qlora' else ['lora=None']
    train_two_processes(work, tiny_model_dir, MODES[strategy],
                        ['max_iters=2', 'param_scheduler=[]', 'save_steps=2',
                         'evaluation_inputs=[]', 'export_hf=False', *options])
    out = pth_to_hf(work / f'{RECIPE}.py', work / 'iter_2.pth', tmp_path / 'hf')
    if tuning == 'full':   # every weight gathered (from the ZeRO-3 shards too), and trained
        from transformers import AutoModelForCausalLM
        model = AutoModelForCausalLM.from_pretrained(out)
        base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
        assert sum(p.numel() for p in model.parameters()) == sum(
            p.numel() for p in base.parameters())
        assert not torch.equal(model.lm_head.weight, base.lm_head.weight)
    else:
        weights = adapter(out)
        assert any('lora_B' in name and w.abs().sum() > 0 for name, w in weights.items())


def test_qlora_under_zero3_gives_the_losses_of_one_process(tmp_path, tiny_model_dir, xl_home):
    """Issue 23, item 13: QLoRA under ZeRO-3 ran with no word on whether it works. With every
    weight partitioned (the 4-bit base too: persistence threshold 0), 2 processes give the
    losses and gradient norms of one process accumulating 2 micro-batches (measured: losses
    equal, norms to 1e-7), so ZeRO-3 gathers the packed 4-bit weights with their quantization
    state intact."""
    pytest.importorskip('bitsandbytes', reason='QLoRA needs bitsandbytes')
    options = ['log_interval=1', 'evaluation_inputs=[]', 'lora_dropout=0.0', 'param_scheduler=[]',
               'export_hf=False', 'lr=1e-2', 'save_steps=100', QLORA]
    one = tmp_path / 'one'
    assert run_cli(['train', RECIPE, '--work-dir', one, '--cfg-options',
                    f'pretrained_model_name_or_path={tiny_model_dir}', 'max_iters=4',
                    'accumulative_counts=2', *options]) == 0
    two = tmp_path / 'two'
    train_two_processes(two, tiny_model_dir, MODES['zero3'], ['max_iters=2', *options])
    ref, got = logged_scalars(one), logged_scalars(two)
    assert sorted(got) == [1, 2]
    for step in got:
        assert got[step]['loss'] == pytest.approx(ref[2 * step - 1]['loss'], **TOLERANCE)
        assert got[step]['grad_norm'] == pytest.approx(ref[2 * step]['grad_norm'], **TOLERANCE)


def test_divergence_under_deepspeed_stops_with_one_error(tmp_path, tiny_model_dir, xl_home):
    """lr=1e9 under ZeRO-2 with 2 processes: exit 1 with the divergence error naming the
    iteration (DeepSpeed owns the step, so the hook stops at the logged loss or grad norm), and
    nothing is exported."""
    work = tmp_path / 'work'
    out = launch_two_processes(work, tiny_model_dir, MODES['zero2'], [
        'lora=None', 'lr=1e9', 'max_iters=8', 'save_steps=100', 'warmup_iters=0',
        'log_interval=1', 'evaluation_inputs=[]'])
    assert out.returncode != 0, out.stderr[-3000:]
    # every error line, even one another process wrote onto the same line of the shared stderr
    pieces = re.split(r'\n|(?=error(?: \(rank \d+\))?: )', out.stderr)
    errors = [x for x in pieces if x.startswith('error: ')]
    assert errors and 'iteration ' in errors[0] and 'diverged' in errors[0], out.stderr[-3000:]
    assert 'Traceback' not in out.stderr      # not the launcher's ChildFailedError either
    assert errors[-1].startswith('error: 2 worker process(es) failed, first rank ')
    assert not (work / 'hf').exists()


def test_a_hub_dataset_offline_is_one_line_per_worker(tmp_path, tiny_model_dir, xl_home):
    """Issue 23, item 12: rank 0 printed datasets' ConnectionError traceback, rank 1 gloo's
    'Connection closed by peer' traceback, then the launcher's summary line."""
    out = launch_two_processes(tmp_path / 'work', tiny_model_dir, [], [
        'train_cfg.max_iters=2', 'evaluation_inputs=[]'],
        recipe='smollm2_135m_instruct_lora_alpaca')
    assert out.returncode == 1
    assert 'Traceback' not in out.stderr, out.stderr[-3000:]
    pieces = re.split(r'\n|(?=error(?: \(rank \d+\))?: )', out.stderr)
    errors = [x for x in pieces if x.startswith('error')]
    assert any(x.startswith("error: hub dataset 'tatsu-lab/alpaca'") for x in errors), errors
    assert errors[-1].startswith('error: 2 worker process(es) failed')
