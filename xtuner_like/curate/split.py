"""Stage 'split': a seeded train/eval split decided by each row's content, so a row lands
in the same split on every rerun, whatever the order or number of the other rows."""
from __future__ import annotations

import numpy as np

from .text import conversation_text, normalize, stable_hash


def split_key_batch(batch: dict, *, seed: int, eval_ratio: float) -> dict:
    """``_split_u`` (a uniform number in [0, 1) from content and seed) and ``_split``
    ('eval' below ``eval_ratio``)."""
    u = [(stable_hash(normalize(conversation_text(turns)), seed) % (1 << 53)) / (1 << 53)
         for turns in batch['conversation']]
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
