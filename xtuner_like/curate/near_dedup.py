"""Stage 'near_dedup': MinHash LSH over shingles, candidates confirmed by exact Jaccard.

What is similar: the ``threshold`` is the Jaccard similarity of the two rows' *word sets*
(``shingle_size=1``; the words of the view ``by``: the conversation, the prompts or the
replies, tool arguments included), which is what a user means by "80% of the words are the
same" (reordered sentences count as the same). Text without spaces between words (Chinese,
Japanese, Korean; told per row by :func:`.text.is_cjk`) is compared by its character
``cjk_shingle_size``-grams instead, at the Jaccard similarity that the same share of changed
tokens gives (:func:`cjk_threshold`: word-set 0.8 allows ~11% of the words changed, which
leaves character bigrams a Jaccard of 0.65; 5% of the characters changed leaves ~0.82).

Per row (parallel, in the engine): the shingles' MinHash signature (rensa, ~50x faster than
datasketch here; see tools/bench_curate.py) cut into ``bands`` hashed band keys, the band
shape chosen from the threshold to bound missed pairs (:func:`lsh_params`). Globally: rows
sharing a band key are candidates; a candidate pair is confirmed when the Jaccard similarity
of its shingle sets (as 64-bit hashes, held as numpy arrays) reaches the threshold, so LSH
noise costs no precision (CJK rows get their own band shape, for their own threshold, and
never share a band key with other rows); confirmed pairs are joined into clusters, whose first row (input
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
from .text import BY, decode, sample_text, script_ngrams, stable_hash

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


def cjk_threshold(threshold: float, cjk_shingle_size: int = 2) -> float:
    """The Jaccard similarity of CJK character ``cjk_shingle_size``-gram sets that matches a
    word-set similarity ``threshold``: the one the same share of changed tokens (words;
    CJK characters) leaves.

    A share e of the tokens substituted keeps q = 1 - e of them: a word-set Jaccard of
    q / (2 - q), so ``threshold`` t allows q = 2t / (1 + t); of the character k-grams q**k
    survive, a Jaccard of q**k / (2 - q**k). 0.8 -> 11% of the words -> bigrams 0.653;
    5% of the characters changed leaves bigrams ~0.82, unrelated Chinese rows stay under
    0.15 (alpaca_zh_demo: the 99.99th percentile of its 499,500 pairs is 0.13).

    >>> round(cjk_threshold(0.8), 3), cjk_threshold(0.8, 1)
    (0.653, 0.8)
    """
    q = (2 * threshold / (1 + threshold)) ** cjk_shingle_size
    return round(q / (2 - q), 6)


def shingles(sample: dict, by: str, size: int, cjk_size: int = 2) -> set[str]:
    """Word ``size``-grams of the normalized text of view ``by`` (character
    ``cjk_size``-grams for CJK text)."""
    return row_shingles(sample, by, size, cjk_size)[0]


def row_shingles(sample: dict, by: str, size: int, cjk_size: int = 2) -> tuple[set[str], bool]:
    """(:func:`shingles`, whether the row is CJK text, compared by characters)."""
    grams, cjk = script_ngrams(sample_text(sample, by), size, cjk_size)
    return set(grams), cjk


_CJK_SALT = np.uint64(0x5BD1E9955BD1E995)     # CJK rows' band keys never meet other rows'


def band_keys(signatures: np.ndarray, bands: int, rows: int,
              salt: np.uint64 = np.uint64(0)) -> np.ndarray:
    """int64 key of each band of each signature (n x num_perm uint32 -> n x bands)."""
    sig = signatures[:, :bands * rows].astype(np.uint64).reshape(len(signatures), bands, rows)
    key = np.full(sig.shape[:2], salt, dtype=np.uint64)
    with np.errstate(over='ignore'):
        for j in range(rows):                  # multiply-xor mixing; wraps modulo 2**64
            key = (key ^ sig[:, :, j]) * _MIX
    return key.view(np.int64)


def band_shapes(threshold: float, num_perm: int, max_miss: float,
                cjk_shingle_size: int = 2) -> tuple[tuple[int, int], tuple[int, int]]:
    """(bands, rows) of the word rows and of the CJK rows (:func:`lsh_params` at
    ``threshold`` and at its :func:`cjk_threshold`)."""
    return (lsh_params(threshold, num_perm, max_miss),
            lsh_params(cjk_threshold(threshold, cjk_shingle_size), num_perm, max_miss))


def band_names(threshold: float, num_perm: int, max_miss: float,
               cjk_shingle_size: int = 2) -> list[str]:
    """Columns of :func:`signature_batch`'s band keys, one per band of the shape with the
    most bands (read one at a time)."""
    shapes = band_shapes(threshold, num_perm, max_miss, cjk_shingle_size)
    return [f'_band{k}' for k in range(max(b for b, _ in shapes))]


def signature_batch(batch: dict, *, by: str, shingle_size: int, num_perm: int, seed: int,
                    threshold: float, max_miss: float, cjk_shingle_size: int = 2) -> dict:
    """``_id``, ``_cjk`` and the LSH band keys of each row, a column per band
    (:func:`band_names`):
    word rows and CJK rows each in their own shape (:func:`band_shapes`), salted apart; a
    row's columns beyond its shape's bands hold a key of its own (its ``_id`` mixed), which
    no other row shares."""
    samples = decode(batch)
    sigs = np.empty((len(samples), num_perm), dtype=np.uint32)
    cjk = np.zeros(len(samples), dtype=bool)
    for i, sample in enumerate(samples):
        grams, cjk[i] = row_shingles(sample, by, shingle_size, cjk_shingle_size)
        mh = RMinHash(num_perm, seed)
        mh.update(list(grams) or [''])
        sigs[i] = mh.digest()
    names = band_names(threshold, num_perm, max_miss, cjk_shingle_size)
    ids = np.asarray(batch['_id'], dtype=np.int64).view(np.uint64)
    with np.errstate(over='ignore'):         # odd multiplier: distinct ids, distinct keys
        own = ((ids + np.uint64(1)) * _MIX).view(np.int64)
    keys = np.repeat(own[:, None], len(names), axis=1)
    for mask, shape, salt in zip((~cjk, cjk), band_shapes(threshold, num_perm, max_miss,
                                                           cjk_shingle_size),
                                 (np.uint64(0), _CJK_SALT)):
        if mask.any():
            keys[mask, :shape[0]] = band_keys(sigs[mask], *shape, salt=salt)
    return {'_id': batch['_id'], '_cjk': cjk.tolist(),
            **{name: keys[:, k] for k, name in enumerate(names)}}


def shingle_batch(batch: dict, *, ids: np.ndarray, by: str, shingle_size: int,
                  cjk_shingle_size: int = 2) -> dict:
    """``_shingles``: the :func:`shingle_hashes` of the rows whose ``_id`` is in ``ids``
    (candidates), empty for the others; ``_cjk``: whether a row is compared as CJK text."""
    wanted = np.isin(np.asarray(batch['_id']), ids).tolist()
    sets, cjk = [], []
    for sample, want in zip(decode(batch), wanted):
        hashes, is_cjk = row_shingle_hashes(sample, by, shingle_size, cjk_shingle_size) \
            if want else (None, False)
        sets.append(hashes.tolist() if want else [])
        cjk.append(is_cjk)
    return {'_id': batch['_id'], '_shingles': sets, '_cjk': cjk}


SHINGLE_SCHEMA = pa.schema([('_id', pa.int64()), ('_shingles', pa.list_(pa.int64())),
                            ('_cjk', pa.bool_())])


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
    return row_shingle_hashes(sample, by, size, cjk_size)[0]


def row_shingle_hashes(sample: dict, by: str, size: int, cjk_size: int = 2
                       ) -> tuple[np.ndarray, bool]:
    """(:func:`shingle_hashes`, whether the row is compared as CJK text)."""
    grams, cjk = row_shingles(sample, by, size, cjk_size)
    return np.unique(np.array([stable_hash(s) for s in grams] or [stable_hash('')],
                              dtype=np.int64)), cjk


def confirm(pairs: np.ndarray, ids: np.ndarray, hashes: list[np.ndarray],
            threshold: float, cjk: np.ndarray | None = None,
            cjk_thresh: float | None = None) -> np.ndarray:
    """Which candidate ``pairs`` have a shingle Jaccard similarity >= ``threshold``
    (``cjk_thresh`` where both rows are CJK text, ``cjk[i]``); ``hashes[i]`` are the
    :func:`shingle_hashes` of row ``ids[i]`` (ids sorted)."""
    where = np.searchsorted(ids, pairs)
    keep = np.empty(len(pairs), dtype=bool)
    for k, (i, j) in enumerate(where.tolist()):
        a, b = hashes[i], hashes[j]
        common = len(np.intersect1d(a, b, assume_unique=True))
        t = cjk_thresh if cjk is not None and cjk[i] and cjk[j] else threshold
        keep[k] = common >= t * (len(a) + len(b) - common)
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
    cols = eng.gather(bands, ['_id', '_cjk'])
    ids = cols['_id']
    names = band_names(**lsh, cjk_shingle_size=opts['cjk_shingle_size'])
    if not np.asarray(cols['_cjk']).any():     # no CJK rows: the word rows' bands only
        names = names[:lsh_params(**lsh)[0]]
    # one band in memory at a time
    pairs = candidate_pairs(ids, (eng.gather(bands, [name])[name] for name in names))
    del ids, bands
    # the candidates' shingle sets, hashed by the workers: 8 bytes a shingle
    cand = np.unique(pairs)
    table = eng.table(eng.map(data, shingle_batch, 'near dedup: shingles', replace=True,
                              schema=SHINGLE_SCHEMA, ids=cand, **text),
                      ['_id', '_shingles', '_cjk'])
    table = table.filter(pc.is_in(table.column('_id'), pa.array(cand))).sort_by('_id')
    sets = table.column('_shingles').combine_chunks()
    hashes = np.split(sets.flatten().to_numpy(),
                      np.cumsum(pc.list_value_length(sets).to_numpy())[:-1])
    return pairs, confirm(pairs, table.column('_id').to_numpy(), hashes, opts['threshold'],
                          table.column('_cjk').to_numpy(zero_copy_only=False),
                          cjk_threshold(opts['threshold'], opts['cjk_shingle_size']))


def _positive(value: Any) -> str:
    return '' if isinstance(value, int) and not isinstance(value, bool) and value > 0 else \
        f'{value!r}; give a positive integer'


class NearDedupStage(Stage):
    """Global: MinHash LSH candidates, confirmed exactly, joined into clusters."""

    name, order = 'near_dedup', 30
    options = {
        'enabled': ENABLED,
        'by': Option('conversation', choices=BY, help='the text compared'),
        'threshold': Option(0.8, fraction=True, help='Jaccard similarity of the word sets at '
                                                     'which two rows are near duplicates '
                                                     '(CJK rows: the character-bigram '
                                                     'Jaccard of the same share of changed '
                                                     'tokens, 0.8 -> 0.65)'),
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
