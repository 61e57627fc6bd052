"""Stage 'decontaminate': drop training rows that share a long word n-gram with an
evaluation set (any file the pipeline reads, in any map_fn format).

An eval text shorter than ``ngram_size`` words is one n-gram of its own length (when it has
at least ``min_ngram_size`` words), and training rows are checked at that length as well.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..dataset.load import resolve_data_files
from ..errors import ConfigError
from .engine import read_rows
from .format import convert_rows, check_spec, check_tokenizer, resolve_format
from .stage import CURATION_STAGES, Option, Stage
from .text import BY, decode, normalize, sample_text, stable_hash


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


def contaminated_batch(batch: dict, *, index: np.ndarray, sizes: list[int],
                       by: str = 'conversation') -> dict:
    """``_reason`` 'contaminated' for rows sharing an n-gram with the eval index."""
    reasons, details = [], []
    for sample in decode(batch):
        grams = np.array(ngram_hashes(sample_text(sample, by), sizes), dtype=np.int64)
        pos = np.searchsorted(index, grams)
        hit = bool(len(index) and np.any(index[np.minimum(pos, len(index) - 1)] == grams))
        reasons.append('contaminated' if hit else '')
        details.append('shares a word n-gram with the eval set' if hit else '')
    return {'_reason': reasons, '_detail': details}


def eval_texts(files: list[str], map_fn: str | None, by: str) -> list[str]:
    """The text of view ``by`` of every usable row of the eval files (any format)."""
    texts = []
    for path in files:
        raw = read_rows(path)
        name, row_type = resolve_format(path, [c for c in raw.column_names if c != '_row'],
                                        map_fn, None)
        rows = [{k: v for k, v in r.items() if k != '_row'} for r in raw]
        converted = convert_rows(rows, [f'{path}, row {i}' for i in range(len(rows))],
                                 check_spec(name, row_type, None), check_tokenizer(None))
        texts += [sample_text(sample, by) for sample, _ in converted if sample is not None]
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
        'by': Option('conversation', choices=BY, help='text of the training rows checked'),
        'ngram_size': Option(13, help='words per n-gram'),
        'min_ngram_size': Option(8, help='shorter eval texts are not indexed'),
    }

    def run(self, run: Any, data: Any, opts: dict) -> tuple[Any, None]:
        files = resolve_data_files(opts['eval_files'])
        if not files:
            raise ConfigError('decontaminate is enabled but decontaminate.eval_files is empty; '
                              'give the evaluation files or set decontaminate.enabled=False')
        texts = eval_texts(files, opts['map_fn'], 'conversation')
        index, sizes = eval_index(texts, opts['ngram_size'], opts['min_ngram_size'])
        run.log(f'curate: decontaminate: {len(index)} n-grams from {len(texts)} eval rows')
        return run.engine.map(data, contaminated_batch, 'decontaminate', index=index,
                              sizes=sizes, by=opts['by']), None


CURATION_STAGES.register('decontaminate', DecontaminateStage())
