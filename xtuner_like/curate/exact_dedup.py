"""Stage 'exact_dedup': rows whose normalized text (case, whitespace and punctuation
ignored) equals an earlier row's; the first one (input order) is kept."""
from __future__ import annotations

from typing import Any

import numpy as np

from .stage import CURATION_STAGES, ENABLED, Drop, Option, Stage
from .text import BY, decode, normalize, sample_text, stable_hash


def exact_key_batch(batch: dict, *, by: str) -> dict:
    """``_exact_key``: a 64-bit hash of each row's normalized text of view ``by``."""
    return {'_id': batch['_id'], '_exact_key': [stable_hash(normalize(sample_text(s, by)))
                                                for s in decode(batch)]}


def exact_duplicates(ids: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ids to drop, the id each one duplicates), given every row's id and key.

    >>> exact_duplicates(np.array([5, 1, 2, 7]), np.array([9, 9, 3, 3]))
    (array([5, 7]), array([1, 2]))
    """
    if len(ids) == 0:
        return ids.copy(), ids.copy()
    order = np.lexsort((ids, keys))
    ids, keys = ids[order], keys[order]
    first = np.r_[True, keys[1:] != keys[:-1]]
    kept = ids[first][np.cumsum(first) - 1]        # the first id of each row's key
    drop = ~first
    by_id = np.argsort(ids[drop], kind='stable')
    return ids[drop][by_id], kept[drop][by_id]


class ExactDedupStage(Stage):
    """Global: one hash per row, the later rows of each hash dropped."""

    name, order = 'exact_dedup', 20
    options = {'enabled': ENABLED,
               'by': Option('conversation', choices=BY,
                            help='the text compared (see curate/text.py VIEWS)')}

    def run(self, run: Any, data: Any, opts: dict) -> tuple[Any, Drop]:
        keys = run.engine.map(data, exact_key_batch, 'exact dedup: hash', replace=True,
                              by=opts['by'])
        cols = run.engine.gather(keys, ['_id', '_exact_key'])
        return data, Drop(*exact_duplicates(cols['_id'], cols['_exact_key']), 'exact_duplicate')


CURATION_STAGES.register('exact_dedup', ExactDedupStage())
