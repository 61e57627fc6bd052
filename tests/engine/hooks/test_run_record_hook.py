"""RunRecordHook: run.json through a run's stages (a stand-in runner) and after a real run."""
from __future__ import annotations

import json
from types import SimpleNamespace

from mmengine.config import Config

from xtuner_like.engine.hooks import RunRecordHook
from xtuner_like.engine.tracking import record_run_info


class Hub:
    def __init__(self, info):
        self.info = info

    def get_info(self, key):
        return self.info.get(key)


def test_start_checkpoint_and_end_are_recorded(tmp_path):
    cfg = Config({'lr': 1e-4})
    record_run_info(cfg, {'lr': 1e-4}, {'lr': '1e-4'})
    dataset = SimpleNamespace(stats={'samples': 10, 'tokens': 640})
    runner = SimpleNamespace(
        rank=0, cfg=cfg, work_dir=str(tmp_path), iter=0,
        train_dataloader=SimpleNamespace(dataset=dataset),
        train_loop=SimpleNamespace(max_iters=4),
        message_hub=Hub({'throughput': {'trained_tokens_per_sec': 50.0,
                                        'real_tokens_per_sec': 80.0}}))
    hook = RunRecordHook()
    hook.before_train(runner)
    run = json.loads((tmp_path / 'run.json').read_text())
    assert run['status'] == 'running' and run['data_rows'] == 10 and run['data_tokens'] == 640
    assert run['delta'] == 'lr=0.0001' and run['sweep'] == {'lr': '1e-4'}
    assert run['max_iters'] == 4
    runner.iter = 1
    hook.before_save_checkpoint(runner, {})
    assert json.loads((tmp_path / 'run.json').read_text())['iter'] == 2
    runner.iter = 4
    hook.after_train(runner)
    run = json.loads((tmp_path / 'run.json').read_text())
    assert run['status'] == 'finished' and run['iter'] == 4 and run['tokens_per_sec'] == 50.0
    assert run['wall_seconds'] >= 0


def test_other_ranks_write_nothing(tmp_path):
    runner = SimpleNamespace(rank=1, work_dir=str(tmp_path))
    RunRecordHook().before_train(runner)
    assert not (tmp_path / 'run.json').exists()


def test_a_real_run_is_recorded(tiny_run):
    run = json.loads((tiny_run / 'run.json').read_text())
    assert run['status'] == 'finished' and run['iter'] == 12
    assert run['recipe'] == 'smollm2_135m_instruct_lora_identity'
    assert run['data_rows'] > 0 and run['wall_seconds'] > 0
