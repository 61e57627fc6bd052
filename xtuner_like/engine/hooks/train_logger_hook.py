"""TrainLoggerHook: the ``Iter(train)`` line every ``interval`` iterations, and always at the
first and the last iteration of a run."""
from __future__ import annotations

from typing import Any

from mmengine.hooks import LoggerHook


class TrainLoggerHook(LoggerHook):
    """mmengine's LoggerHook, plus a line at the first and the last iteration of this run.

    With only the every-``interval`` line, a run shorter than ``log_interval`` (a smoke test:
    ``log_interval=5``, ``max_iters=4``) printed no metrics at all, and a longer one hid where
    it started (issue 23, item 8). The first iteration is the first of this process (a resumed
    run's too); the last is ``max_iters``.
    """

    def before_train(self, runner: Any) -> None:
        self._first_iter = runner.iter

    def _at_an_end(self, runner: Any) -> bool:
        return runner.iter == getattr(self, '_first_iter', 0) or \
            runner.iter + 1 == runner.max_iters

    def _parent_logs(self, runner: Any, batch_idx: int) -> bool:
        """LoggerHook's own condition for a train line (every ``interval``, end of epoch)."""
        return self.every_n_inner_iters(batch_idx, self.interval) or (
            self.end_of_epoch(runner.train_dataloader, batch_idx)
            and (not self.ignore_last or len(runner.train_dataloader) <= self.interval))

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                         outputs: dict | None = None) -> None:
        if self._parent_logs(runner, batch_idx) or not self._at_an_end(runner):
            super().after_train_iter(runner, batch_idx, data_batch, outputs)
            return
        tag, line = runner.log_processor.get_log_after_iter(runner, batch_idx, 'train')
        runner.logger.info(line)
        runner.visualizer.add_scalars(tag, step=runner.iter + 1, file_path=self.json_log_path)
