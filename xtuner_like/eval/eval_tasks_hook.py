"""EvalTasksHook: harness tasks and task files on the live model, at intervals and at the end.

Lives beside the backend (eval/ and engine/ are separate packages of one level); recipes
switch it on with the ``eval_tasks`` / ``eval_task_files`` knobs of the runtime base.
"""
from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Sequence

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from ..errors import ConfigError
from ..model.base import unwrap_model


class EvalTasksHook(Hook):
    """Evaluates ``tasks`` / ``task_files`` every ``interval`` iterations and after training.

    Each metric is logged, written to TensorBoard as ``eval/<task>/<metric>`` and appended to
    ``<work_dir>/eval_results.jsonl``. Chat models are prompted with the training template
    (the dataset's ChatFormat), exactly as the exported tokenizer will prompt them.

    Args:
        tasks: lm-eval task or group names.
        task_files: ``FILE[:KIND]`` specs (see ``eval/task_files.py``).
        interval: also evaluate every N iterations (None: only after training).
        limit: samples per task (N, or a share below 1).
        save_best: ``'<task>/<metric>'``: keep ``best_eval.pth`` at the best value so far
            (higher or lower is better as the task says).
        chat: prompt through the training template (default: when the run has one).
        batch_size: contexts per forward pass.
    """

    priority = 'LOW'

    def __init__(self, tasks: Sequence[str] = (), task_files: Sequence[str] = (),
                 interval: int | None = None, limit: int | float | None = None,
                 save_best: str | None = None, chat: bool | None = None, batch_size: int = 8):
        self.tasks, self.task_files = list(tasks or ()), list(task_files or ())
        self.interval, self.limit, self.save_best = interval, limit, save_best
        self.chat, self.batch_size = chat, batch_size
        self.best: float | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.tasks or self.task_files)

    def before_train(self, runner) -> None:
        if self.save_best and (self.save_best.count('/') != 1 or not self.enabled):
            raise ConfigError(f"save_best={self.save_best!r}: give '<task>/<metric>' of one of "
                              'the evaluated tasks (eval_tasks / eval_task_files)')

    def evaluate(self, runner) -> dict:
        """The harness's results for the model as it is now."""
        model = unwrap_model(runner.model)
        dataset = runner.train_dataloader.dataset
        chat_format = getattr(dataset, 'chat_format', None)
        tokenizer = copy.copy(dataset.tokenizer)
        has_template = chat_format is not None and chat_format.chat_template is not None
        chat = has_template if self.chat is None else self.chat
        if has_template:
            tokenizer.chat_template = chat_format.chat_template
        # imported here: a run without evaluation tasks never loads lm-eval (start-up time)
        from .backend import XtunerLM
        from .run import run_tasks
        was_training = model.training
        model.eval()
        try:
            lm = XtunerLM(model.llm, tokenizer, batch_size=self.batch_size)
            return run_tasks(lm, self.tasks, self.task_files,
                             Path(runner.work_dir) / 'eval_task_data', self.limit, chat,
                             chat_format)
        finally:
            model.train(was_training)

    def _run(self, runner, step: int) -> None:
        results = self.evaluate(runner)
        scores = {f'{task}/{key.split(",")[0]}': value
                  for task, row in results['results'].items() for key, value in row.items()
                  if ',' in key and '_stderr' not in key and isinstance(value, (int, float))}
        runner.logger.info(f'eval at iter {step}: ' + ', '.join(
            f'{name} {value:.4f}' for name, value in scores.items()))
        runner.visualizer.add_scalars({f'eval/{k}': v for k, v in scores.items()}, step=step)
        if is_main_process():
            with (Path(runner.work_dir) / 'eval_results.jsonl').open('a') as f:
                f.write(json.dumps({'iter': step, **scores}) + '\n')
        if self.save_best:
            self._keep_best(runner, results, scores, step)

    def _keep_best(self, runner, results: dict, scores: dict, step: int) -> None:
        if self.save_best not in scores:
            raise ConfigError(f'save_best={self.save_best!r}: not among the results '
                              f'{sorted(scores)}')
        task, metric = self.save_best.split('/')
        higher = results.get('higher_is_better', {}).get(task, {}).get(metric, True)
        value = scores[self.save_best]
        better = self.best is None or (value > self.best if higher else value < self.best)
        if better and not math.isnan(value):
            self.best = value
            runner.save_checkpoint(runner.work_dir, 'best_eval.pth', save_optimizer=False,
                                   save_param_scheduler=False)
            runner.logger.info(f'best {self.save_best} so far ({value:.4f} at iter {step}); '
                               'saved best_eval.pth')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        n = self.interval
        if self.enabled and n and self.every_n_train_iters(runner, n) \
                and runner.iter + 1 < runner.max_iters:
            self._run(runner, runner.iter + 1)

    def after_train(self, runner) -> None:
        if self.enabled:
            self._run(runner, runner.iter)
