"""ProgressHook: a live training bar (iteration, loss, lr, tokens/s, ETA) on a terminal."""
from __future__ import annotations

import logging
import sys
from typing import IO

from mmengine.hooks import Hook

from ...utils.progress import on_terminal


def progress_fields(runner, outputs: dict | None) -> dict[str, str]:
    """This iteration's loss, learning rate and trained tokens/s, formatted for the bar."""
    fields: dict[str, str] = {}
    loss = (outputs or {}).get('loss')
    if loss is not None:
        fields['loss'] = f'{float(loss.detach() if hasattr(loss, "detach") else loss):.4f}'
    lrs = runner.optim_wrapper.get_lr().get('lr') if hasattr(runner, 'optim_wrapper') else None
    if lrs:
        fields['lr'] = f'{lrs[0]:.2e}'
    buffer = runner.message_hub.log_scalars.get('train/tokens_per_sec')
    if buffer is not None and len(buffer.data[0]):
        fields['tok/s'] = f'{buffer.current():.0f}'
    return fields


class BarAwareTerminal(logging.Filter):
    """On the logger's terminal handlers while the bar is drawn: the periodic
    ``Iter(train)`` line is dropped there (the bar shows the same numbers; the log file keeps
    it), and any other line first clears the bar so the two never share a line."""

    def __init__(self, bar):
        super().__init__()
        self.bar = bar

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith('Iter(train)'):
            return False
        self.bar.clear()
        return True


def terminal_handlers(logger) -> list[logging.Handler]:
    """The logger's handlers that write to a stream other than a file."""
    return [h for h in getattr(logger, 'handlers', [])
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)]


class ProgressHook(Hook):
    """Redraws one bar every iteration when stderr is a terminal (tqdm shows the ETA).

    Not on a terminal (a log file, CI, ``nohup``) it draws nothing: the logger's line every
    ``log_interval`` iterations is the progress there, so logs never fill with redraws. On a
    terminal that line goes only to the log file (:class:`BarAwareTerminal`).

    Args:
        enabled: None = only on a terminal; True/False force it on or off.
        file: where to draw (stderr by default).
    """

    priority = 'LOWEST'  # after ThroughputHook has put this iteration's tokens/s in the hub

    def __init__(self, enabled: bool | None = None, file: IO[str] | None = None):
        self.enabled = enabled
        self.file = file
        self._bar = None

    def before_train(self, runner) -> None:
        if not (on_terminal() if self.enabled is None else self.enabled) or runner.rank != 0:
            return
        from tqdm import tqdm  # installed with datasets
        self._bar = tqdm(total=runner.max_iters, initial=runner.iter, desc='train',
                         unit='it', file=self.file or sys.stderr, dynamic_ncols=True)
        self._filter = BarAwareTerminal(self._bar)
        for handler in terminal_handlers(getattr(runner, 'logger', None)):
            handler.addFilter(self._filter)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._bar is not None:
            self._bar.set_postfix(progress_fields(runner, outputs), refresh=False)
            self._bar.update(1)

    def after_train(self, runner) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            for handler in terminal_handlers(getattr(runner, 'logger', None)):
                handler.removeFilter(self._filter)
