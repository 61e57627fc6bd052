"""Check a recipe's dataset: every bad row (where, what, how to fix) and statistics.

Runs the very pipeline training runs (:func:`~xtuner_like.dataset.pipeline.process_rows`, on
the same :class:`~xtuner_like.dataset.pipeline.PipelineSpec` of every source) with the
``'collect'`` policy, so it keeps going after a bad row and reports them all at once; samples
are tokenized without truncation to show their real lengths; nothing is cached or packed.

A sample of several sequences (a preference pair: prompt + chosen, prompt + rejected; found
from its ``position_ids`` restarts) is truncated as training truncates it, each sequence on
its own, and is dropped when any of them loses its reply; its length is its longest
sequence's, and packed rows hold ``max_length`` per sequence (``PipelineSpec.pack_length``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..utils.build import build
from ..utils.labels import count_trained
from .encode import kept_length
from .pack import pack_efficiency, plan_packs
from .pipeline import BATCH, FIX_HINT, BadRow, PipelineSpec, load_rows, process_rows, specs_of

NO_LIMIT = 1 << 40  # tokenize without truncating, to see the real lengths


@dataclass
class CheckReport:
    """What :func:`check_dataset` found."""

    max_length: int
    capacity: int = 0   # tokens of a packed row (max_length per sequence of a sample)
    row_type: str = 'sft'
    rows: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)   # longest sequence, before truncation
    kept: list[int] = field(default_factory=list)      # tokens kept (whole turns; 0: dropped)
    trained: list[int] = field(default_factory=list)   # trained tokens kept after truncation
    prompts_only: bool = False   # prompt rows (RL): no labels, nothing trained, never packed

    def add(self, labels: list[int], position_ids: list[int] | None) -> None:
        """One encoded sample, untruncated (``position_ids`` restart at each sequence)."""
        sequences = [labels[a:b] for a, b in _sequence_bounds(position_ids, len(labels))]
        kept = [kept_length(seq, self.max_length) for seq in sequences]
        trained = [count_trained(seq[:k]) for seq, k in zip(sequences, kept)]
        whole = all(trained)   # training drops a sample any of whose sequences lost its reply
        self.lengths.append(max(len(seq) for seq in sequences))
        self.kept.append(sum(kept) if whole else 0)
        self.trained.append(sum(trained) if whole else 0)

    def add_prompt(self, length: int) -> None:
        """One prompt row (its too-long prompts are bad rows, not truncated ones)."""
        self.prompts_only = True
        self.lengths.append(length)
        self.kept.append(length)
        self.trained.append(length)

    @property
    def ok(self) -> bool:
        return not self.bad_rows

    def statistics(self) -> dict[str, Any]:
        """Rows, tokens, trained share, truncation, length percentiles, pack efficiency."""
        lengths = np.asarray(self.lengths or [0])
        tokens = int(sum(self.kept))
        usable = [int(n) for n, t in zip(self.kept, self.trained) if t > 0]
        capacity = self.capacity or self.max_length
        packs = plan_packs(usable, capacity) if usable else []
        pct = {f'p{q}': int(np.percentile(lengths, q, method='nearest')) for q in (50, 90, 99)}
        return {
            'rows': self.rows, 'bad_rows': len(self.bad_rows), 'samples': len(self.lengths),
            'tokens': tokens, 'trained_tokens': int(sum(self.trained)),
            'trained_share': sum(self.trained) / tokens if tokens else 0.0,
            'truncated': int((lengths > self.max_length).sum()) if self.lengths else 0,
            'dropped': sum(t == 0 for t in self.trained),
            'max_length': self.max_length, 'length': {**pct, 'max': int(lengths.max())},
            'packs': len(packs), 'pack_length': capacity,
            'pack_efficiency': pack_efficiency(
                [sum(usable[i] for i in g) for g in packs], capacity),
        }


def check_dataset(spec: dict, progress: Callable[[str], None] | None = None) -> CheckReport:
    """Run a dataset spec (``cfg.train_dataloader.dataset``) over every row of every source."""
    specs = specs_of(spec)
    tokenizer = build(spec['tokenizer'])
    report = CheckReport(max_length=specs[0].max_length, capacity=specs[0].pack_length,
                         row_type=specs[0].row_type)
    for source in specs:
        _check_source(source, tokenizer, report, progress)
    return report


def _check_source(spec: PipelineSpec, tokenizer: Any, report: CheckReport,
                  progress: Callable[[str], None] | None) -> None:
    # every row of the files: the held-out ones too
    raw, locate_row = load_rows(dataclasses.replace(spec, max_rows=None, holdout=0,
                                                    part='train'))
    if progress:
        progress(f'checking {len(raw)} rows of {", ".join(spec.files) or spec.path}')
    prompts = 'labels' not in spec.rows.columns   # prompt rows: nothing trained, too long is bad
    unlimited = spec if prompts else dataclasses.replace(spec, max_length=NO_LIMIT)
    for start in range(0, len(raw), BATCH):
        batch = raw[start:start + BATCH]
        count = len(next(iter(batch.values()))) if batch else 0
        rows = [(locate_row(start + j), {k: batch[k][j] for k in batch}) for j in range(count)]
        done = process_rows(rows, unlimited, tokenizer, policy='collect')
        report.bad_rows += done.bad_rows
        if prompts:
            for ids in done.columns.get('input_ids', []):
                report.add_prompt(len(ids))
            continue
        labels = done.columns.get('labels', [])
        positions = done.columns.get('position_ids') or [None] * len(labels)
        for sample_labels, position_ids in zip(labels, positions):
            report.add(sample_labels, position_ids)
    report.rows += len(raw)


def _sequence_bounds(position_ids: list[int] | None, length: int) -> list[tuple[int, int]]:
    """(start, end) of each sequence of a sample: one, or one per ``position_ids`` restart."""
    if position_ids is None:
        return [(0, length)]
    starts = [i for i, p in enumerate(position_ids) if p == 0] or [0]
    return list(zip(starts, starts[1:] + [length]))


def format_report(report: CheckReport) -> str:
    """The bad rows (each on its own line) and the statistics, as printable text."""
    lines = []
    if report.bad_rows:
        lines.append(f'{len(report.bad_rows)} bad row(s):')
        lines += [f'  {b.where}: {b.problem}' for b in report.bad_rows]
        lines.append(f'how to fix: {FIX_HINT}')
        lines.append('')
    s = report.statistics()
    if report.prompts_only:
        return '\n'.join(lines + [
            'statistics:',
            f'  rows:            {s["rows"]} ({s["bad_rows"]} bad, {s["samples"]} usable prompts)',
            f'  prompt tokens:   {s["tokens"]} (max_length={s["max_length"]}; longer prompts '
            'are bad rows)',
            '  length (tokens): ' + ', '.join(f'{k} {v}' for k, v in s['length'].items())])
    lines += [
        'statistics:',
        f'  rows:            {s["rows"]} ({s["bad_rows"]} bad, {s["samples"]} usable)',
        f'  tokens:          {s["tokens"]} (after truncation to max_length={s["max_length"]})',
        f'  trained tokens:  {s["trained_tokens"]} ({s["trained_share"]:.1%} of tokens)',
        f'  truncated rows:  {s["truncated"]} longer than max_length: '
        f'{s["truncated"] - s["dropped"]} keep their first whole turns, {s["dropped"]} dropped '
        '(first reply does not fit)',
        '  length (tokens): ' + ', '.join(f'{k} {v}' for k, v in s['length'].items())
        + (' (the longest sequence of each row)' if s['pack_length'] > s['max_length'] else ''),
        f'  packing:         {s["packs"]} rows of {s["pack_length"]} tokens, '
        f'pack efficiency {s["pack_efficiency"]:.1%}',
    ]
    return '\n'.join(lines)


def closing_line(report: CheckReport) -> str:
    """``OK: ...`` or ``FAILED: ...`` with the kept / dropped (too long) / bad row counts."""
    s = report.statistics()
    kept = s['samples'] - s['dropped']
    counts = (f'{kept} kept, {s["dropped"]} dropped (too long for max_length='
              f'{s["max_length"]}: a reply does not fit), {s["bad_rows"]} bad')
    if report.prompts_only:
        counts = f'{kept} kept, {s["bad_rows"]} bad (a prompt longer than max_length is bad)'
    rows = f'{s["rows"]} {report.row_type} rows'
    if not report.ok:
        return f'FAILED: {s["bad_rows"]} bad row(s) of {rows}: {counts}'
    if kept == 0:
        return f'FAILED: no row of {rows} is usable: {counts}; raise max_length'
    return f'OK: {rows}: {counts}'
