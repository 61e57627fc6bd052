"""`xtuner-like train` end to end on a tiny Llama: logs, checkpoints, TensorBoard, resume, errors."""
import json
import shutil
from pathlib import Path

import pytest
from conftest import TINY_TRAIN_OPTIONS, logged_losses, run_cli

RECIPE = 'smollm2_135m_instruct_lora_identity'


def test_run_writes_checkpoints_tensorboard_and_chat(tiny_run):
    assert (tiny_run / 'last_checkpoint').read_text().strip().endswith('iter_12.pth')
    checkpoints = sorted(p.name for p in tiny_run.glob('iter_*.pth'))
    assert checkpoints == ['iter_12.pth', 'iter_8.pth']       # save_total_limit=2
    assert not list(tiny_run.glob('.*.tmp'))                  # written atomically
    assert list(tiny_run.glob('*/vis_data/events.out.tfevents.*'))
    chat = [json.loads(line) for line in (tiny_run / 'eval_chat.jsonl').read_text().splitlines()]
    assert {c['when'] for c in chat} == {'before training', 'after training'}
    log = next(tiny_run.glob('*/*.log')).read_text()
    for field in ('loss:', 'lr:', 'grad_norm:', 'tokens_per_sec:', 'eta:'):
        assert field in log
    assert 'pack efficiency' in log and '[[' in log           # DatasetInfoHook sample


def test_loss_falls_with_full_finetune(tmp_path, tiny_model_dir, xl_home):
    rc = run_cli(['train', RECIPE, '--work-dir', tmp_path, '--cfg-options',
                  f'pretrained_model_name_or_path={tiny_model_dir}', 'lora=None', 'lr=3e-3',
                  'max_iters=30', 'warmup_iters=2', 'save_steps=100', 'log_interval=1',
                  'evaluation_inputs=[]'])
    assert rc == 0
    losses = logged_losses(tmp_path)
    first, last = sum(losses[i] for i in (1, 2, 3)) / 3, sum(losses[i] for i in (28, 29, 30)) / 3
    assert last < first - 0.5, losses


def test_resume_auto_continues_with_the_same_losses(tmp_path, tiny_run, tiny_model_dir):
    """A run resumed from iteration 4 logs the same losses as the uninterrupted run."""
    resumed = tmp_path / 'resumed'
    resumed.mkdir()
    shutil.copy(tiny_run / 'iter_8.pth', resumed / 'iter_8.pth')
    (resumed / 'last_checkpoint').write_text(str(resumed / 'iter_8.pth'))
    rc = run_cli(['train', RECIPE, '--work-dir', resumed, '--resume', 'auto',
                  '--cfg-options', f'pretrained_model_name_or_path={tiny_model_dir}',
                  *TINY_TRAIN_OPTIONS])
    assert rc == 0
    expected, got = logged_losses(tiny_run), logged_losses(resumed)
    assert sorted(got) == [9, 10, 11, 12]
    for step in got:
        assert got[step] == pytest.approx(expected[step], rel=1e-5, abs=1e-6)
    chat = [json.loads(line) for line in (resumed / 'eval_chat.jsonl').read_text().splitlines()]
    assert {c['when'] for c in chat} == {'resumed at 8', 'after training'}   # not 'before'


def test_resume_from_a_missing_path_is_an_error(tmp_path, capsys):
    assert run_cli(['train', RECIPE, '--work-dir', tmp_path, '--resume',
                    tmp_path / 'nope.pth']) == 1
    assert 'no such checkpoint file' in capsys.readouterr().err


@pytest.mark.parametrize('options, message', [
    (['data_files=/no/such/file.json'], 'not found'),
    (['prompt_template=chatm1'], "did you mean 'chatml'"),
    (['max_lenght=8'], "did you mean 'max_length'"),
])
def test_bad_input_gives_a_clear_error(tmp_path, tiny_model_dir, xl_home, capsys, options,
                                       message):
    rc = run_cli(['train', RECIPE, '--work-dir', tmp_path, '--cfg-options',
                  f'pretrained_model_name_or_path={tiny_model_dir}', *options])
    assert rc == 1
    err = capsys.readouterr().err
    assert 'error: ' in err and message in err and 'Traceback' not in err
    assert 'Loading weights' not in err                      # failed before loading the model


def test_malformed_row_names_file_and_row(tmp_path, tiny_model_dir, xl_home, capsys):
    data = tmp_path / 'rows.json'
    data.write_text(json.dumps([{'instruction': 'hi', 'output': 'hello'},
                                {'instruction': 'no output here'}]))
    rc = run_cli(['train', RECIPE, '--work-dir', tmp_path / 'w', '--cfg-options',
                  f'pretrained_model_name_or_path={tiny_model_dir}', f'data_files={data}'])
    assert rc == 1
    err = capsys.readouterr().err
    assert f'{data}, row 1' in err and "'output'" in err and "on_bad_row='skip'" in err


