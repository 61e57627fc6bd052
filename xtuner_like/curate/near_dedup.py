"""Stage 'near_dedup': MinHash LSH over shingles, candidates confirmed by exact Jaccard.

What is similar: the ``threshold`` is the Jaccard similarity of the two rows' *word sets*
(``shingle_size=1``; the words of the view ``by``: the conversation, the prompts or the
replies, tool arguments included), which is what a user means by "80% of the words are the
same" (reordered sentences count as the same). Text without spaces between words (Chinese,
Japanese, Korean; told per row by :func:`.text.is_cjk`) is compared by its character
``cjk_shingle_size``-grams instead: changing 5% of the characters keeps ~0.82 of them.

Per row (parallel, in the engine): the shingles' MinHash signature (rensa, ~50x faster than
datasketch here; see tools/bench_curate.py) cut into ``bands`` hashed band keys, the band
shape chosen from the threshold to bound missed pairs (:func:`lsh_params`). Globally: rows
sharing a band key are candidates; a candidate pair is confirmed when the Jaccard similarity
of its shingle sets (as 64-bit hashes, held as numpy arrays) reaches the threshold, so LSH
noise costs no precision; confirmed pairs are joined into clusters, whose first row (input
order) is kept.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rensa import RMinHash

from .report import snippet
from .stage import CURATION_STAGES, ENABLED, Drop, Option, Stage
from .text import BY, decode, ngrams, sample_text, stable_hash

_MIX = np.uint64(0x9E3779B97F4A7C15)


@lru_cache(maxsize=16)
def lsh_params(threshold: float, num_perm: int, max_miss: float = 0.02) -> tuple[int, int]:
    """(bands, rows per band), bands x rows <= num_perm: of the shapes that miss a pair of
    similarity ``threshold`` with probability at most ``max_miss``, the one that makes the
    fewest candidates below the threshold; the surest shape if none is that sure.

    A pair of similarity s shares a band with probability 1 - (1 - s**rows)**bands, which
    grows with s: bounding the miss at the threshold bounds it for every pair above it (0.7
    and 128 permutations: 25 x 5, misses 1.0% at 0.7 and 0.07% at 0.75). Each candidate is
    confirmed exactly afterwards, so a false candidate costs only time.
    """
    x = np.linspace(0.0, threshold, 101)
    shapes = [(b, r) for r in range(1, num_perm + 1) for b in [num_perm // r]]
    miss = {(b, r): (1 - threshold ** r) ** b for b, r in shapes}
    sure = [shape for shape in shapes if miss[shape] <= max_miss]
    if not sure:
        return min(shapes, key=miss.__getitem__)
    return min(sure, key=lambda s: np.trapezoid(1 - (1 - x ** s[1]) ** s[0], x))


def shingles(sample: dict, by: str, size: int, cjk_size: int = 2) -> set[str]:
    """Word ``size``-grams of the normalized text of view ``by`` (character
    ``cjk_size``-grams for CJK text)."""
    return set(ngrams(sample_text(sample, by), size, cjk_size))


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """int64 key of each band of each signature (n x num_perm uint32 -> n x bands)."""
    sig = signatures[:, :bands * rows].astype(np.uint64).reshape(len(signatures), bands, rows)
    key = np.zeros(sig.shape[:2], dtype=np.uint64)
    for j in range(rows):                      # multiply-xor mixing; wraps modulo 2**64
        key = (key ^ sig[:, :, j]) * _MIX
    return key.view(np.int64)


def band_names(threshold: float, num_perm: int, max_miss: float) -> list[str]:
    """Columns of :func:`signature_batch`'s band keys, one per band (read one at a time)."""
    return [f'_band{k}' for k in range(lsh_params(threshold, num_perm, max_miss)[0])]


def signature_batch(batch: dict, *, by: str, shingle_size: int, num_perm: int, seed: int,
                    threshold: float, max_miss: float, cjk_shingle_size: int = 2) -> dict:
    """``_id`` and the LSH band keys of each row, a column per band (:func:`band_names`)."""
    samples = decode(batch)
    sigs = np.empty((len(samples), num_perm), dtype=np.uint32)
    for i, sample in enumerate(samples):
        mh = RMinHash(num_perm, seed)
        mh.update(list(shingles(sample, by, shingle_size, cjk_shingle_size)) or [''])
        sigs[i] = mh.digest()
    keys = band_keys(sigs, *lsh_params(threshold, num_perm, max_miss))
    return {'_id': batch['_id'], **{name: keys[:, k] for k, name in enumerate(
        band_names(threshold, num_perm, max_miss))}}


def shingle_batch(batch: dict, *, ids: np.ndarray, by: str, shingle_size: int,
                  cjk_shingle_size: int = 2) -> dict:
    """``_shingles``: the :func:`shingle_hashes` of the rows whose ``_id`` is in ``ids``
    (candidates), empty for the others."""
    wanted = np.isin(np.asarray(batch['_id']), ids).tolist()
    return {'_id': batch['_id'], '_shingles': [
        shingle_hashes(sample, by, shingle_size, cjk_shingle_size).tolist() if want else []
        for sample, want in zip(decode(batch), wanted)]}


SHINGLE_SCHEMA = pa.schema([('_id', pa.int64()), ('_shingles', pa.list_(pa.int64()))])


def candidate_pairs(ids: np.ndarray, bands: Iterable[np.ndarray]) -> np.ndarray:
    """Unique (first, other) id pairs of rows sharing a key in any band (``bands``: one key
    array per band, aligned with ``ids``); each bucket as a star around its smallest id."""
    pairs = []
    for keys in bands:
        order = np.lexsort((ids, keys))
        keys, sorted_ids = keys[order], ids[order]
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


