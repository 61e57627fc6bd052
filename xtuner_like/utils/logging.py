"""Logging helpers on top of mmengine's current logger."""
from __future__ import annotations

import logging
import sys

from mmengine.logging import MMLogger, print_log

_SEEN: set[str] = set()


def _console_to_live_stream(logger: logging.Logger) -> None:
    """mmengine binds its console handler to the ``sys.stdout`` of the moment the logger is
    made; when that stream was a captured one since closed (a finished notebook cell, a test
    with captured output), logging raised "I/O operation on closed file" on every line. Such
    a handler writes to the ``sys.stderr`` of now (stdout may carry a command's results)."""
    for handler in logger.handlers:
        stream = getattr(handler, 'stream', None)
        if type(handler) is logging.StreamHandler and getattr(stream, 'closed', False):
            handler.stream = sys.stderr     # not setStream(): it flushes the closed stream


def log(msg: str, level: int = logging.INFO) -> None:
    """Log through mmengine's current logger (the runner's, once it exists)."""
    _console_to_live_stream(MMLogger.get_current_instance())
    print_log(msg, logger='current', level=level)


def log_once(msg: str, level: int = logging.INFO) -> None:
    """Log ``msg`` the first time it is seen in this process."""
    if msg not in _SEEN:
        _SEEN.add(msg)
        log(msg, level)
