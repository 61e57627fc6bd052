"""Stage 'decontaminate': drop training rows that share a long word n-gram with an
evaluation set (any file the pipeline reads, in any map_fn format).

An eval text shorter than ``ngram_size`` words is one n-gram of its own length (when it has
at least ``min_ngram_size`` words), and training rows are checked at that length as well.
"""
from __future__ import annotations

import numpy as np

from .text import conversation_text, normalize, stable_hash


def ngram_hashes(text: str, sizes: list[int]) -> list[int]:
    """Hashes of the normalized text's word n-grams of each size in ``sizes``."""
    words = normalize(text).split()
    return [stable_hash(' '.join(words[i:i + n]), n)
            for n in sizes for i in range(len(words) - n + 1)]


def eval_index(texts: list[str], ngram_size: int, min_ngram_size: int
               ) -> tuple[np.ndarray, list[int]]:
    """Sorted n-gram hashes of the eval texts and the n-gram sizes they use."""
    hashes: set[int] = set()
    sizes = {ngram_size}
    for text in texts:
        n = len(normalize(text).split())
        if n < ngram_size:
            if n < min_ngram_size:
                continue
            sizes.add(n)
            hashes.update(ngram_hashes(text, [n])[:1])
        else:
            hashes.update(ngram_hashes(text, [ngram_size]))
    return np.array(sorted(hashes), dtype=np.int64), sorted(sizes)


def contaminated_batch(batch: dict, *, index: np.ndarray, sizes: list[int]) -> dict:
    """``_reason`` 'contaminated' for rows sharing an n-gram with the eval index."""
    reasons, details = [], []
    for turns in batch['conversation']:
        grams = np.array(ngram_hashes(conversation_text(turns), sizes), dtype=np.int64)
        pos = np.searchsorted(index, grams)
        hit = bool(len(index) and np.any(index[np.minimum(pos, len(index) - 1)] == grams))
        reasons.append('contaminated' if hit else '')
        details.append('shares a word n-gram with the eval set' if hit else '')
    return {'_reason': reasons, '_detail': details}