def test_unexpected_failures_show_the_traceback(tmp_path, capsys):
    bad = Path(tmp_path) / 'broken.py'
    bad.write_text("model = dict(type='torch.nn.Linear', in_features=2, out_features=2)\n"
                   "work_dir = '.'\ntrain_dataloader = None\n")
    assert run_cli(['train', bad, '--work-dir', tmp_path]) == 1


def test_unknown_deepspeed_preset_suggests_close_names(tmp_path, capsys):
    pytest.importorskip('deepspeed', reason='deepspeed is not installed: '
                        'pip install -r requirements/deepspeed.txt')
    assert run_cli(['train', RECIPE, '--work-dir', tmp_path, '--deepspeed', 'zero_2']) == 1
    assert "did you mean 'zero2'" in capsys.readouterr().err


def test_deepspeed_conflict_is_reported_before_any_process_starts(tmp_path, capsys, monkeypatch):
    pytest.importorskip('deepspeed', reason='deepspeed is not installed: '
                        'pip install -r requirements/deepspeed.txt')
    ds = tmp_path / 'ds.json'
    ds.write_text(json.dumps({'gradient_accumulation_steps': 8}))
    monkeypatch.setenv('NPROC_PER_NODE', '2')
    assert run_cli(['train', RECIPE, '--work-dir', tmp_path, '--deepspeed', ds]) == 1
    err = capsys.readouterr().err
    assert 'gradient_accumulation_steps=8' in err and 'accumulative_counts=1' in err
    assert 'launching' not in err


def test_models_are_resolved_before_any_process_group(monkeypatch):
    """Embedded models convert before torch.distributed starts (save_pretrained is rank-0 only)."""
    from xtuner_like.cli import train
    from xtuner_like.model import resolve
    seen = []
    monkeypatch.setattr(resolve, 'resolve_model_path', seen.append)
    train.prepare_models({'model': {'llm': {'pretrained_model_name_or_path': 'a/b'}},
                          'tokenizer': {'pretrained_model_name_or_path': 'a/b'}})
    assert seen == ['a/b']


def test_two_runs_in_one_second_keep_their_own_logs(tmp_path, tiny_model_dir, xl_home,
                                                    monkeypatch):
    """mmengine names its logger and visualizer by the second; a second run must not reuse them."""
    import time
    real_strftime = time.strftime
    monkeypatch.setattr(time, 'strftime', lambda fmt, *t: '20260101_000000'
                        if fmt == '%Y%m%d_%H%M%S' else real_strftime(fmt, *t))
    works = [tmp_path / 'first', tmp_path / 'second']
    for work in works:
        assert run_cli(['train', RECIPE, '--work-dir', work, '--cfg-options',
                        f'pretrained_model_name_or_path={tiny_model_dir}', 'max_iters=2',
                        'param_scheduler=[]', 'log_interval=1', 'save_steps=100', 'evaluation_inputs=[]',
                        'export_hf=False']) == 0
    for work in works:
        assert sorted(logged_losses(work)) == [1, 2], work


def test_weights_only_checkpoints_and_a_quiet_terminal(tmp_path, tiny_model_dir, xl_home,
                                                       capsys):
    """save_optimizer=False drops the optimizer state; the long blocks go only to the log file;
    a second run into the same work dir needs --overwrite (or --resume auto)."""
    from xtuner_like.utils.io import safe_load
    options = ['--cfg-options', f'pretrained_model_name_or_path={tiny_model_dir}',
               'max_iters=2', 'save_steps=2', 'log_interval=1', 'evaluation_inputs=[]',
               'export_hf=False', 'save_optimizer=False', 'param_scheduler=[]']
    assert run_cli(['train', RECIPE, '--work-dir', tmp_path, *options]) == 0
    checkpoint = safe_load(tmp_path / 'iter_2.pth', map_location='cpu')
    assert 'state_dict' in checkpoint and 'optimizer' not in checkpoint
    shown = capsys.readouterr()
    log = next(tmp_path.glob('*/*.log')).read_text()
    for block in ('System environment:', 'Config:', 'Hooks will be executed'):
        assert block in log and block not in shown.out + shown.err
    assert 'Iter(train) [2/2]' in shown.out
    assert run_cli(['train', RECIPE, '--work-dir', tmp_path, *options]) == 1
    assert '--overwrite' in capsys.readouterr().err
    assert run_cli(['train', RECIPE, '--work-dir', tmp_path, '--overwrite', *options]) == 0


def test_a_worker_that_lost_its_peers_says_so_in_one_line(monkeypatch):
    """Issue 23, item 12: when rank 0 failed (a hub dataset offline), rank 1's barrier raised
    gloo's 'Connection closed by peer' with a traceback before the launcher's summary line."""
    from xtuner_like.launch.distributed import peer_lost
    error = RuntimeError('[../gloo/transport/tcp/pair.cc:553] Connection closed by peer '
                         '[127.0.0.1]:9421. This is typically caused by a remote worker crashing.')
    line = str(peer_lost(error))
    assert line.startswith('lost contact with another process of this run') and '\n' not in line
    assert 'first error' in line
    assert peer_lost(RuntimeError('shape mismatch')) is None     # a real error stays itself
