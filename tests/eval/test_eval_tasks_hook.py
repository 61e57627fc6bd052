"""EvalTasksHook in a training run: task metrics at two points, the best checkpoint kept."""
from __future__ import annotations

import json

import pytest

from conftest import logged_losses, run_cli
from xtuner_like.errors import ConfigError
from xtuner_like.eval.eval_tasks_hook import EvalTasksHook


def test_training_logs_task_metrics_at_intervals_and_keeps_the_best(tmp_path, tiny_model_dir,
                                                                     xl_home):
    val = tmp_path / 'val.jsonl'
    val.write_text(''.join(json.dumps({'instruction': 'Who are you?', 'input': '',
                                       'output': 'I am Tuna.'}) + '\n' for _ in range(3)))
    work = tmp_path / 'run'
    rc = run_cli(['train', 'smollm2_135m_instruct_lora_identity', '--work-dir', work,
                  '--cfg-options', f'pretrained_model_name_or_path={tiny_model_dir}',
                  'max_iters=4', 'save_steps=100', 'log_interval=1', 'lr=1e-2',
                  'evaluation_inputs=[]', f"eval_task_files=['{val}:loss']", 'eval_interval=2',
                  "save_best='val_loss/loss'"])
    assert rc == 0
    rows = [json.loads(line) for line in (work / 'eval_results.jsonl').read_text().splitlines()]
    assert [r['iter'] for r in rows] == [2, 4]
    assert all(r['val_loss/loss'] > 0 and r['val_loss/perplexity'] > 1 for r in rows)
    assert (work / 'best_eval.pth').is_file()
    log = next(work.glob('*/*.log')).read_text()
    assert 'eval at iter 2: val_loss/loss' in log and 'saved best_eval.pth' in log
    scalars = [json.loads(line) for p in work.glob('*/vis_data/scalars.json')
               for line in p.read_text().splitlines()]
    assert sum('eval/val_loss/loss' in s for s in scalars) == 2
    assert logged_losses(work)


def test_save_best_must_name_an_evaluated_metric():
    class Runner:
        pass
    with pytest.raises(ConfigError, match='<task>/<metric>'):
        EvalTasksHook(save_best='loss').before_train(Runner())
    with pytest.raises(ConfigError, match='<task>/<metric>'):
        EvalTasksHook(save_best='a/b').before_train(Runner())     # no tasks at all
    assert not EvalTasksHook().enabled
