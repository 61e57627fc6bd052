"""`train --sweep` end to end on the tiny Llama: one work dir per point, a shared dataset
cache, the runs table at the end, and a stopped sweep resuming where it left off."""
from __future__ import annotations

import json

from conftest import logged_losses, run_cli

RECIPE = 'smollm2_135m_instruct_lora_identity'


def test_a_sweep_trains_each_point_once_and_resumes(tmp_path, tiny_model_dir, xl_home, capsys):
    root = tmp_path / 'sweep'
    command = ['train', RECIPE, '--work-dir', root, '--sweep', 'lr=1e-3,3e-3',
               '--sweep-sort', 'loss', '--sweep-mode', 'local', '--cfg-options',
               f'pretrained_model_name_or_path={tiny_model_dir}', 'max_iters=2',
               'log_interval=1', 'save_steps=1', 'evaluation_inputs=[]', 'export_hf=False']
    assert run_cli(command) == 0
    out = capsys.readouterr().out
    names = ['lr-1e-3', 'lr-3e-3']
    for name in names:
        run = json.loads((root / name / 'run.json').read_text())
        assert run['status'] == 'finished' and run['sweep'] == {'lr': name[3:]}
        assert sorted(logged_losses(root / name)) == [1, 2]
    second_log = next((root / 'lr-3e-3').glob('*/*.log')).read_text()
    assert 'loaded from cache' in second_log                 # one processed dataset
    table = out[out.index('run '):].splitlines()
    assert table[0].split()[:3] == ['run', 'recipe', 'delta']
    rows = [line.split()[0] for line in table[1:3]]
    losses = {n: logged_losses(root / n)[2] for n in names}
    assert rows == sorted(names, key=losses.get)              # best (lowest) loss first
    assert all('finished' in line for line in table[1:3])

    # The second point was stopped: running the same command again resumes it only.
    record = json.loads((root / 'lr-3e-3' / 'run.json').read_text())
    (root / 'lr-3e-3' / 'run.json').write_text(json.dumps({**record, 'status': 'stopped'}))
    assert run_cli(command) == 0
    err = capsys.readouterr().err
    assert 'lr-1e-3 finished before; skipped' in err and 'lr-3e-3 (resumed)' in err
    assert json.loads((root / 'lr-3e-3' / 'run.json').read_text())['status'] == 'finished'
    assert len(list((root / 'lr-1e-3').glob('*/vis_data/scalars.json'))) == 1
