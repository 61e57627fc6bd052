"""Run harness tasks and task files on one model; save the results in the harness's format."""
from __future__ import annotations

import fnmatch
import json
import logging
from pathlib import Path
from typing import Any, Sequence

from ..errors import ConfigError
from ..utils.io import atomic_write_text
from ..utils.logging import log
from .compare import RESULTS_FILE
from .task_files import build_file_task

# What a missing dataset looks like when the hub cannot be reached.
_OFFLINE_ERRORS = ('offline', 'Couldn\'t reach', 'ConnectionError', 'LocalEntryNotFound',
                   'not found on the Hugging Face Hub', 'DatasetNotFoundError',
                   'Max retries exceeded', "doesn't exist on the Hub")


def list_tasks(pattern: str | None = None) -> list[str]:
    """Names of the harness's tasks and groups matching ``pattern`` (shell-style)."""
    from lm_eval.tasks import TaskManager
    names = TaskManager().all_tasks
    return [n for n in names if pattern is None or fnmatch.fnmatch(n, pattern)
            or (not any(c in pattern for c in '*?[') and pattern in n)]


def _quiet_harness() -> None:
    """lm-eval logs every request batch at INFO; our log says what runs."""
    for name in ('lm_eval', 'lm-eval', 'lm_eval.evaluator', 'lm_eval.api.task'):
        logging.getLogger(name).setLevel(logging.WARNING)


def run_tasks(lm: Any, tasks: Sequence[str] = (), task_files: Sequence[str] = (),
              data_dir: Path | None = None, limit: int | float | None = None,
              chat: bool = False, chat_format: Any = None,
              num_fewshot: int | None = None) -> dict:
    """Evaluate ``lm`` (an lm-eval model, e.g. :class:`XtunerLM`) and return the harness's
    results dict, with per-sample outputs under ``'samples'``.

    Args:
        tasks: harness task or group names (``mmlu``, ``arc_easy``, ...).
        task_files: ``FILE[:KIND]`` specs of the user's own data (see ``task_files``).
        data_dir: where the task files' normalised rows are written.
        limit: samples per task (an int) or a share (a float < 1).
        chat: prompt through the model's chat template (else raw text).
        chat_format: the run's ChatFormat (loss task files render with it).
    """
    import lm_eval
    _quiet_harness()
    if not tasks and not task_files:
        raise ConfigError('nothing to evaluate: give --tasks NAMES and/or --task-file FILE')
    built = [build_file_task(spec, Path(data_dir or '.'), lm.tokenizer, chat_format)
             for spec in task_files]
    log(f"evaluating {', '.join([*tasks, *(t.config.task for t in built)])} "
        f"({'chat template' if chat else 'raw text'} prompts"
        f"{f', limit {limit}' if limit else ''})")
    # Task files only: an empty task index. Indexing the harness's own tasks (thousands of
    # YAML files) took ~5 s of every call on a 2-core CPU, whatever the model.
    from lm_eval.tasks import TaskManager
    manager = TaskManager(include_defaults=bool(tasks))
    try:
        results = lm_eval.simple_evaluate(
            model=lm, tasks=[*tasks, *built], limit=limit, num_fewshot=num_fewshot,
            apply_chat_template=chat, log_samples=True, bootstrap_iters=0,
            fewshot_as_multiturn=chat, task_manager=manager)
    except Exception as exc:  # the harness's loaders raise many kinds for a missing dataset
        text = f'{type(exc).__name__}: {exc}'
        if any(marker in text for marker in _OFFLINE_ERRORS):
            raise ConfigError(
                f'task(s) {", ".join(tasks)}: their dataset is not in the Hugging Face cache and '
                'the hub cannot be reached (' + text.splitlines()[0][:200] + '); run once with '
                'network access (unset HF_HUB_OFFLINE / HF_DATASETS_OFFLINE) to cache it, or '
                'use --task-file with local data') from None
        if isinstance(exc, KeyError) and tasks:
            raise ConfigError(f'unknown task in {list(tasks)}; see `xtuner-like eval '
                              '--list-tasks PATTERN`') from None
        raise
    if results is None:
        raise ConfigError('lm-eval returned no results (another rank holds them)')
    return results


def save_results(results: dict, out_dir: Path, log_samples: bool = False) -> Path:
    """``results.json`` (the harness's results, configs and versions) and, with
    ``log_samples``, one ``samples_<task>.jsonl`` per task."""
    out_dir.mkdir(parents=True, exist_ok=True)
    body = {k: v for k, v in results.items() if k != 'samples'}
    body['samples'] = {t: [{k: s[k] for k in s if k not in ('arguments', 'resps',
                                                           'filtered_resps', 'doc')}
                           for s in samples] for t, samples in results['samples'].items()}
    atomic_write_text(out_dir / RESULTS_FILE, json.dumps(body, indent=1, default=str))
    if log_samples:
        for task, samples in results['samples'].items():
            atomic_write_text(out_dir / f'samples_{task}.jsonl', ''.join(
                json.dumps(s, default=str, ensure_ascii=False) + '\n' for s in samples))
    return out_dir / RESULTS_FILE
