"""Files: the home folder, atomic writes and safe checkpoint loading.

- :func:`home_dir` is the one root of what this package keeps on disk
  (``$XTUNER_LIKE_HOME``, or ``~/.cache/xtuner_like`` when the variable is unset or empty).
- Whatever we write that another run may read (checkpoints, exported folders, the dataset
  cache, generated data) appears complete or not at all: written beside its target, then
  renamed (:func:`atomic_file`, :func:`atomic_write_text`, :func:`atomic_dir`,
  :func:`atomic_replace`).
- :func:`safe_load` reads a checkpoint with ``weights_only=True`` and only the mmengine and
  numpy types its checkpoints hold allowlisted; a user's file is never unpickled freely.
"""
from __future__ import annotations

import errno
import os
import re
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from ..compat import numpy_reconstruct
from ..errors import CheckpointError

HOME_ENV = 'XTUNER_LIKE_HOME'


def home_dir() -> Path:
    """``$XTUNER_LIKE_HOME`` (when set and not empty) or ``~/.cache/xtuner_like``."""
    return Path(os.environ.get(HOME_ENV) or '~/.cache/xtuner_like').expanduser()


def _scratch_name(target: Path) -> Path:
    return target.parent / f'.{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}'


def atomic_replace(tmp_path: str | os.PathLike, final_path: str | os.PathLike) -> None:
    """Move a fully written file (synced first) or folder into place; the rename is atomic
    on one filesystem, and an existing folder at ``final_path`` is replaced."""
    tmp_path, final_path = Path(tmp_path), Path(final_path)
    if tmp_path.is_file():
        with open(tmp_path, 'rb') as f:
            os.fsync(f.fileno())
    elif final_path.is_dir():
        shutil.rmtree(final_path)
    os.replace(tmp_path, final_path)


# How libraries word a failed write when they do not raise OSError (safetensors' Rust
# SafetensorError, torch's "PytorchStreamWriter failed writing file").
_WRITE_FAILURES = ('No space left on device', 'Read-only file system', 'Permission denied',
                   'Disk quota exceeded', 'file write failed', 'StorageFull',
                   'ReadOnlyFilesystem')


_SHORT_WRITE = re.compile(r'\d+ requested and \d+ written')
_DISK_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG}
_ACCESS_ERRNOS = {errno.EACCES, errno.EPERM}


def write_failure_reason(exc: BaseException, target: str | os.PathLike | None = None
                         ) -> str | None:
    """Why a write failed (a full or read-only disk; no permission to write beside
    ``target``), or None when ``exc`` is not a failed write."""
    if isinstance(exc, OSError):
        near = target is None or exc.filename is None or \
            str(exc.filename).startswith(str(Path(target).parent))
        if exc.errno in _DISK_ERRNOS or (exc.errno in _ACCESS_ERRNOS and near):
            return exc.strerror or os.strerror(exc.errno)
        if exc.errno is not None:
            return None
    text = str(exc)
    if _SHORT_WRITE.search(text):   # numpy's tofile (the gguf writer) on a full disk
        return f'{text} (the disk is full)'
    return next((reason for reason in _WRITE_FAILURES if reason in text), None)


def _cannot_write(target: Path, exc: BaseException) -> CheckpointError | None:
    reason = write_failure_reason(exc, target)
    if reason is None:
        return None
    return CheckpointError(f'cannot write {target}: {reason}; nothing was written there (no '
                           'temporary file is left); free disk space or choose a writable '
                           'folder')


def _remove_quietly(path: Path) -> None:
    """Remove a scratch file or folder; a failure here (the disk that failed the write) must
    never hide the error that got us here."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass


@contextmanager
def _writing(target: Path, scratch: Path) -> Iterator[None]:
    """Turn a failed write into one line naming ``target``; always remove ``scratch``."""
    try:
        yield
    except Exception as exc:
        error = _cannot_write(target, exc)
        if error is None:
            raise
        raise error from exc
    finally:
        _remove_quietly(scratch)


@contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a scratch path beside ``path`` that replaces ``path`` once the block succeeds;
    a failed write leaves neither a half file nor the scratch file.

    Raises:
        CheckpointError: the disk is full or read-only (one line naming ``path``).
    """
    path = Path(path)
    tmp = _scratch_name(path)
    with _writing(path, tmp):
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        atomic_replace(tmp, path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file beside it."""
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding='utf-8')
    return Path(path)


@contextmanager
def atomic_dir(out_dir: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``out_dir`` that becomes ``out_dir`` on success.

    A failed write leaves no half-written folder that a later load could pick up.

    Raises:
        CheckpointError: ``out_dir`` holds files and ``overwrite`` is False, or the disk is
            full or read-only (one line naming ``out_dir``).
    """
    out = Path(out_dir).expanduser().resolve()
    if out.exists() and not overwrite and (not out.is_dir() or any(out.iterdir())):
        raise CheckpointError(f'{out} already exists and is not an empty directory; '
                              'delete it or choose another output directory')
    # mkdir, not mkdtemp: the final folder gets the user's umask, not mode 0700.
    tmp = _scratch_name(out)
    with _writing(out, tmp):
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        yield tmp
        if out.exists() and not out.is_dir():
            out.unlink()
        atomic_replace(tmp, out)


def _numpy_globals() -> list:
    found = [np.ndarray, np.dtype, numpy_reconstruct()]
    return found + [type(np.dtype(t)) for t in ('float64', 'float32', 'int64', 'int32', 'bool')]


# What an mmengine checkpoint holds besides tensors and containers (see engine/checkpoint.py).
SAFE_GLOBALS = [HistoryBuffer, *_numpy_globals()]


def safe_load(path: str | os.PathLike, map_location: Any = 'cpu',
              extra_globals: list | None = None, mmap: bool = False) -> Any:
    """``torch.load`` with ``weights_only=True``; only :data:`SAFE_GLOBALS` (and
    ``extra_globals``) are allowlisted.

    Raises:
        CheckpointError: the file is missing or holds anything else.
    """
    if not Path(path).exists():
        raise CheckpointError(f'checkpoint {path} does not exist')
    try:
        with torch.serialization.safe_globals([*SAFE_GLOBALS, *(extra_globals or [])]):
            return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except Exception as exc:
        raise CheckpointError(f'cannot load checkpoint {path}: {load_failure(exc)}') from exc


def load_failure(exc: BaseException) -> str:
    """Why a checkpoint did not load, in one line, without torch's advice to turn the
    ``weights_only`` safety check off (never right for a file of unknown origin)."""
    import pickle
    text = str(exc)
    if isinstance(exc, pickle.UnpicklingError) or 'weights_only' in text:
        # torch's own words after its advice: 'Unsupported global: GLOBAL x.y ...' or
        # 'Trying to load unsupported GLOBAL posix.system whose module posix is blocked.'
        found = re.search(r'[^\n]*[Uu]nsupported[^\n]*', text)
        what = found.group(0).strip() if found else 'an unknown object'
        return (f'it holds objects outside the types a checkpoint may hold ({what}); it was '
                'refused unread. Use checkpoints written by xtuner_like or mmengine')
    first = text.strip().splitlines()[0] if text.strip() else ''
    return f'{type(exc).__name__}: {first}' if first else type(exc).__name__


def write_failure(path: str | os.PathLike, exc: BaseException) -> str:
    """One line for a checkpoint that could not be written (full disk, read-only folder)."""
    reason = write_failure_reason(exc) or str(exc).splitlines()[0]
    return (f'cannot write checkpoint {path}: {reason}; the earlier checkpoints are kept and no '
            'temporary file is left; free disk space or choose a writable --work-dir')
