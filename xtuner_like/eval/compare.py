"""Base vs tuned: each metric for both, the difference and its 95% interval from a paired
bootstrap over samples; saved results tabulated across runs.

The bootstrap resamples the documents both models answered (paired by ``doc_id``) and
recomputes each metric's aggregate on the resample: a mean for per-sample scores, the ratio
of sums for a loss (summed log-probs over summed tokens) and its exp for perplexity.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

RESULTS_FILE = 'results.json'


def _aggregate(metric: str) -> Callable[[np.ndarray], float]:
    if metric == 'perplexity':
        return lambda v: math.exp(min(-v[:, 0].sum() / max(v[:, 1].sum(), 1), 50.0))
    if metric == 'loss':
        return lambda v: float(-v[:, 0].sum() / max(v[:, 1].sum(), 1))
    return lambda v: float(v.mean())


def sample_values(results: dict, task: str, metric: str) -> dict[int, Any]:
    """``doc_id -> value`` of ``metric`` in the per-sample log of ``task``."""
    return {s['doc_id']: s[metric] for s in results.get('samples', {}).get(task, [])
            if metric in s}


def paired_bootstrap(tuned: Sequence, base: Sequence, metric: str, iters: int = 2000,
                     seed: int = 0) -> tuple[float, float, float]:
    """(difference tuned - base, 2.5th and 97.5th percentile of the resampled difference)."""
    a, b = np.asarray(tuned, dtype=np.float64), np.asarray(base, dtype=np.float64)
    agg = _aggregate(metric)
    diff = agg(a) - agg(b)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(a), size=(iters, len(a)))
    diffs = np.array([agg(a[p]) - agg(b[p]) for p in picks])
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float(diff), float(low), float(high)


def metric_names(results: dict, task: str) -> list[str]:
    """The task's metrics as lm-eval reports them (``acc``, not ``acc,none``)."""
    names = [k.split(',')[0] for k in results['results'].get(task, {})
             if ',' in k and '_stderr' not in k]
    return list(dict.fromkeys(names))


def _score(results: dict, task: str, metric: str) -> float | None:
    row = results['results'].get(task, {})
    value = next((v for k, v in row.items() if k.split(',')[0] == metric), None)
    return value if isinstance(value, (int, float)) else None


def compare(tuned: dict, base: dict, iters: int = 2000) -> list[dict]:
    """One row per (task, metric): both scores, their difference and its 95% interval."""
    rows = []
    for task in tuned['results']:
        if task not in base['results']:
            continue
        for metric in metric_names(tuned, task):
            row = {'task': task, 'metric': metric, 'tuned': _score(tuned, task, metric),
                   'base': _score(base, task, metric)}
            a, b = sample_values(tuned, task, metric), sample_values(base, task, metric)
            docs = sorted(set(a) & set(b))
            if docs:
                row['diff'], row['low'], row['high'] = paired_bootstrap(
                    [a[d] for d in docs], [b[d] for d in docs], metric, iters)
                row['n'] = len(docs)
            rows.append(row)
    return rows


def _fmt(value: Any) -> str:
    return '' if value is None else f'{value:.4f}' if isinstance(value, float) else str(value)


def markdown_table(rows: list[dict], tuned_name: str = 'tuned', base_name: str = 'base') -> str:
    """The comparison rows as one markdown table."""
    lines = [f'| task | metric | {tuned_name} | {base_name} | difference | 95% CI | n |',
             '| --- | --- | ---: | ---: | ---: | --- | ---: |']
    for r in rows:
        ci = f"[{r['low']:+.4f}, {r['high']:+.4f}]" if 'low' in r else ''
        diff = f"{r['diff']:+.4f}" if 'diff' in r else ''
        lines.append(f"| {r['task']} | {r['metric']} | {_fmt(r['tuned'])} | {_fmt(r['base'])} "
                     f"| {diff} | {ci} | {r.get('n', '')} |")
    return '\n'.join(lines)


def scores_table(results: dict) -> str:
    """One model's scores as a markdown table."""
    lines = ['| task | metric | score |', '| --- | --- | ---: |']
    for task in results['results']:
        for metric in metric_names(results, task):
            lines.append(f'| {task} | {metric} | {_fmt(_score(results, task, metric))} |')
    return '\n'.join(lines)


def compare_saved(dirs: Sequence[str | Path]) -> str:
    """Saved ``results.json`` files (one per directory, or the files themselves) side by side."""
    runs = []
    for d in dirs:
        path = Path(d)
        path = path if path.is_file() else path / RESULTS_FILE
        if not path.is_file():
            from ..errors import ConfigError
            raise ConfigError(f'{d}: no {RESULTS_FILE} (run `xtuner-like eval ... --output-dir '
                              f'{d}` first)')
        runs.append((str(d), json.loads(path.read_text())))
    keys = list(dict.fromkeys((t, m) for _, res in runs for t in res['results']
                              for m in metric_names(res, t)))
    lines = ['| task | metric | ' + ' | '.join(name for name, _ in runs) + ' |',
             '| --- | --- |' + ' ---: |' * len(runs)]
    for task, metric in keys:
        cells = [_fmt(_score(res, task, metric)) for _, res in runs]
        lines.append(f'| {task} | {metric} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)
