"""Run the curation stages in order on an engine and fill the report.

Every stage marks the rows it removes with ``_reason``/``_detail``; :meth:`Run.finish`
counts them by reason, keeps a few as examples and filters them out, so the report's
numbers come from the rows themselves.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..dataset.pipeline import RowLocator
from ..dataset.load import resolve_data_files
from ..errors import ConfigError
from .clean import clean_batch
from .config import STAGES
from .decontaminate import contaminated_batch, eval_index
from .engine import Engine, make_engine, read_rows, write_dataset
from .exact_dedup import exact_duplicates, exact_key_batch
from .format import SCHEMA, format_batch, output_batch, resolve_map_fn
from .near_dedup import (SHINGLE_SCHEMA, band_names, candidate_pairs, clusters, confirm,
                         shingle_batch, signature_batch)
from .report import Report, StageCount, pick_examples, snippet
from .safe import KINDS, safe_batch
from .split import assign_batch, eval_ids, split_key_batch
from .text import conversation_text

@dataclass
class Drop:
    """Rows a global stage removes: sorted ``ids``, the row each one duplicates (``reps``)."""

    ids: np.ndarray
    reps: np.ndarray
    reason: str


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
        cols = ['_id', 'conversation'] + ([] if drop else ['_reason', '_detail'])
        rows = self.engine.table(data, cols, np.concatenate(list(ids.values()))).sort_by('_id')
        for r in rows.to_pylist():
            if drop is not None:
                rep = drop.reps[np.searchsorted(drop.ids, r['_id'])]
                r['_reason'] = drop.reason
                r['_detail'] = f'{drop.reason.replace("_", " ")} of {self.locate(int(rep))}'
            self.candidates.append(dict(
                stage=stage, reason=r['_reason'], detail=r['_detail'],
                where=self.locate(r['_id']), text=snippet(conversation_text(r['conversation']))))


def run_format(run: Run, files: list[str]) -> Any:
    opts, parts, counts = run.cfg['format'], [], []
    started = time.perf_counter()
    for path in files:
        raw = run.engine.read(path)
        map_fn = resolve_map_fn(path, [c for c in run.engine.columns(raw) if c != '_row'],
                                opts['map_fn'])
        counts.append(run.engine.count(raw))
        run.report.inputs.append(dict(path=path, rows=counts[-1], map_fn=map_fn))
        parts.append(run.engine.map(raw, format_batch, f'format {Path(path).name}',
                                    replace=True, schema=SCHEMA, map_fn=map_fn, source=path,
                                    offset=sum(counts[:-1]), on_bad_row=opts['on_bad_row']))
    run.locate = RowLocator(files, counts)
    return run.finish(run.engine.concat(parts), 'format', sum(counts), started)


def run_clean(run: Run, data: Any, opts: dict) -> Any:
    if (opts['min_reply_tokens'] or opts['max_reply_tokens']) and not opts['tokenizer']:
        raise ConfigError('clean.min_reply_tokens/max_reply_tokens need clean.tokenizer=<a '
                          'tokenizer folder>')
    return run.engine.map(data, clean_batch, 'clean', opts=opts), None


def run_exact_dedup(run: Run, data: Any, opts: dict) -> Any:
    keys = run.engine.map(data, exact_key_batch, 'exact dedup: hash', replace=True,
                          by=opts['by'])
    cols = run.engine.gather(keys, ['_id', '_exact_key'])
    return data, Drop(*exact_duplicates(cols['_id'], cols['_exact_key']), 'exact_duplicate')


def run_near_dedup(run: Run, data: Any, opts: dict) -> Any:
    eng = run.engine
    lsh = dict(threshold=opts['threshold'], num_perm=opts['num_perm'],
               max_miss=opts['max_miss'])
    text = dict(by=opts['by'], shingle_size=opts['shingle_size'])
    bands = eng.map(data, signature_batch, 'near dedup: minhash', replace=True, **text, **lsh,
                    seed=opts['seed'])
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
    keep = confirm(pairs, table.column('_id').to_numpy(), hashes, opts['threshold'])
    del table, sets, hashes
    groups = clusters(pairs, keep)
    reps = np.array([r for r, ms in groups.items() for _ in ms], dtype=np.int64)
    dups = np.array([m for ms in groups.values() for m in ms], dtype=np.int64)
    order = np.argsort(dups)
    top = sorted(groups.items(), key=lambda g: (-len(g[1]), g[0]))[:run.cfg['output']['clusters']]
    shown = eng.table(data, ['_id', 'conversation'], ids=np.array(
        [i for r, ms in top for i in (r, ms[0])], dtype=np.int64)).to_pylist()
    said = {r['_id']: snippet(conversation_text(r['conversation'])) for r in shown}
    run.report.clusters = [dict(size=len(ms) + 1, kept=dict(where=run.locate(r), text=said[r]),
                                example=dict(where=run.locate(ms[0]), text=said[ms[0]]))
                           for r, ms in top]
    run.log(f'curate: near dedup: {len(pairs)} candidate pairs, {int(keep.sum())} confirmed, '
            f'{len(groups)} clusters')
    return data, Drop(dups[order], reps[order], 'near_duplicate')


def run_decontaminate(run: Run, data: Any, opts: dict) -> Any:
    files = resolve_data_files(opts['eval_files'])
    if not files:
        raise ConfigError('decontaminate is enabled but decontaminate.eval_files is empty; '
                          'give the evaluation files or set decontaminate.enabled=False')
    texts = []
    for path in files:
        raw = read_rows(path)
        map_fn = resolve_map_fn(path, [c for c in raw.column_names if c != '_row'],
                                opts['map_fn'])
        rows = format_batch(raw[:], map_fn=map_fn, source=path, offset=0, on_bad_row='drop')
        texts += [conversation_text(t) for t in rows['conversation'] if t]
    index, sizes = eval_index(texts, opts['ngram_size'], opts['min_ngram_size'])
    run.log(f'curate: decontaminate: {len(index)} n-grams from {len(texts)} eval rows')
    return run.engine.map(data, contaminated_batch, 'decontaminate', index=index,
                          sizes=sizes), None


def run_safe(run: Run, data: Any, opts: dict) -> Any:
    data = run.engine.map(data, safe_batch, 'safe', kinds=list(opts['kinds']),
                          action=opts['action'])
    cols = run.engine.gather(data, [f'_pii_{k}' for k in KINDS])
    run.report.redactions = {k: int(cols[f'_pii_{k}'].sum()) for k in KINDS
                             if k in opts['kinds']}
    return data, None


def run_split(run: Run, data: Any, opts: dict) -> Any:
    ratio = 0.0 if opts['eval_count'] is not None else opts['eval_ratio']
    data = run.engine.map(data, split_key_batch, 'split', seed=opts['seed'], eval_ratio=ratio)
    if opts['eval_count'] is not None:
        cols = run.engine.gather(data, ['_id', '_split_u'])
        data = run.engine.map(data, assign_batch, 'split: assign',
                              eval_ids=eval_ids(cols['_id'], cols['_split_u'],
                                                int(opts['eval_count'])))
    return data, None


RUNNERS = {'clean': run_clean, 'exact_dedup': run_exact_dedup, 'near_dedup': run_near_dedup,
           'decontaminate': run_decontaminate, 'safe': run_safe, 'split': run_split}


def curate(inputs: list[str], out_dir: str | Path | None, cfg: dict, dry_run: bool = False,
           log: Callable[[str], None] | None = None) -> Report:
    """Curate ``inputs`` into ``out_dir`` (train/eval files + report); ``dry_run`` writes
    nothing and only returns the report."""
    log = log or (lambda msg: print(msg, file=sys.stderr))
    files = resolve_data_files(list(inputs))
    engine = make_engine(cfg['engine'])
    run = Run(engine, cfg, log)
    try:
        data = run_format(run, files)
        for stage in STAGES[1:]:
            if cfg[stage]['enabled']:
                started, rows_in = time.perf_counter(), engine.count(data)
                data, drop = RUNNERS[stage](run, data, cfg[stage])
                data = run.finish(data, stage, rows_in, started, drop)
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
        engine.write(engine.filter(data, '_split', split), path, fmt,
                     ['messages', 'source', 'row'])
        report.outputs.append(f'{path} ({n} rows)')
    report.write(out_dir)
