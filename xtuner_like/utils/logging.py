"""Logging helpers on top of mmengine's current logger."""
from __future__ import annotations

import logging

from mmengine.logging import print_log

_SEEN: set[str] = set()


def log(msg: str, level: int = logging.INFO) -> None:
    """Log through mmengine's current logger (the runner's, once it exists)."""
    print_log(msg, logger='current', level=level)


def log_once(msg: str, level: int = logging.INFO) -> None:
    """Log ``msg`` the first time it is seen in this process."""
    if msg not in _SEEN:
        _SEEN.add(msg)
        log(msg, level)
