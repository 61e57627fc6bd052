"""Stage 'split': a seeded train/eval split decided by each row's content, so a row lands
in the same split on every rerun, whatever the order or number of the other rows; rows
that are near duplicates of each other (below near_dedup's threshold, above
``group_similarity``) land on the same side, so validation loss is not flattered by eval
rows whose twins are trained on."""
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


def group_roots(ids: np.ndarray, groups: dict[int, list[int]]) -> np.ndarray:
    """Each row's group: the smallest id of its near-duplicate group (its own id if none)."""
    root = {m: r for r, ms in groups.items() for m in ms}
    return np.array([root.get(int(i), int(i)) for i in ids.tolist()], dtype=np.int64)


def group_draws(ids: np.ndarray, u: np.ndarray, roots: np.ndarray) -> np.ndarray:
    """Each row takes the draw of its group's root row (one draw a group, unbiased by the
    group's size), so a group lands on one side.

    >>> group_draws(np.array([1, 2, 3]), np.array([0.9, 0.5, 0.1]), np.array([1, 2, 1])).tolist()
    [0.9, 0.5, 0.9]
    """
    where = {int(i): k for k, i in enumerate(ids.tolist())}
    return u[[where.get(int(r), k) for k, r in enumerate(roots.tolist())]]


def eval_ids_by_groups(ids: np.ndarray, u: np.ndarray, roots: np.ndarray, count: int,
                       row_u: np.ndarray | None = None) -> np.ndarray:
    """At most ``count`` eval ids in whole groups: groups in order of their draw ``u``,
    each taken when it still fits; row by row (by ``row_u``, the rows' own draws) when no
    group fits."""
    order = np.lexsort((ids, roots, u))
    sizes = dict(zip(*np.unique(roots, return_counts=True)))
    taken, chosen = 0, []
    for root in dict.fromkeys(roots[order].tolist()):
        if taken + sizes[root] <= count:
            chosen.append(root)
            taken += sizes[root]
    if not taken:
        return eval_ids(ids, u if row_u is None else row_u, count)
    return np.sort(ids[np.isin(roots, chosen)])


def eval_ids_by_ratio(ids: np.ndarray, u: np.ndarray, ratio: float) -> np.ndarray:
    """The ids whose draw is below ``ratio``, sorted."""
    return np.sort(ids[u < ratio])


def _similar(value: Any) -> str:
    return '' if value is None or (isinstance(value, (int, float)) and 0 < value <= 1) else \
        f'{value!r}; give a word-set similarity in (0, 1] or None'


class SplitStage(Stage):
    """A seeded split by content; near-duplicate groups (rows at least ``group_similarity``
    alike, as near_dedup measures it) stay on one side, so no eval row has a near twin in
    train."""

    name, order = 'split', 60
    options = {
        'enabled': ENABLED,
        'eval_ratio': Option(0.02, fraction=True, help='share of rows in the eval split'),
        'eval_count': Option(None, check=_count_problem, help='at most this many eval rows, '
                                                              'whole groups (wins over '
                                                              'eval_ratio)'),
        'seed': Option(0),
        'group_similarity': Option(0.7, check=_similar, help='rows this alike (word-set '
                                                             'Jaccard) share a side; None: off'),
    }

    def run(self, run: Any, data: Any, opts: dict) -> tuple[Any, None]:
        ratio = 0.0 if opts['eval_count'] is not None else opts['eval_ratio']
        data = run.engine.map(data, split_key_batch, 'split', seed=opts['seed'],
                              eval_ratio=ratio)
        if opts['group_similarity'] is None and opts['eval_count'] is None:
            return data, None
        cols = run.engine.gather(data, ['_id', '_split_u'])
        ids, u = cols['_id'], cols['_split_u']
        roots = ids if opts['group_similarity'] is None else group_roots(
            ids, self._groups(run, data, opts))
        grouped = group_draws(ids, u, roots)
        chosen = eval_ids_by_groups(ids, grouped, roots, int(opts['eval_count']), u) \
            if opts['eval_count'] is not None else eval_ids_by_ratio(ids, grouped, ratio)
        return run.engine.map(data, assign_batch, 'split: assign', eval_ids=chosen), None

    @staticmethod
    def _groups(run: Any, data: Any, opts: dict) -> dict[int, list[int]]:
        from .near_dedup import clusters, similar_pairs
        near = {**CURATION_STAGES.get('near_dedup').defaults(), **run.cfg.get('near_dedup', {}),
                'threshold': opts['group_similarity']}
        groups = clusters(*similar_pairs(run, data, near))
        run.log(f'curate: split: {len(groups)} near-duplicate groups kept on one side')
        return groups


CURATION_STAGES.register('split', SplitStage())
