"""`xtuner-like launch slurm|k8s`: dry runs print the script or manifest of a shipped recipe;
without --dry-run they go to sbatch or kubectl (fakes on PATH here)."""
import os
import subprocess
import sys

import yaml
from conftest import run_cli

RECIPE = 'smollm2_135m_instruct_lora_identity'


def test_slurm_dry_run_prints_the_script(tmp_path, capsys):
    assert run_cli(['launch', 'slurm', RECIPE, '--nodes', '2', '--gpus-per-node', '8',
                    '--partition', 'gpu', '--time', '12:00:00', '--work-dir', tmp_path / 'w',
                    '--deepspeed', 'deepspeed_zero2', '--dry-run', '--cfg-options',
                    'max_length=512']) == 0
    out = capsys.readouterr().out
    assert out.startswith('#!/bin/bash\n') and '#SBATCH --nodes=2' in out
    assert (f'train {RECIPE} --work-dir {tmp_path / "w"} --nnodes 2 --nproc-per-node 8 '
            '--resume auto --deepspeed deepspeed_zero2 --cfg-options max_length=512') in out
    assert not (tmp_path / 'w').exists()          # a dry run writes nothing


def test_slurm_submits_with_sbatch(tmp_path, monkeypatch):
    (tmp_path / 'sbatch').write_text(f'#!/bin/sh\necho "$@" > {tmp_path / "called"}\n')
    (tmp_path / 'sbatch').chmod(0o755)
    monkeypatch.setenv('PATH', f'{tmp_path}{os.pathsep}{os.environ["PATH"]}')
    assert run_cli(['launch', 'slurm', RECIPE, '--nodes', '2', '--gpus-per-node', '4',
                    '--work-dir', tmp_path / 'w']) == 0
    script = tmp_path / 'w' / 'slurm_train.sbatch'
    assert (tmp_path / 'called').read_text().strip() == str(script)
    assert '#SBATCH --gpus-per-node=4' in script.read_text()


def test_k8s_dry_run_prints_a_trainjob_or_a_pytorchjob(capsys):
    for kind, api in (('trainjob', 'trainer.kubeflow.org/v1alpha1'),
                      ('pytorchjob', 'kubeflow.org/v1')):
        assert run_cli(['launch', 'k8s', RECIPE, '--nodes', '2', '--gpus-per-node', '8',
                        '--image', 'reg/xtl:1', '--kind', kind, '--namespace', 'ml',
                        '--dry-run']) == 0
        doc = yaml.safe_load(capsys.readouterr().out)
        assert doc['apiVersion'] == api and doc['metadata']['namespace'] == 'ml'
        assert doc['metadata']['name'] == 'smollm2-135m-instruct-lora-identity'


def test_k8s_applies_with_kubectl(tmp_path, monkeypatch):
    (tmp_path / 'kubectl').write_text(f'#!/bin/sh\ncat > {tmp_path / "applied"}\n')
    (tmp_path / 'kubectl').chmod(0o755)
    monkeypatch.setenv('PATH', f'{tmp_path}{os.pathsep}{os.environ["PATH"]}')
    assert run_cli(['launch', 'k8s', RECIPE, '--nodes', '2', '--gpus-per-node', '1',
                    '--image', 'reg/xtl:1']) == 0
    assert yaml.safe_load((tmp_path / 'applied').read_text())['kind'] == 'TrainJob'


def test_a_bad_config_or_option_fails_before_anything_is_written(tmp_path):
    out = subprocess.run([sys.executable, '-m', 'xtuner_like', 'launch', 'slurm', 'no_such',
                          '--nodes', '2', '--gpus-per-node', '8', '--dry-run'],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 1 and "error: no config file or recipe 'no_such'" in out.stderr
    out = subprocess.run([sys.executable, '-m', 'xtuner_like', 'launch', 'slurm', RECIPE,
                          '--nodes', '2', '--gpus-per-node', '8', '--time', '3h', '--dry-run'],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 1 and 'error: --time 3h: write minutes' in out.stderr
