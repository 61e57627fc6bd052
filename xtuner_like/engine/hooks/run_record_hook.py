"""RunRecordHook: ``<work_dir>/run.json`` (status, wall time, recipe, delta, data size) for
``xtuner-like runs`` and sweeps (engine/tracking_record.py)."""
from __future__ import annotations

from mmengine.hooks import Hook

from ..tracking import format_delta, run_info
from ..tracking_record import end_segment, start_segment, update_run


class RunRecordHook(Hook):
    """Writes ``run.json`` at the start, at every checkpoint and at the end (rank 0).

    A run that raises is marked by ``tracking_record.recording`` around ``runner.train()``.
    """

    priority = 'VERY_LOW'

    def before_train(self, runner) -> None:
        if runner.rank != 0:
            return
        info = run_info(runner.cfg)
        stats = getattr(runner.train_dataloader.dataset, 'stats', {}) or {}
        start_segment(runner.work_dir, recipe=info.get('recipe'),
                      options={k: str(v) for k, v in info.get('options', {}).items()},
                      sweep={k: str(v) for k, v in (info.get('sweep') or {}).items()},
                      delta=format_delta(info.get('options', {})),
                      data_rows=stats.get('samples'), data_tokens=stats.get('tokens'),
                      max_iters=getattr(runner.train_loop, 'max_iters', None),
                      start_iter=runner.iter)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if runner.rank == 0:
            update_run(runner.work_dir, iter=runner.iter + 1)

    def after_train(self, runner) -> None:
        if runner.rank != 0:
            return
        throughput = runner.message_hub.get_info('throughput') or {}
        end_segment(runner.work_dir, 'finished', iter=runner.iter,
                    tokens_per_sec=throughput.get('trained_tokens_per_sec'),
                    real_tokens_per_sec=throughput.get('real_tokens_per_sec'))
