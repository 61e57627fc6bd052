"""Tests for xtuner_like/launch/slurm.py: the sbatch script, and its submission by sbatch."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xtuner_like.errors import ConfigError
from xtuner_like.launch import slurm


def test_the_script_runs_one_torchrun_per_node_through_the_rendezvous(tmp_path):
    script = slurm.sbatch_script('my_recipe', 2, 8, tmp_path / 'w', ['--deepspeed', 'zero2'],
                                 partition='gpu', time='24:00:00',
                                 env={'XTUNER_LIKE_HOME': '/shared/xl home'})
    lines = script.splitlines()
    assert lines[0] == '#!/bin/bash'
    for directive in ('--job-name=xtl-my_recipe', '--nodes=2', '--ntasks-per-node=1',
                      '--gpus-per-node=8', '--partition=gpu', '--time=24:00:00',
                      f'--output={tmp_path / "w"}/slurm-%j.out', '--requeue'):
        assert f'#SBATCH {directive}' in lines
    assert "export XTUNER_LIKE_HOME='/shared/xl home'" in lines
    assert f'{sys.executable} -m xtuner_like train my_recipe --work-dir {tmp_path / "w"} ' \
           '--nnodes 2 --nproc-per-node 8 --resume auto --deepspeed zero2' in script
    assert '--rdzv-endpoint "$head_node:29500" --rdzv-id "$SLURM_JOB_ID"' in script
    assert 'srun --kill-on-bad-exit=1 --nodes=2 --ntasks-per-node=1' in script


def test_the_script_is_valid_bash(tmp_path):
    script = slurm.sbatch_script('r', 1, 0, tmp_path, [])
    assert '--gpus-per-node' not in script and '--nproc-per-node 1' in script
    assert subprocess.run(['bash', '-n'], input=script, text=True).returncode == 0


@pytest.mark.parametrize('kwargs, message', [
    ({'time': '3h'}, '--time 3h: write minutes'),
    ({'nodes': 0}, 'need at least one node'),
])
def test_bad_options_are_clear_errors(tmp_path, kwargs, message):
    args = {'config': 'r', 'nodes': 2, 'gpus_per_node': 8, 'work_dir': tmp_path, **kwargs}
    with pytest.raises(ConfigError, match=message):
        slurm.sbatch_script(**args)


@pytest.mark.parametrize('time', ['60', '30:00', '24:00:00', '2-00', '1-12:00:00'])
def test_sbatch_time_formats(time):
    slurm.check_time(time)


def test_submit_writes_the_script_and_calls_sbatch(tmp_path, monkeypatch):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    fake = bin_dir / 'sbatch'
    fake.write_text(f'#!/bin/sh\necho "$@" > {tmp_path / "called"}\necho Submitted batch job 1\n')
    fake.chmod(0o755)
    monkeypatch.setenv('PATH', f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
    work = tmp_path / 'work'
    assert slurm.submit('#!/bin/bash\n', work) == 0
    assert (work / 'slurm_train.sbatch').read_text() == '#!/bin/bash\n'
    assert (tmp_path / 'called').read_text().strip() == str(work / 'slurm_train.sbatch')


def test_without_sbatch_the_script_is_written_and_the_way_said(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('PATH', str(tmp_path))
    assert slurm.submit('#!/bin/bash\n', tmp_path / 'w') == 0
    assert 'no sbatch here: submit it with `sbatch' in capsys.readouterr().err
    assert Path(tmp_path / 'w' / 'slurm_train.sbatch').exists()
