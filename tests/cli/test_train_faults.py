"""Fault injection through the real command (issue 16): kill -9 while a checkpoint is written
and while the dataset is prepared; each run then finishes with nothing lost.

The faults are injected into a child process by a small bootstrap (``FAULTS``) that patches one
function and then runs ``xtuner_like``'s CLI, so the production code has no test hooks.
"""
import os
import signal
import subprocess
import sys

import pytest
import torch
from conftest import logged_losses, run_cli

from xtuner_like.utils.io import safe_load

pytestmark = pytest.mark.slow

RECIPE = 'smollm2_135m_instruct_lora_identity'
OPTIONS = ['log_interval=1', 'evaluation_inputs=[]', 'export_hf=False', 'max_iters=6',
           'save_steps=2', 'save_total_limit=1']

FAULTS = {
    # the second checkpoint (iteration 4): half of it reaches the disk, then kill -9
    'checkpoint': '''
from mmengine.fileio.backends.local_backend import LocalBackend
real, calls = LocalBackend.put, []
def put(self, obj, filepath):
    calls.append(filepath)
    if len(calls) == 2:
        with open(filepath, 'wb') as f:
            f.write(obj[: len(obj) // 2])
            f.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return real(self, obj, filepath)
LocalBackend.put = put
''',
    # tokenizing the dataset: kill -9 once the first batch is encoded
    'data': '''
from xtuner_like.dataset import pipeline
real = pipeline.encode_batch
def encode_batch(*args, **kwargs):
    out = real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
pipeline.encode_batch = encode_batch
''',
}


def run_child(work, model, fault=None, resume=False, home=None):
    boot = 'import os, signal, sys\n' + (FAULTS[fault] if fault else '') + \
        'from xtuner_like.cli.main import main\nsys.exit(main(sys.argv[1:]))\n'
    args = ['train', RECIPE, '--work-dir', str(work), *(['--resume', 'auto'] if resume else []),
            '--cfg-options', f'pretrained_model_name_or_path={model}', *OPTIONS]
    env = {**os.environ, 'OMP_NUM_THREADS': '1', **({'XTUNER_LIKE_HOME': str(home)} if home
                                                      else {})}
    return subprocess.run([sys.executable, '-c', boot, *args], env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope='module')
def reference(tmp_path_factory, tiny_model_dir, xl_home):
    work = tmp_path_factory.mktemp('reference')
    assert run_cli(['train', RECIPE, '--work-dir', work, '--cfg-options',
                    f'pretrained_model_name_or_path={tiny_model_dir}', *OPTIONS]) == 0
    return work


def assert_same_as(reference, work):
    expected, got = logged_losses(reference), logged_losses(work)
    assert sorted(got) == list(range(1, 7))
    for step in got:
        assert got[step] == expected[step], step
    a, b = safe_load(reference / 'iter_6.pth'), safe_load(work / 'iter_6.pth')
    for name, value in a['state_dict'].items():
        assert torch.equal(value, b['state_dict'][name]), name


def test_kill_9_during_a_checkpoint_write(reference, tmp_path, tiny_model_dir, xl_home):
    work = tmp_path / 'work'
    killed = run_child(work, tiny_model_dir, fault='checkpoint')
    assert killed.returncode == -signal.SIGKILL
    # the complete checkpoint of iteration 2 is still there; the half one is only a .tmp
    assert sorted(p.name for p in work.glob('iter_*.pth')) == ['iter_2.pth']
    assert (work / 'last_checkpoint').read_text().strip().endswith('iter_2.pth')
    resumed = run_child(work, tiny_model_dir, resume=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert not list(work.glob('.*.tmp'))          # the next write of that name replaced it
    assert_same_as(reference, work)


def test_kill_9_during_data_preparation(reference, tmp_path, tiny_model_dir):
    home = tmp_path / 'home'                       # a cold dataset cache
    work = tmp_path / 'work'
    killed = run_child(work, tiny_model_dir, fault='data', home=home)
    assert killed.returncode == -signal.SIGKILL
    again = run_child(work, tiny_model_dir, home=home)
    assert again.returncode == 0, again.stderr[-3000:]
    assert_same_as(reference, work)
