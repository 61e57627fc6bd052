"""Stage 'split': a seeded train/eval split decided by each row's content, so a row lands
in the same split on every rerun, whatever the order or number of the other rows."""
from __future__ import annotations

from typing import Any

import numpy as np

from .stage import CURATION_STAGES, ENABLED, Option, Stage
from .text import decode, normalize, sample_text, stable_hash


def split_key_batch(batch: dict, *, seed: int, eval_ratio: float) -> dict:
    """``_split_u`` (a uniform number in [0, 1) from content and seed) and ``_split``
    ('eval' below ``eval_ratio``)."""
    u = [(stable_hash(normalize(sample_text(sample)), seed) % (1 << 53)) / (1 << 53)
         for sample in decode(batch)]
    return {'_split_u': u, '_split': ['eval' if x < eval_ratio else 'train' for x in u]}


def eval_ids(ids: np.ndarray, u: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` ids with the smallest draws (ties by id), sorted.

    >>> eval_ids(np.array([3, 1, 2]), np.array([0.5, 0.9, 0.1]), 2)
    array([2, 3])
    """
    return np.sort(ids[np.lexsort((ids, u))[:count]])


def assign_batch(batch: dict, *, eval_ids: np.ndarray) -> dict:
    """``_split`` from a fixed set of eval ids (for ``eval_count``)."""
    ids = np.asarray(batch['_id'])
    return {'_split': np.where(np.isin(ids, eval_ids), 'eval', 'train').tolist()}


def _count_problem(value: Any) -> str:
    return '' if value is None or (isinstance(value, int) and value >= 0) else \
        f'{value!r}; give a number of rows or None'


class SplitStage(Stage):
    """Row by row (a global pick of the smallest draws with ``eval_count``)."""

    name, order = 'split', 60
    options = {
        'enabled': ENABLED,
        'eval_ratio': Option(0.02, fraction=True, help='share of rows in the eval split'),
        'eval_count': Option(None, check=_count_problem, help='exactly this many eval rows '
                                                              '(wins over eval_ratio)'),
        'seed': Option(0),
    }

    def run(self, run: Any, data: Any, opts: dict) -> tuple[Any, None]:
        ratio = 0.0 if opts['eval_count'] is not None else opts['eval_ratio']
        data = run.engine.map(data, split_key_batch, 'split', seed=opts['seed'],
                              eval_ratio=ratio)
        if opts['eval_count'] is not None:
            cols = run.engine.gather(data, ['_id', '_split_u'])
            data = run.engine.map(data, assign_batch, 'split: assign',
                                  eval_ids=eval_ids(cols['_id'], cols['_split_u'],
                                                    int(opts['eval_count'])))
        return data, None


CURATION_STAGES.register('split', SplitStage())
