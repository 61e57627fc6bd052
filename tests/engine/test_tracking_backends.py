"""MLflow and W&B backends on a real tiny run, read back through mlflow's client from the
local store and from W&B's offline run file; the visualizer's backend choice."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from xtuner_like.engine import tracking_backends as backends

RECIPE = 'smollm2_135m_instruct_lora_identity'


def wandb_records(path: Path) -> list:
    """The protobuf records of a ``.wandb`` file (a LevelDB-style log: a 7-byte header,
    then 32 KiB blocks of chunks: crc32c (4), length (2, little-endian), type (1), data)."""
    from wandb.proto import wandb_internal_pb2 as pb
    data, pos, pending, records = path.read_bytes(), 7, b'', []
    assert data[:4] == b':W&B'
    while pos + 7 <= len(data):
        left = 32768 - pos % 32768
        if left < 7:            # the rest of a block is padding
            pos += left
            continue
        length, kind = int.from_bytes(data[pos + 4:pos + 6], 'little'), data[pos + 6]
        pending += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):      # a full record, or the last chunk of one
            record = pb.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b''
    return records


def items(update) -> dict:
    """``{key: value}`` of a record's items (a key may be written as ``nested_key``)."""
    return {i.key or '/'.join(i.nested_key): json.loads(i.value_json) for i in update}


@pytest.fixture(scope='module')
def tracked_run(tmp_path_factory, tiny_model_dir, xl_home):
    """A 3-iteration run reporting to MLflow and W&B (offline: no key, no netrc)."""
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp('tracked')
    for name in ('WANDB_API_KEY', 'WANDB_MODE', 'MLFLOW_TRACKING_URI', 'WANDB_PROJECT',
                 'MLFLOW_EXPERIMENT_NAME'):
        mp.delenv(name, raising=False)
    mp.setenv('HOME', str(root))                     # no ~/.netrc: not logged in to W&B
    mp.setenv('WANDB_SILENT', 'true')
    work = root / 'work_dirs' / 'lr-1e-3'
    work.mkdir(parents=True)
    # as an evaluation of the run would leave it (read when the run ends)
    (work / 'eval_results.jsonl').write_text(json.dumps({'task': 'arc', 'acc': 0.25}) + '\n')
    rc = run_cli(['train', RECIPE, '--work-dir', work, '--report-to', 'mlflow,wandb',
                  '--cfg-options', f'pretrained_model_name_or_path={tiny_model_dir}',
                  'max_iters=3', 'log_interval=1', 'save_steps=2', 'evaluation_inputs=[]',
                  'lr=1e-3'])
    mp.undo()
    assert rc == 0
    return work


def test_mlflow_run_holds_params_delta_scalars_picture_and_adapter(tracked_run):
    import mlflow
    store = tracked_run.parent / 'mlruns' / 'mlflow.db'
    assert store.is_file()                                   # beside the work dir
    client = mlflow.MlflowClient(f'sqlite:///{store}')
    experiment = client.get_experiment_by_name(RECIPE)
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == 'FINISHED' and run.info.run_name == 'lr-1e-3'
    params, tags = run.data.params, run.data.tags
    assert params['lr'] == '0.001' and params['model.lora.r'] == '64'
    assert params['delta.lr'] == '0.001' and params['delta.warmup_iters'] == '3'
    assert tags['recipe'] == RECIPE and 'lr=0.001' in tags['config_delta']
    assert 'lr=0.001' in tags['cli_options'] and 'warmup_iters' not in tags['cli_options']
    losses = client.get_metric_history(run.info.run_id, 'loss')
    assert [m.step for m in losses] == [1, 2, 3]
    logged = [json.loads(line)['loss'] for line in
              next(tracked_run.glob('*/vis_data/scalars.json')).read_text().splitlines()]
    assert [m.value for m in losses] == pytest.approx(logged)
    assert 'tokens_per_sec' in run.data.metrics
    assert run.data.metrics['eval/arc/acc'] == 0.25
    top = {f.path for f in client.list_artifacts(run.info.run_id)}
    assert {'curves.png', 'run.json', 'hf', 'logs', 'config.py'} <= top
    exported = {Path(f.path).name for f in client.list_artifacts(run.info.run_id, 'hf')}
    assert {'adapter_model.safetensors', 'adapter_config.json', 'tokenizer.json'} <= exported


def test_wandb_offline_run_file_holds_config_and_every_scalar_at_its_step(tracked_run):
    (run_dir,) = tracked_run.glob('*/vis_data/wandb/offline-run-*')   # offline: not logged in
    records = wandb_records(next(run_dir.glob('run-*.wandb')))
    kinds = [r.WhichOneof('record_type') for r in records]
    (run,) = [r.run for r in records if r.HasField('run')]
    config = items(run.config.update)
    for r in records:
        if r.HasField('config'):
            config.update(items(r.config.update))
    assert run.project == RECIPE and run.display_name == 'lr-1e-3'
    assert config['recipe'] == RECIPE and 'lr=0.001' in config['config_delta']
    assert config['lr'] == '0.001' and config['model.lora.r'] == '64'
    history = [items(r.history.item) for r in records if r.HasField('history')]
    losses = {h['_step']: h['loss'] for h in history if 'loss' in h}
    assert sorted(losses) == [1, 2, 3]
    assert any(h.get('curves/_type') == 'image-file' for h in history)   # curves.png
    summary = [r.summary for r in records if r.HasField('summary')]
    assert any('eval/arc/acc' in items(s.update) for s in summary)
    assert (run_dir / 'files' / 'curves.png').exists() and (run_dir / 'files' / 'run.json').exists()
    assert 'exit' in kinds


def test_numeric_keeps_finite_numbers_only():
    assert backends.numeric({'loss': 1, 'eta': '0:01', 'bad': float('nan'), 'x': None}) == \
        {'loss': 1.0}


def test_the_visualizer_builds_backends_by_name(tmp_path):
    specs = backends.backend_specs(['tensorboard', 'mlflow'],
                                   {'mlflow': {'tracking_uri': 'http://h'}})
    assert specs[0]['type'].endswith('LocalVisBackend')
    assert specs[1]['type'].endswith('TensorboardVisBackend')
    assert specs[2] == {'type': 'xtuner_like.engine.tracking_backends.MLflowBackend',
                        'tracking_uri': 'http://h'}
    vis = backends.TrackingVisualizer(name='tracking_test_vis', report_to='none',
                                      save_dir=str(tmp_path))
    assert list(vis._vis_backends) == ['LocalVisBackend']


def test_wandb_login_is_an_api_key_or_a_netrc_entry(tmp_path, monkeypatch):
    monkeypatch.delenv('WANDB_API_KEY', raising=False)
    monkeypatch.delenv('WANDB_BASE_URL', raising=False)
    monkeypatch.setenv('HOME', str(tmp_path))
    assert not backends.wandb_logged_in()
    (tmp_path / '.netrc').write_text('machine api.wandb.ai login user password k\n')
    (tmp_path / '.netrc').chmod(0o600)
    assert backends.wandb_logged_in()
    monkeypatch.setenv('WANDB_API_KEY', 'k')
    assert backends.wandb_logged_in()
