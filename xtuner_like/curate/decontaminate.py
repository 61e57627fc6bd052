"""Stage 'decontaminate': drop training rows that share a word n-gram with an evaluation set
(any file the pipeline reads, in any map_fn format).

The window adapts to the eval text: each eval prompt and each eval reply is indexed by its
n-grams of ``min(ngram_size, its length)`` words, so a short eval prompt copied into a
training row is caught even with another answer; a piece shorter than the floor
``min_ngram_size`` is not indexed (too common to tell). CJK text counts characters, twice
the window. Training rows are checked at every window size the index uses, on the view
``by`` (``'prompt'``: eval prompts against training prompts only).

Speed: a row's n-gram hashes of every size come from one rolling pass over its token
hashes (numpy, a vector step per token of the largest window), then one ``searchsorted``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..dataset.load import resolve_data_files
from ..errors import ConfigError
from .engine import read_rows
from .format import check_spec, check_tokenizer, convert_rows, resolve_format
from .stage import CURATION_STAGES, Option, Stage
from .text import BY, decode, is_cjk, normalize, part_texts, sample_text, stable_hash

_P = np.uint64(0x100000001B3)           # FNV prime: the rolling hash's multiplier


def tokens(text: str) -> tuple[list[str], int]:
    """The normalized text's words (characters for CJK text) and the window scale (1, or
    2 for characters)."""
    norm = normalize(text)
    return (list(norm.replace(' ', '')), 2) if is_cjk(norm) else (norm.split(), 1)


def window_hashes(toks: list[str], sizes: list[int]) -> np.ndarray:
    """Hashes of every window of each size in ``sizes`` (ascending), in one rolling pass."""
    if not toks or not sizes:
        return np.empty(0, dtype=np.int64)
    h = np.array([stable_hash(t) for t in toks], dtype=np.int64).view(np.uint64)
    acc, out, wanted = h.copy(), [], set(sizes)
    with np.errstate(over='ignore'):
        for w in range(1, min(max(sizes), len(toks)) + 1):
            if w > 1:
                acc = acc[:-1] * _P + h[w - 1:]
            if w in wanted:
                out.append(acc ^ np.uint64(w))
    return np.concatenate(out).view(np.int64) if out else np.empty(0, dtype=np.int64)


def ngram_hashes(text: str, sizes: list[int]) -> np.ndarray:
    """Hashes of the normalized text's windows of each size in ``sizes`` (words; CJK
    characters at twice each size)."""
    toks, scale = tokens(text)
    return window_hashes(toks, sorted({n * scale for n in sizes}))


def eval_index(texts: list[str], ngram_size: int, min_ngram_size: int
               ) -> tuple[np.ndarray, list[int]]:
    """Sorted window hashes of the eval texts (pieces) and the window sizes (in words)
    they use: ``min(ngram_size, length)``, pieces under ``min_ngram_size`` left out."""
    hashes, sizes = [], set()
    for text in texts:
        toks, scale = tokens(text)
        n = min(ngram_size, len(toks) // scale)
        if n < min_ngram_size:
            continue
        sizes.add(n)
        hashes.append(window_hashes(toks, [n * scale]))
    index = np.unique(np.concatenate(hashes)) if hashes else np.empty(0, dtype=np.int64)
    return index, sorted(sizes)


def contaminated_batch(batch: dict, *, index: np.ndarray, sizes: list[int],
                       by: str = 'conversation') -> dict:
    """``_reason`` 'contaminated' for rows sharing a window with the eval index."""
    reasons, details = [], []
    for sample in decode(batch):
        grams = ngram_hashes(sample_text(sample, by), sizes) if len(index) else []
        # searchsorted, not isin: isin sorts the whole index again for every row
        pos = np.minimum(np.searchsorted(index, grams), len(index) - 1)
        hit = bool(len(grams)) and bool(np.any(index[pos] == grams))
        reasons.append('contaminated' if hit else '')
        details.append('shares a word n-gram with the eval set' if hit else '')
    return {'_reason': reasons, '_detail': details}


def eval_texts(files: list[str], map_fn: str | None, by: str) -> list[str]:
    """The pieces of every usable row of the eval files (any format) that view ``by``
    reads: each prompt and, unless ``by='prompt'``, each reply, one text each."""
    texts = []
    for path in files:
        raw = read_rows(path)
        name, row_type = resolve_format(path, [c for c in raw.column_names if c != '_row'],
                                        map_fn, None)
        rows = [{k: v for k, v in r.items() if k != '_row'} for r in raw]
        converted = convert_rows(rows, [f'{path}, row {i}' for i in range(len(rows))],
                                 check_spec(name, row_type, None), check_tokenizer(None))
        parts = ('prompt',) if by == 'prompt' else ('prompt', 'reply')
        texts += [t for sample, _ in converted if sample is not None
                  for t in part_texts(sample, parts)]
    return texts


def _files_problem(value: Any) -> str:
    return '' if isinstance(value, (list, tuple, str)) else \
        f'{value!r}; give a list of evaluation files'


class DecontaminateStage(Stage):
    """Row by row, against an index of the eval set's word n-grams."""

    name, order = 'decontaminate', 40
    options = {
        'enabled': Option(False, choices=(True, False)),
        'eval_files': Option([], check=_files_problem, help='evaluation files, any format'),
        'map_fn': Option(None, help="the eval files' map_fn (None: from their columns)"),
        'by': Option('conversation', choices=BY, help="text of the training rows checked; "
                                                      "'prompt': eval prompts against "
                                                      'training prompts only'),
        'ngram_size': Option(13, help='words per window (at most)'),
        'min_ngram_size': Option(6, help='the floor: shorter eval pieces are not indexed'),
    }

    def run(self, run: Any, data: Any, opts: dict) -> tuple[Any, None]:
        files = resolve_data_files(opts['eval_files'])
        if not files:
            raise ConfigError('decontaminate is enabled but decontaminate.eval_files is empty; '
                              'give the evaluation files or set decontaminate.enabled=False')
        texts = eval_texts(files, opts['map_fn'], opts['by'])
        index, sizes = eval_index(texts, opts['ngram_size'], opts['min_ngram_size'])
        run.log(f'curate: decontaminate: {len(index)} n-grams from {len(texts)} eval rows')
        return run.engine.map(data, contaminated_batch, 'decontaminate', index=index,
                              sizes=sizes, by=opts['by']), None


CURATION_STAGES.register('decontaminate', DecontaminateStage())
