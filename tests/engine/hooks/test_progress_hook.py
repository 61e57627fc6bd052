"""The live training bar: every iteration on a terminal, nothing when not a terminal."""
import io
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub

from xtuner_like.engine.hooks.progress_hook import ProgressHook, progress_fields


class FakeOptim:
    def get_lr(self):
        return {'lr': [2.5e-4]}


def fake_runner(max_iters: int, start: int = 0) -> SimpleNamespace:
    hub = MessageHub(f'progress_test_{max_iters}_{start}')
    return SimpleNamespace(max_iters=max_iters, iter=start, rank=0, message_hub=hub,
                           optim_wrapper=FakeOptim())


def run_iters(hook: ProgressHook, runner, n: int) -> None:
    hook.before_train(runner)
    for i in range(n):
        runner.message_hub.update_scalar('train/tokens_per_sec', 100.0 + i)
        hook.after_train_iter(runner, i, outputs={'loss': torch.tensor(1.5 - i / 10, requires_grad=True)})
        runner.iter += 1
    hook.after_train(runner)


@pytest.mark.filterwarnings('error')  # a loss that requires grad is read without a warning
def test_bar_shows_iteration_loss_lr_tokens_and_eta():
    out = io.StringIO()
    runner = fake_runner(max_iters=4, start=1)  # a resumed run starts at its iteration
    run_iters(ProgressHook(enabled=True, file=out), runner, 3)
    last = out.getvalue().split('\r')[-1] or out.getvalue().split('\r')[-2]
    text = out.getvalue()
    assert '4/4' in text and '<' in text  # tqdm's "elapsed<remaining" is the ETA
    assert 'loss=1.3000' in text and 'lr=2.50e-04' in text and 'tok/s=102' in text, last


def test_no_bar_when_not_a_terminal(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr('sys.stderr', io.StringIO())  # not a TTY
    run_iters(ProgressHook(file=out), fake_runner(max_iters=3), 3)
    assert out.getvalue() == ''


def test_fields_skip_what_is_not_known_yet():
    runner = fake_runner(max_iters=2)
    assert progress_fields(runner, None) == {'lr': '2.50e-04'}


def test_log_lines_never_share_the_bar_line_and_iter_lines_go_to_the_file_only(tmp_path):
    import logging
    out, terminal = io.StringIO(), io.StringIO()
    logger = logging.getLogger('progress_test_logger')
    logger.handlers.clear()
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(logging.StreamHandler(terminal))
    logger.addHandler(logging.FileHandler(tmp_path / 'run.log'))
    runner = fake_runner(max_iters=3, start=1)
    runner.logger = logger
    hook = ProgressHook(enabled=True, file=out)
    hook.before_train(runner)
    logger.info('Iter(train) [1/3]  lr: 1e-4  loss: 1.0')
    logger.info('Saving checkpoint at 1 iterations')
    hook.after_train(runner)
    logger.info('Iter(train) [2/3]  after the bar')
    logger.handlers[1].flush()
    assert terminal.getvalue().splitlines() == ['Saving checkpoint at 1 iterations',
                                                'Iter(train) [2/3]  after the bar']
    assert 'Iter(train) [1/3]' in (tmp_path / 'run.log').read_text()
