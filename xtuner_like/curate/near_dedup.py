"""Stage 'near_dedup': MinHash LSH over word shingles, candidates confirmed by exact Jaccard.

Per row (parallel, in the engine): the shingles' MinHash signature (rensa, ~50x faster than
datasketch here; see tools/bench_curate.py) cut into ``bands`` hashed band keys. Globally:
rows sharing a band key are candidates; a candidate pair is confirmed when the exact
Jaccard similarity of its shingle sets reaches the threshold (so LSH noise costs no
precision); confirmed pairs are joined into clusters, whose first row (input order) is kept.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from rensa import RMinHash

from .text import conversation_text, normalize, word_ngrams

_MIX = np.uint64(0x9E3779B97F4A7C15)


@lru_cache(maxsize=16)
def lsh_params(threshold: float, num_perm: int, miss_weight: float = 0.9) -> tuple[int, int]:
    """(bands, rows per band) with the least weighted false-positive + false-negative
    probability mass around ``threshold`` (bands x rows <= num_perm).

    Misses weigh 0.9: every candidate is confirmed exactly afterwards, so a false candidate
    costs only time, while a missed pair is a duplicate kept (0.5/0.5 gives 14 x 9 bands at
    0.7, which meets a pair of similarity 0.75 only 67% of the time; 21 x 6 meets it 98%).
    """
    x = np.linspace(0.0, 1.0, 201)
    best, best_cost = (1, num_perm), float('inf')
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            p = 1 - (1 - x ** r) ** b          # chance that a pair of similarity x meets
            cost = np.trapezoid(np.where(x < threshold, (1 - miss_weight) * p,
                                          miss_weight * (1 - p)), x)
            if cost < best_cost:
                best, best_cost = (b, r), cost
    return best


def shingles(turns: list[dict], by: str, size: int) -> set[str]:
    """Word ``size``-grams of the normalized conversation (or prompt) text."""
    return set(word_ngrams(normalize(conversation_text(turns, by)).split(), size))


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """int64 key of each band of each signature (n x num_perm uint32 -> n x bands)."""
    sig = signatures[:, :bands * rows].astype(np.uint64).reshape(len(signatures), bands, rows)
    key = np.zeros(sig.shape[:2], dtype=np.uint64)
    for j in range(rows):                      # multiply-xor mixing; wraps modulo 2**64
        key = (key ^ sig[:, :, j]) * _MIX
    return key.view(np.int64)


def signature_batch(batch: dict, *, by: str, shingle_size: int, num_perm: int, seed: int,
                    threshold: float) -> dict:
    """``_id`` and ``_bands``, the LSH band keys of each row."""
    sigs = np.empty((len(batch['conversation']), num_perm), dtype=np.uint32)
    for i, turns in enumerate(batch['conversation']):
        mh = RMinHash(num_perm, seed)
        mh.update(list(shingles(turns, by, shingle_size)) or [''])  # order-free
        sigs[i] = mh.digest()
    return {'_id': batch['_id'], '_bands': band_keys(sigs, *lsh_params(threshold, num_perm))}


def candidate_pairs(ids: np.ndarray, bands: np.ndarray) -> np.ndarray:
    """Unique (first, other) id pairs of rows sharing a band key; each bucket as a star
    around its smallest id."""
    pairs = []
    for b in range(bands.shape[1]):
        order = np.lexsort((ids, bands[:, b]))
        keys, sorted_ids = bands[order, b], ids[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        group = np.repeat(starts, np.diff(np.r_[starts, len(keys)]))
        member = np.arange(len(keys)) != group
        pairs.append(np.stack([sorted_ids[group[member]], sorted_ids[member]], axis=1))
    if not pairs:
        return np.empty((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(pairs), axis=0)


def jaccard(a: set, b: set) -> float:
    """Exact Jaccard similarity of two sets (1 for two empty sets)."""
    return len(a & b) / len(a | b) if a or b else 1.0


def clusters(pairs: np.ndarray, keep: np.ndarray) -> dict[int, list[int]]:
    """Connected components of the confirmed ``pairs`` (``keep`` mask): smallest id ->
    the other ids of its cluster."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for a, b in pairs[keep].tolist():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for x in parent:
        root = find(x)
        if root != x:
            groups.setdefault(root, []).append(x)
    return {root: sorted(members) for root, members in groups.items()}
