"""Schedules fit the run (issue 11 item 4): small datasets reach the configured peak lr, and
``train_cfg.max_iters`` caps an epoch recipe."""
import json
from pathlib import Path

import pytest
from conftest import run_cli

RECIPE = 'custom_openai_jsonl_lora'
PEAK = 2e-4                      # the recipe's lr (configs/_base_/schedules/cosine_epochs.py)
WORDS = 'the quick brown fox jumps over the lazy dog and runs far away'.split()


def write_rows(path: Path, n: int) -> Path:
    """n conversations of different lengths (so they pack into several rows)."""
    with path.open('w') as f:
        for i in range(n):
            reply = ' '.join(WORDS[: 3 + i % 10])
            f.write(json.dumps({'messages': [{'role': 'user', 'content': f'question {i}?'},
                                             {'role': 'assistant', 'content': reply}]}) + '\n')
    return path


def logged(work: Path, key: str) -> dict[int, float]:
    found = {}
    for path in work.glob('*/vis_data/scalars.json'):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if key in row:
                found[row['step']] = row[key]
    return found


def train(tmp_path, tiny_model_dir, rows: int, *options: str) -> Path:
    data = write_rows(tmp_path / 'data.jsonl', rows)
    work = tmp_path / 'work'
    rc = run_cli(['train', RECIPE, '--work-dir', work, '--cfg-options',
                  f'pretrained_model_name_or_path={tiny_model_dir}', f'data_files={data}',
                  'max_length=256', 'log_interval=1', 'evaluation_inputs=[]', 'export_hf=False',
                  'save_steps=1000', *options])
    assert rc == 0
    return work


@pytest.mark.parametrize('rows', [1, 3, 12, 30])
def test_small_datasets_train_at_the_configured_peak(rows, tmp_path, tiny_model_dir, xl_home):
    work = train(tmp_path, tiny_model_dir, rows)
    lrs = logged(work, 'lr')
    assert lrs and max(lrs.values()) == pytest.approx(PEAK), lrs
    assert min(lrs.values()) > 0
    log = next(work.glob('*/*.log')).read_text()
    assert 'lr schedule:' in log and 'never reached its configured peak' not in log


def test_three_rows_capped_at_four_iterations_log_the_peak(tmp_path, tiny_model_dir, xl_home):
    work = train(tmp_path, tiny_model_dir, 3, 'train_cfg.max_iters=4', 'accumulative_counts=1')
    lrs = logged(work, 'lr')
    assert max(lrs.values()) == pytest.approx(PEAK), lrs


def test_max_iters_caps_an_epoch_recipe(tmp_path, tiny_model_dir, xl_home):
    work = train(tmp_path, tiny_model_dir, 30, 'train_cfg.max_iters=6')
    assert sorted(logged(work, 'loss')) == [1, 2, 3, 4, 5, 6]
    assert (work / 'last_checkpoint').read_text().strip().endswith('iter_6.pth')
    log = next(work.glob('*/*.log')).read_text()
    assert 'train_cfg.max_iters=6 caps the run at 6 of the' in log
