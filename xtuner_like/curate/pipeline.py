"""Run the curation stages in order on an engine and fill the report.

Every stage marks the rows it removes with ``_reason``/``_detail``; :meth:`Run.finish`
counts them by reason, keeps a few as examples and filters them out, so the report's
numbers come from the rows themselves.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset.load import resolve_data_files
from ..dataset.pipeline import RowLocator
from .engine import Engine, make_engine, write_dataset
from .format import output_batch
from .report import Report, StageCount, pick_examples, snippet
from .stage import CURATION_STAGES, Drop, stages
from .text import sample_text


class Run:
    """One curation run: engine, report, and where each row came from."""

    def __init__(self, engine: Engine, cfg: dict, log: Callable[[str], None]):
        self.engine, self.cfg, self.log = engine, cfg, log
        self.report = Report(config=cfg)
        self.locate: RowLocator | None = None
        self.candidates: list[dict] = []
        self.removed: list[pa.Table] = []

    def finish(self, data: Any, stage: str, rows_in: int, started: float,
               drop: Drop | None = None) -> Any:
        """Count, sample and filter out the rows this stage removes: those marked in
        ``_reason`` (row-by-row stages) or the ids of ``drop`` (global stages)."""
        eng, k = self.engine, self.cfg['output']['examples']
        examples: dict[str, list[int]] = {}
        if drop is None:
            table = eng.table(data, ['_id', '_reason'])
            removed = {v['values']: v['counts'] for v in
                       pc.value_counts(table.column('_reason')).to_pylist() if v['values']}
            for reason in removed:
                mask = pc.equal(table.column('_reason'), reason)
                examples[reason] = np.sort(pc.filter(table.column('_id'), mask).to_numpy())[:k]
            del table
            kept = eng.filter(data, '_reason', '') if removed else data
        else:
            removed = {drop.reason: len(drop.ids)} if len(drop.ids) else {}
            examples = {drop.reason: drop.ids[:k]} if removed else {}
            kept = eng.drop_ids(data, drop.ids) if removed else data
        self._examples(data, stage, examples, drop)
        if removed and self.cfg['output']['removed']:
            self._keep_removed(data, stage, drop)
        out = eng.count(kept)
        seconds = time.perf_counter() - started
        self.report.stages.append(StageCount(stage, rows_in, out, dict(sorted(removed.items())),
                                             round(seconds, 2)))
        self.log(f'curate: {stage}: {rows_in} -> {out} rows ({seconds:.1f} s)'
                 + ''.join(f'; {r} {n}' for r, n in sorted(removed.items())))
        return kept

    def _keep_removed(self, data: Any, stage: str, drop: Drop | None) -> None:
        """Provenance and reason of every removed row, for ``removed.jsonl``."""
        if drop is None:
            table = self.engine.table(self.engine.filter(data, '_reason', '', equal=False),
                                      ['_id', 'source', 'row', '_reason', '_detail'])
        else:
            table = self.engine.table(data, ['_id', 'source', 'row'], drop.ids).sort_by('_id')
            reps = drop.reps[np.searchsorted(drop.ids, table.column('_id').to_numpy())]
            table = table.append_column('_reason', pa.array([drop.reason] * len(table)))
            table = table.append_column('_detail', pa.array(
                [f'{drop.reason.replace("_", " ")} of {self.locate(int(r))}' for r in reps]))
        self.removed.append(table.append_column('stage', pa.array([stage] * len(table))))

    def _examples(self, data: Any, stage: str, ids: dict[str, np.ndarray],
                  drop: Drop | None) -> None:
        if not ids:
            return
        cols = ['_id', 'sample'] + ([] if drop else ['_reason', '_detail'])
        rows = self.engine.table(data, cols, np.concatenate(list(ids.values()))).sort_by('_id')
        for r in rows.to_pylist():
            if drop is not None:
                rep = drop.reps[np.searchsorted(drop.ids, r['_id'])]
                r['_reason'] = drop.reason
                r['_detail'] = f'{drop.reason.replace("_", " ")} of {self.locate(int(rep))}'
            self.candidates.append(dict(
                stage=stage, reason=r['_reason'], detail=r['_detail'],
                where=self.locate(r['_id']),
                text=snippet(sample_text(json.loads(r['sample'])))))


def curate(inputs: list[str], out_dir: str | Path | None, cfg: dict, dry_run: bool = False,
           log: Callable[[str], None] | None = None) -> Report:
    """Curate ``inputs`` into ``out_dir`` (train/eval files + report); ``dry_run`` writes
    nothing and only returns the report."""
    log = log or (lambda msg: print(msg, file=sys.stderr))
    files = resolve_data_files(list(inputs))
    engine = make_engine(cfg['engine'])
    run = Run(engine, cfg, log)
    try:
        started = time.perf_counter()
        data = CURATION_STAGES.get('format').run(run, files, cfg['format'])
        data = run.finish(data, 'format', run.report.rows_in, started)
        for stage in stages():
            if stage.name != 'format' and cfg[stage.name]['enabled']:
                started, rows_in = time.perf_counter(), engine.count(data)
                data, drop = stage.run(run, data, cfg[stage.name])
                data = run.finish(data, stage.name, rows_in, started, drop)
        run.report.examples = pick_examples(run.candidates, cfg['output']['examples'])
        data = engine.map(data, output_batch, 'output', replace=True)
        counts = pc.value_counts(engine.table(data, ['_split']).column('_split')).to_pylist()
        run.report.split = dict(sorted(((c['values'], c['counts']) for c in counts),
                                       reverse=True))
        if not dry_run:
            _write(engine, data, Path(out_dir), cfg['output']['format'], run.report,
                   run.removed)
    finally:
        engine.close()
    problems = run.report.consistency_problems()
    if problems:  # an internal invariant: the counts come from the rows themselves
        raise AssertionError('curation report does not add up: ' + '; '.join(problems))
    return run.report


def _write(engine: Engine, data: Any, out_dir: Path, fmt: str, report: Report,
           removed: list[pa.Table]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    if removed:
        import datasets
        table = pa.concat_tables(removed).rename_columns(
            ['_id', 'source', 'row', 'reason', 'detail', 'stage'])
        path = out_dir / 'removed.jsonl'
        write_dataset(datasets.Dataset(table.select(['source', 'row', 'stage', 'reason',
                                                     'detail'])), path, 'jsonl')
        report.outputs.append(f'{path} ({len(table)} rows)')
    for split, n in report.split.items():
        path = out_dir / f'{split}.{fmt}'
        engine.write(engine.filter(data, '_split', split), path, fmt)
        report.outputs.append(f'{path} ({n} rows)')
    report.write(out_dir)