def shingle_hashes(sample: dict, by: str, size: int, cjk_size: int = 2) -> np.ndarray:
    """The sorted 64-bit hashes of a row's shingles: the shingle set in 8 bytes a shingle."""
    return np.unique(np.array([stable_hash(s) for s in shingles(sample, by, size, cjk_size)] or
                              [stable_hash('')], dtype=np.int64))


def confirm(pairs: np.ndarray, ids: np.ndarray, hashes: list[np.ndarray],
            threshold: float) -> np.ndarray:
    """Which candidate ``pairs`` have a shingle Jaccard similarity >= ``threshold``;
    ``hashes[i]`` are the :func:`shingle_hashes` of row ``ids[i]`` (ids sorted)."""
    where = np.searchsorted(ids, pairs)
    keep = np.empty(len(pairs), dtype=bool)
    for k, (i, j) in enumerate(where.tolist()):
        a, b = hashes[i], hashes[j]
        common = len(np.intersect1d(a, b, assume_unique=True))
        keep[k] = common >= threshold * (len(a) + len(b) - common)
    return keep


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


def similar_pairs(run: Any, data: Any, opts: dict) -> tuple[np.ndarray, np.ndarray]:
    """Candidate id pairs of the rows (MinHash LSH) and which of them reach
    ``opts['threshold']`` (exact Jaccard); ``opts`` as the stage's options."""
    eng = run.engine
    lsh = dict(threshold=opts['threshold'], num_perm=opts['num_perm'],
               max_miss=opts['max_miss'])
    text = dict(by=opts['by'], shingle_size=opts['shingle_size'],
                cjk_shingle_size=opts['cjk_shingle_size'])
    bands = eng.map(data, signature_batch, 'near dedup: minhash', replace=True, **text,
                    **lsh, seed=opts['seed'])
    ids = eng.gather(bands, ['_id'])['_id']
    # one band in memory at a time
    pairs = candidate_pairs(ids, (eng.gather(bands, [name])[name]
                                  for name in band_names(**lsh)))
    del ids, bands
    # the candidates' shingle sets, hashed by the workers: 8 bytes a shingle
    cand = np.unique(pairs)
    table = eng.table(eng.map(data, shingle_batch, 'near dedup: shingles', replace=True,
                              schema=SHINGLE_SCHEMA, ids=cand, **text), ['_id', '_shingles'])
    table = table.filter(pc.is_in(table.column('_id'), pa.array(cand))).sort_by('_id')
    sets = table.column('_shingles').combine_chunks()
    hashes = np.split(sets.flatten().to_numpy(),
                      np.cumsum(pc.list_value_length(sets).to_numpy())[:-1])
    return pairs, confirm(pairs, table.column('_id').to_numpy(), hashes, opts['threshold'])


def _positive(value: Any) -> str:
    return '' if isinstance(value, int) and not isinstance(value, bool) and value > 0 else \
        f'{value!r}; give a positive integer'


class NearDedupStage(Stage):
    """Global: MinHash LSH candidates, confirmed exactly, joined into clusters."""

    name, order = 'near_dedup', 30
    options = {
        'enabled': ENABLED,
        'by': Option('conversation', choices=BY, help='the text compared'),
        'threshold': Option(0.8, fraction=True, help='Jaccard similarity of the word sets '
                                                     '(CJK: character bigrams) at which two '
                                                     'rows are near duplicates'),
        'shingle_size': Option(1, check=_positive, help='words per shingle (1: word sets)'),
        'cjk_shingle_size': Option(2, check=_positive, help='characters per shingle of CJK '
                                                            'text'),
        'num_perm': Option(128, check=_positive, help='MinHash permutations'),
        'seed': Option(1),
        'max_miss': Option(0.02, fraction=True, help='chance to miss a pair at the threshold'),
    }

    def run(self, run: Any, data: Any, opts: dict) -> tuple[Any, Drop]:
        pairs, keep = similar_pairs(run, data, opts)
        groups = clusters(pairs, keep)
        reps = np.array([r for r, ms in groups.items() for _ in ms], dtype=np.int64)
        dups = np.array([m for ms in groups.values() for m in ms], dtype=np.int64)
        order = np.argsort(dups)
        self._report(run, data, groups)
        run.log(f'curate: near dedup: {len(pairs)} candidate pairs, {int(keep.sum())} '
                f'confirmed, {len(groups)} clusters')
        return data, Drop(dups[order], reps[order], 'near_duplicate')

    @staticmethod
    def _report(run: Any, data: Any, groups: dict[int, list[int]]) -> None:
        """The largest clusters, with the kept row and one removed row each."""
        top = sorted(groups.items(), key=lambda g: (-len(g[1]), g[0]))[
            :run.cfg['output']['clusters']]
        shown = run.engine.table(data, ['_id', 'sample'], ids=np.array(
            [i for r, ms in top for i in (r, ms[0])], dtype=np.int64)).to_pylist()
        said = {r['_id']: snippet(sample_text(json.loads(r['sample']))) for r in shown}
        run.report.clusters = [dict(size=len(ms) + 1, kept=dict(where=run.locate(r),
                                                                text=said[r]),
                                    example=dict(where=run.locate(ms[0]), text=said[ms[0]]))
                               for r, ms in top]


CURATION_STAGES.register('near_dedup', NearDedupStage())
