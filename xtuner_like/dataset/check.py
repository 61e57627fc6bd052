"""Check a recipe's dataset: every bad row (where, what, how to fix) and statistics.

Runs the same steps as :func:`~xtuner_like.dataset.build.build_sft_dataset` (load ->
dataset_map_fn -> template -> tokenize) over every row, but keeps going after a bad row so
that all of them are reported at once; nothing is cached or packed for real.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..errors import XtunerLikeError
from ..templates import get_template, resolve_system
from ..utils.build import build, locate
from .build import RowLocator
from .concat import build_concat_dataset, source_kwargs
from .encode import IGNORE_INDEX, encode_batch
from .load import load_raw_dataset, resolve_data_files
from .map_fns import get_map_fn
from .pack import pack_efficiency, plan_packs
from .template import template_map_fn

NO_LIMIT = 1 << 40  # tokenize without truncating, to see the real lengths
BATCH = 256
FIX_HINT = ("fix these rows, set dataset_map_fn to match the file's format, or set "
            "on_bad_row='skip' to drop them")


@dataclass
class BadRow:
    where: str                      # 'file, row N' / 'file, line N'
    problem: str


@dataclass
class CheckReport:
    """What :func:`check_dataset` found."""

    max_length: int
    rows: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)   # full lengths, before truncation
    trained: list[int] = field(default_factory=list)   # trained tokens kept after truncation

    @property
    def ok(self) -> bool:
        return not self.bad_rows

    def statistics(self) -> dict[str, Any]:
        """Rows, tokens, trained share, truncation, length percentiles, pack efficiency."""
        lengths = np.asarray(self.lengths or [0])
        kept = np.minimum(lengths, self.max_length)
        tokens = int(kept.sum()) if self.lengths else 0
        usable = [int(n) for n, t in zip(kept, self.trained) if t > 0]
        packs = plan_packs(usable, self.max_length) if usable else []
        pct = {f'p{q}': int(np.percentile(lengths, q, method='nearest')) for q in (50, 90, 99)}
        return {
            'rows': self.rows, 'bad_rows': len(self.bad_rows), 'samples': len(self.lengths),
            'tokens': tokens, 'trained_tokens': int(sum(self.trained)),
            'trained_share': sum(self.trained) / tokens if tokens else 0.0,
            'truncated': int((lengths > self.max_length).sum()) if self.lengths else 0,
            'max_length': self.max_length, 'length': {**pct, 'max': int(lengths.max())},
            'packs': len(packs),
            'pack_efficiency': pack_efficiency(
                [sum(usable[i] for i in g) for g in packs], self.max_length),
        }


def dataset_sources(spec: dict) -> list[dict]:
    """build_sft_dataset keyword arguments of each source of a dataset spec."""
    kwargs = {k: v for k, v in spec.items() if k != 'type'}
    if locate(spec.get('type')) is build_concat_dataset:
        sources = kwargs.pop('sources', None) or []
        for key in ('seed', 'cache_dir', 'use_cache'):
            kwargs.pop(key, None)
        return [source_kwargs(s, kwargs)[0] for s in sources]
    return [kwargs]


def check_dataset(spec: dict, progress: Callable[[str], None] | None = None) -> CheckReport:
    """Run a dataset spec (``cfg.train_dataloader.dataset``) over every row of every source."""
    sources = dataset_sources(spec)
    tokenizer = build(sources[0]['tokenizer'])
    report = CheckReport(max_length=int(sources[0].get('max_length', 2048)))
    for source in sources:
        _check_source(source, tokenizer, report, progress)
    return report


def _check_source(kw: dict, tokenizer: Any, report: CheckReport,
                  progress: Callable[[str], None] | None) -> None:
    files = resolve_data_files(kw['data_files']) if kw.get('data_files') is not None else []
    parts = [load_raw_dataset([f]) for f in files] if files else [
        load_raw_dataset(None, kw.get('path'), kw.get('split', 'train'))]
    locate_row = RowLocator(files, [len(p) for p in parts], kw.get('path'))
    map_fn = get_map_fn(kw.get('dataset_map_fn'))
    name = kw.get('prompt_template', 'chatml')
    template = None if name is None else get_template(name)
    system = resolve_system(kw.get('system'))
    eos = tokenizer.eos_token or ''
    offset = 0
    for part in parts:
        if progress:
            progress(f'checking {len(part)} rows of {locate_row(offset).rsplit(",", 1)[0]}')
        for start in range(0, len(part), BATCH):
            batch = part[start:start + BATCH]
            rows = [{k: batch[k][j] for k in batch} for j in range(len(next(iter(batch.values()))))]
            good = []
            for j, row in enumerate(rows):
                where = locate_row(offset + start + j)
                try:
                    converted = map_fn(row) if map_fn is not None else row
                    segments = template_map_fn(converted, template, system, eos)['segments']
                    if not any(s['trained'] for s in segments):
                        raise ValueError('nothing to train on (no assistant output)')
                except (XtunerLikeError, KeyError, TypeError, ValueError, AttributeError) as exc:
                    report.bad_rows.append(BadRow(where, _describe(exc)))
                else:
                    good.append((where, segments))
            _encode(good, tokenizer, report)
        report.rows += len(part)
        offset += len(part)


def _encode(good: list[tuple[str, list]], tokenizer: Any, report: CheckReport) -> None:
    try:
        encoded = [encode_batch([s for _, s in good], tokenizer, NO_LIMIT)] if good else []
    except XtunerLikeError:  # find the row(s) that failed, one by one
        encoded = []
        for where, segments in good:
            try:
                encoded.append(encode_batch([segments], tokenizer, NO_LIMIT))
            except XtunerLikeError as exc:
                report.bad_rows.append(BadRow(where, _describe(exc)))
    for out in encoded:
        for labels, length in zip(out['labels'], out['length']):
            report.lengths.append(length)
            report.trained.append(sum(v != IGNORE_INDEX for v in labels[:report.max_length]))


def _describe(exc: Exception) -> str:
    text = str(exc)
    return text if isinstance(exc, XtunerLikeError) else f'{type(exc).__name__}: {text}'


def format_report(report: CheckReport) -> str:
    """The bad rows (each on its own line) and the statistics, as printable text."""
    lines = []
    if report.bad_rows:
        lines.append(f'{len(report.bad_rows)} bad row(s):')
        lines += [f'  {b.where}: {b.problem}' for b in report.bad_rows]
        lines.append(f'how to fix: {FIX_HINT}')
        lines.append('')
    s = report.statistics()
    lines += [
        'statistics:',
        f'  rows:            {s["rows"]} ({s["bad_rows"]} bad, {s["samples"]} usable)',
        f'  tokens:          {s["tokens"]} (after truncation to max_length={s["max_length"]})',
        f'  trained tokens:  {s["trained_tokens"]} ({s["trained_share"]:.1%} of tokens)',
        f'  truncated rows:  {s["truncated"]} longer than max_length',
        '  length (tokens): ' + ', '.join(f'{k} {v}' for k, v in s['length'].items()),
        f'  packing:         {s["packs"]} rows of {s["max_length"]} tokens, '
        f'pack efficiency {s["pack_efficiency"]:.1%}',
    ]
    return '\n'.join(lines)
