"""Tests for xtuner_like/utils/io.py: the home folder, atomic writes, safe checkpoint loads."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from mmengine.logging import HistoryBuffer

from xtuner_like.errors import CheckpointError
from xtuner_like.utils.io import (atomic_dir, atomic_file, atomic_replace, atomic_write_text,
                                  home_dir, safe_load)


@pytest.mark.parametrize('value', [None, ''])
def test_home_dir_default_when_unset_or_empty(monkeypatch, value):
    if value is None:
        monkeypatch.delenv('XTUNER_LIKE_HOME', raising=False)
    else:
        monkeypatch.setenv('XTUNER_LIKE_HOME', value)
    assert home_dir() == Path('~/.cache/xtuner_like').expanduser()


def test_home_dir_follows_env_and_every_user_agrees(monkeypatch, tmp_path):
    from xtuner_like.dataset.cache import default_cache_dir
    monkeypatch.setenv('XTUNER_LIKE_HOME', str(tmp_path))
    assert home_dir() == tmp_path and default_cache_dir() == tmp_path / 'datasets'


def test_atomic_write_text_replaces_and_leaves_no_temporary(tmp_path):
    path = tmp_path / 'sub' / 'a.txt'
    atomic_write_text(path, 'one')
    atomic_write_text(path, 'two')
    assert path.read_text() == 'two' and [p.name for p in path.parent.iterdir()] == ['a.txt']


def test_atomic_file_keeps_the_old_file_when_the_write_fails(tmp_path):
    path = tmp_path / 'a.bin'
    path.write_bytes(b'old')
    with pytest.raises(RuntimeError):
        with atomic_file(path) as tmp:
            tmp.write_bytes(b'half')
            raise RuntimeError('disk full')
    assert path.read_bytes() == b'old' and [p.name for p in tmp_path.iterdir()] == ['a.bin']
    with atomic_file(path) as tmp:
        tmp.write_bytes(b'new')
    assert path.read_bytes() == b'new' and [p.name for p in tmp_path.iterdir()] == ['a.bin']


def test_atomic_replace_moves_files_and_folders(tmp_path):
    tmp, final = tmp_path / '.x.tmp', tmp_path / 'x'
    tmp.write_bytes(b'data')
    atomic_replace(tmp, final)
    assert final.read_bytes() == b'data' and not tmp.exists()
    (tmp_path / 'old').mkdir()
    (tmp_path / 'old' / 'f').write_text('old')
    (tmp_path / 'new').mkdir()
    (tmp_path / 'new' / 'g').write_text('new')
    atomic_replace(tmp_path / 'new', tmp_path / 'old')
    assert [p.name for p in (tmp_path / 'old').iterdir()] == ['g']


def test_atomic_dir_leaves_nothing_on_failure(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_dir(tmp_path / 'out') as tmp:
            (tmp / 'half').write_text('x')
            raise RuntimeError('boom')
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_atomic_dir_overwrite(tmp_path):
    (tmp_path / 'out').mkdir()
    (tmp_path / 'out' / 'old').write_text('x')
    with pytest.raises(CheckpointError):
        with atomic_dir(tmp_path / 'out'):
            pass
    with atomic_dir(tmp_path / 'out', overwrite=True) as tmp:
        (tmp / 'new').write_text('y')
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == ['new']


def test_safe_load_reads_tensors_and_refuses_unsafe_pickles(tmp_path):
    path = tmp_path / 'ok.pth'
    torch.save({'w': torch.ones(2)}, path)
    assert torch.equal(safe_load(path)['w'], torch.ones(2))
    evil = tmp_path / 'evil.pth'
    torch.save({'x': HistoryBuffer()}, evil)       # pickles getattr: must not load
    with pytest.raises(CheckpointError, match='cannot load checkpoint'):
        safe_load(evil)
    with pytest.raises(CheckpointError, match='does not exist'):
        safe_load(tmp_path / 'missing.pth')


def test_unsafe_checkpoint_message_never_suggests_turning_the_check_off(tmp_path):
    """Issue 16: the error repeated torch's 're-run with weights_only=False' even for malicious
    files."""
    import os

    class Evil:
        def __reduce__(self):
            return (os.system, ('echo pwned',))

    path = tmp_path / 'evil.pth'
    torch.save({'x': Evil()}, path)
    with pytest.raises(CheckpointError) as info:
        safe_load(path)
    message = str(info.value)
    assert 'weights_only' not in message
    assert 'refused unread' in message and 'system' in message and '\n' not in message


def _fail_cleanup(monkeypatch):
    """The scratch file's removal fails too, as it does on a read-only disk."""
    import errno

    def unlink(self, missing_ok=False):
        raise OSError(errno.EROFS, 'Read-only file system')
    monkeypatch.setattr(Path, 'unlink', unlink)


@pytest.mark.parametrize('error, reason', [
    (OSError(28, 'No space left on device'), 'No space left on device'),
    (OSError(30, 'Read-only file system'), 'Read-only file system'),
    (OSError('4096 requested and 2080 written'), 'the disk is full'),   # numpy's tofile (gguf)
    (RuntimeError('Error while serializing: I/O error: No space left on device (os error 28)'),
     'No space left on device'),                                        # safetensors
])
def test_a_failed_write_is_one_line_naming_the_target_and_cleanup_never_hides_it(
        tmp_path, monkeypatch, error, reason):
    """Issue 23, item 12: exporting to a full or read-only disk ended in a traceback, and
    atomic_file's own cleanup (unlink on a read-only disk) raised over the first error."""
    _fail_cleanup(monkeypatch)
    with pytest.raises(CheckpointError) as err:
        with atomic_file(tmp_path / 'model.gguf'):
            raise error
    text = str(err.value)
    assert text.startswith(f'cannot write {tmp_path / "model.gguf"}: ') and reason in text
    assert '\n' not in text
    with pytest.raises(CheckpointError, match=f'cannot write {tmp_path / "hf"}: .*{reason}'):
        with atomic_dir(tmp_path / 'hf'):
            raise error
    assert not list(tmp_path.iterdir())


def test_other_errors_pass_through_unchanged(tmp_path):
    for error in (ValueError('bad value'), ConnectionError('offline'),
                  PermissionError(13, 'Permission denied', '/elsewhere/input.json')):
        with pytest.raises(type(error)):
            with atomic_file(tmp_path / 'a.bin'):
                raise error
    assert not list(tmp_path.iterdir())
