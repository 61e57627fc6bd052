"""The work-dir guard of `train`: never mix a new run's checkpoints with an earlier run's."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import ConfigError

# What mmengine's CheckpointHook writes: iter_N.pth / epoch_N.pth files (folders under
# DeepSpeed) and the pointer file that `--resume auto` follows.
CHECKPOINT_PATTERNS = ('iter_*.pth', 'epoch_*.pth', 'last_checkpoint')


def earlier_checkpoints(work_dir: str | Path) -> list[Path]:
    """Checkpoints (and the resume pointer) already in ``work_dir``, sorted by name."""
    root = Path(work_dir)
    return sorted(p for pattern in CHECKPOINT_PATTERNS for p in root.glob(pattern))


def check_work_dir(work_dir: str | Path, resume: bool, overwrite: bool) -> None:
    """Refuse to start a fresh run over another run's checkpoints unless told what to do.

    With ``overwrite`` the earlier checkpoints are removed, so a later ``--resume auto``
    can only find this run's.
    """
    found = earlier_checkpoints(work_dir)
    if not found or resume:
        return
    if not overwrite:
        names = ', '.join(p.name for p in found[:3]) + (' ...' if len(found) > 3 else '')
        raise ConfigError(
            f'work dir {work_dir} holds checkpoints of an earlier run ({names}); pass '
            '--resume auto to continue it, --overwrite to start over (they are deleted), '
            'or another --work-dir')
    for path in found:
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def check_writable(work_dir: str | Path) -> None:
    """The work dir must be a folder we can write (mmengine would fail with a traceback)."""
    path = Path(work_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f'.write_test_{os.getpid()}'
        probe.write_bytes(b'')
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f'--work-dir {work_dir}: cannot write there ({exc.strerror}); choose '
                          'a writable folder') from None
