"""Files: the home folder, atomic writes and safe checkpoint loading.

- :func:`home_dir` is the one root of what this package keeps on disk
  (``$XTUNER_LIKE_HOME``, or ``~/.cache/xtuner_like`` when the variable is unset or empty).
- Whatever we write that another run may read (checkpoints, exported folders, the dataset
  cache, generated data) appears complete or not at all: written beside its target, then
  renamed (:func:`atomic_write_text`, :func:`atomic_dir`, :func:`atomic_replace`).
- :func:`safe_load` reads a checkpoint with ``weights_only=True`` and only the mmengine and
  numpy types its checkpoints hold allowlisted; a user's file is never unpickled freely.
"""
from __future__ import annotations

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


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _scratch_name(path)
    try:
        tmp.write_text(text, encoding='utf-8')
        atomic_replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


@contextmanager
def atomic_dir(out_dir: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``out_dir`` that becomes ``out_dir`` on success.

    A failed write leaves no half-written folder that a later load could pick up.

    Raises:
        CheckpointError: ``out_dir`` holds files and ``overwrite`` is False.
    """
    out = Path(out_dir).expanduser().resolve()
    if out.exists() and not overwrite and (not out.is_dir() or any(out.iterdir())):
        raise CheckpointError(f'{out} already exists and is not an empty directory; '
                              'delete it or choose another output directory')
    out.parent.mkdir(parents=True, exist_ok=True)
    # mkdir, not mkdtemp: the final folder gets the user's umask, not mode 0700.
    tmp = _scratch_name(out)
    tmp.mkdir()
    try:
        yield tmp
        if out.exists() and not out.is_dir():
            out.unlink()
        atomic_replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
    reason = getattr(exc, 'strerror', None) or str(exc).splitlines()[0]
    return (f'cannot write checkpoint {path}: {reason}; the earlier checkpoints are kept and no '
            'temporary file is left; free disk space or choose a writable --work-dir')
