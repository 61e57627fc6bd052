"""`xtuner-like runs`: the table of real runs, sorting, JSON rows, the overlay plot, errors."""
from __future__ import annotations

import json
import shutil

import pytest
from conftest import run_cli


@pytest.fixture
def two_runs(tmp_path, tiny_run):
    """The tiny run, and a copy of it that reports a lower loss and a validation loss."""
    root = tmp_path / 'work_dirs'
    shutil.copytree(tiny_run, root / 'tiny', ignore=shutil.ignore_patterns('*.pth', 'hf'))
    better = root / 'better'
    (better / '20260101_000000' / 'vis_data').mkdir(parents=True)
    rows = [{'loss': 0.5, 'step': 1}, {'loss': 0.25, 'step': 2}, {'val/loss': 0.4, 'step': 2}]
    (better / '20260101_000000' / 'vis_data' / 'scalars.json').write_text(
        '\n'.join(json.dumps(r) for r in rows))
    (better / 'run.json').write_text(json.dumps({'status': 'stopped', 'recipe': 'r',
                                                 'delta': 'lr=0.1'}))
    return root


def test_the_table_lists_every_run_best_first(two_runs, capsys):
    assert run_cli(['runs', two_runs, '--sort', 'loss']) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split()
    for column in ('run', 'recipe', 'delta', 'data_rows', 'data_tokens', 'steps', 'loss',
                   'val_loss', 'tokens_per_sec', 'wall_s', 'status'):
        assert column in header
    assert lines[1].split()[0].endswith('better') and lines[1].split()[-1] == 'stopped'
    tiny = lines[2].split()
    assert tiny[0].endswith('tiny') and tiny[-1] == 'finished'
    assert 'smollm2_135m_instruct_lora_identity' in tiny and '12' in tiny


def test_json_rows_and_the_overlay_plot(two_runs, tmp_path, capsys):
    png = tmp_path / 'runs.png'
    assert run_cli(['runs', two_runs, '--json', '--plot', png]) == 0
    out = capsys.readouterr().out
    rows = [json.loads(line) for line in out.splitlines() if line.startswith('{')]
    assert [r['run'].split('/')[-1] for r in rows] == ['better', 'tiny']   # val_loss first
    assert rows[1]['steps'] == 12 and rows[1]['data_rows'] > 0
    assert png.read_bytes()[:4] == b'\x89PNG' and 'curves of 2 runs' in out


@pytest.mark.parametrize('args, message', [
    (['/no/such/dir'], 'no folder /no/such/dir'),
    (['EMPTY'], 'no training runs under'),
    (['RUNS', '--sort', 'val_los'], "did you mean 'val_loss'"),
])
def test_bad_input_gives_one_line(tmp_path, two_runs, capsys, args, message):
    (tmp_path / 'empty').mkdir()
    args = [str(tmp_path / 'empty') if a == 'EMPTY' else str(two_runs) if a == 'RUNS' else a
            for a in args]
    assert run_cli(['runs', *args]) == 1
    err = capsys.readouterr().err
    assert message in err and 'Traceback' not in err
