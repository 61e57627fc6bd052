"""curves.png: loss, lr and validation loss, at every checkpoint and at the end."""
import sys
from types import SimpleNamespace

import pytest
from mmengine.logging import MessageHub

from xtuner_like.engine.hooks.curve_hook import CurveHook, plot_curves, scalar_history


def fake_runner(work_dir, val: bool) -> SimpleNamespace:
    hub = MessageHub(f'curve_test_{val}')
    for i in range(6):
        hub.update_scalar('train/loss', 2.0 - i / 10)
        hub.update_scalar('train/lr', 1e-4 * (i + 1))
        if val and i % 3 == 2:
            hub.update_scalar('val/loss', 1.9 - i / 10)
    return SimpleNamespace(rank=0, work_dir=str(work_dir), message_hub=hub)


def png_height(path) -> int:
    return int.from_bytes(path.read_bytes()[20:24], 'big')  # IHDR height


def test_written_at_each_checkpoint_with_a_panel_per_curve(tmp_path):
    pytest.importorskip('matplotlib')
    plain, with_val = tmp_path / 'a', tmp_path / 'b'
    plain.mkdir(), with_val.mkdir()
    CurveHook().before_save_checkpoint(fake_runner(plain, val=False), checkpoint={})
    CurveHook().after_train(fake_runner(with_val, val=True))
    a, b = plain / 'curves.png', with_val / 'curves.png'
    assert a.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert png_height(b) > png_height(a)  # the validation loss got its own panel
    assert scalar_history(fake_runner(plain, val=True), 'val/loss') == pytest.approx([1.7, 1.4])


def test_written_by_a_training_run(tiny_run):
    pytest.importorskip('matplotlib')
    assert (tiny_run / 'curves.png').stat().st_size > 1000


def test_clear_message_without_matplotlib(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'matplotlib', None)  # import fails
    assert plot_curves({'loss': [1.0, 0.5]}, tmp_path / 'c.png') is False
    logged = []
    monkeypatch.setattr('xtuner_like.engine.hooks.curve_hook.log_once', logged.append)
    CurveHook().after_train(fake_runner(tmp_path, val=False))
    assert not (tmp_path / 'curves.png').exists()
    assert logged and 'pip install -r requirements/plot.txt' in logged[0]
