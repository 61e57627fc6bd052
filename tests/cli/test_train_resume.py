"""Exact resume through the real CLI with accumulation (issue 16): checkpoints fall on window
boundaries, and a resumed run logs the same losses and ends with the same weights."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import logged_losses, run_cli

from xtuner_like.utils.io import safe_load

RECIPE = 'smollm2_135m_instruct_lora_identity'
COMMON = ['log_interval=1', 'evaluation_inputs=[]', 'export_hf=False', 'max_iters=12',
          'save_steps=3', 'save_total_limit=-1', 'warmup_iters=4']
FULL = ['lora=None', 'lr=1e-3']
UNPACKED = ['pack_to_max_length=False']
VARIANTS = {'lora-packed': [], 'lora-unpacked': UNPACKED, 'full-packed': FULL,
            'full-unpacked': FULL + UNPACKED}


def options(tiny_model_dir, variant, accumulation=4):
    return ['--cfg-options', f'pretrained_model_name_or_path={tiny_model_dir}', *COMMON,
            f'accumulative_counts={accumulation}', *VARIANTS[variant]]


def weights(path: Path) -> dict:
    return safe_load(path)['state_dict']


def assert_same_run(ref: Path, resumed: Path, first: int) -> None:
    expected, got = logged_losses(ref), logged_losses(resumed)
    assert sorted(got) == list(range(first, 13))
    for step in got:
        assert got[step] == expected[step], step                  # bitwise
    a, b = weights(ref / 'iter_12.pth'), weights(resumed / 'iter_12.pth')
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


@pytest.mark.parametrize('accumulation', [1, 4])
@pytest.mark.parametrize('variant', list(VARIANTS))
def test_resume_is_exact(variant, accumulation, tmp_path, tiny_model_dir, xl_home):
    """LoRA and full, packed and unpacked, accumulation 1 and 4: resumed = uninterrupted."""
    ref = tmp_path / 'ref'
    run = options(tiny_model_dir, variant, accumulation)
    assert run_cli(['train', RECIPE, '--work-dir', ref, *run]) == 0
    # with a window of 4, save_steps=3 moves to 4 so no checkpoint falls inside a window
    steps = [4, 8, 12] if accumulation == 4 else [3, 6, 9, 12]
    assert sorted(p.name for p in ref.glob('iter_*.pth')) == sorted(f'iter_{k}.pth' for k in steps)
    assert not (ref / 'eval_chat.jsonl').exists()       # evaluation_inputs=[]: no blank records
    resumed = tmp_path / 'resumed'
    resumed.mkdir()
    first = f'iter_{steps[0]}.pth'
    shutil.copy(ref / first, resumed / first)
    (resumed / 'last_checkpoint').write_text(str(resumed / first))
    assert run_cli(['train', RECIPE, '--work-dir', resumed, '--resume', 'auto', *run]) == 0
    assert_same_run(ref, resumed, steps[0] + 1)


@pytest.mark.slow
def test_kill_9_at_a_random_iteration_then_resume_auto(tmp_path, tiny_model_dir, xl_home):
    """kill -9 the real command mid-run, ``--resume auto``: the same losses and weights."""
    ref = tmp_path / 'ref'
    assert run_cli(['train', RECIPE, '--work-dir', ref,
                    *options(tiny_model_dir, 'lora-packed')]) == 0
    work = tmp_path / 'killed'
    cmd = [sys.executable, '-m', 'xtuner_like', 'train', RECIPE, '--work-dir', str(work),
           *options(tiny_model_dir, 'lora-packed')]
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    kill_after = 5 + int(time.time()) % 5           # somewhere in iterations 5..9
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if len(logged_losses(work)) >= kill_after:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (work / 'iter_12.pth').exists()
    out = subprocess.run([*cmd, '--resume', 'auto'], env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    expected = logged_losses(ref)
    got = logged_losses(work)            # both runs' rows; later runs overwrite earlier steps
    assert sorted(got) == list(range(1, 13))
    for step in got:
        assert got[step] == expected[step], step
    a, b = weights(ref / 'iter_12.pth'), weights(work / 'iter_12.pth')
    for name in a:
        assert torch.equal(a[name], b[name]), name
