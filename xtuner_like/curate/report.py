"""The curation report: rows in/out per stage, removal reasons, near-duplicate clusters,
redactions, the split and example removed rows; as report.json and report.md."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SNIPPET = 240


def snippet(text: str, n: int = SNIPPET) -> str:
    """One line of at most ``n`` characters."""
    text = ' '.join(text.split())
    return text if len(text) <= n else text[:n - 1] + '…'


@dataclass
class StageCount:
    name: str
    rows_in: int
    rows_out: int
    removed: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Report:
    """Everything ``xtuner-like curate`` tells about one run."""

    inputs: list[dict] = field(default_factory=list)      # path, rows, map_fn, row_type
    stages: list[StageCount] = field(default_factory=list)
    clusters: list[dict] = field(default_factory=list)    # size, kept, example
    redactions: dict[str, int] = field(default_factory=dict)
    split: dict[str, int] = field(default_factory=dict)
    examples: list[dict] = field(default_factory=list)    # stage, reason, detail, where, text
    outputs: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_in(self) -> int:
        return sum(i['rows'] for i in self.inputs)

    @property
    def rows_out(self) -> int:
        return self.stages[-1].rows_out if self.stages else self.rows_in

    def consistency_problems(self) -> list[str]:
        """Counts that do not add up (empty when the report is sound)."""
        problems, rows = [], self.rows_in
        for s in self.stages:
            if s.rows_in != rows:
                problems.append(f'{s.name}: {s.rows_in} rows in, previous stage gave {rows}')
            if s.rows_in - sum(s.removed.values()) != s.rows_out:
                problems.append(f'{s.name}: {s.rows_in} - {sum(s.removed.values())} removed '
                                f'!= {s.rows_out} out')
            rows = s.rows_out
        if self.split and sum(self.split.values()) != self.rows_out:
            problems.append(f'split {self.split} does not add up to {self.rows_out}')
        return problems

    def to_dict(self) -> dict:
        return {'rows_in': self.rows_in, 'rows_out': self.rows_out, **asdict(self)}

    def to_markdown(self) -> str:
        lines = ['# Curation report', '', f'{self.rows_in} rows in, {self.rows_out} rows out.',
                 '', '## Inputs', '', '| file | rows | format | row type |',
                 '| --- | ---: | --- | --- |']
        lines += [f"| {i['path']} | {i['rows']} | {i['map_fn'] or 'conversation'} | "
                  f"{i.get('row_type', 'sft')} |" for i in self.inputs]
        lines += ['', '## Stages', '', '| stage | rows in | removed | rows out | reasons |',
                  '| --- | ---: | ---: | ---: | --- |']
        for s in self.stages:
            reasons = ', '.join(f'{k}: {v}' for k, v in sorted(s.removed.items())) or '-'
            lines.append(f'| {s.name} | {s.rows_in} | {sum(s.removed.values())} | '
                         f'{s.rows_out} | {reasons} |')
        if self.split:
            lines += ['', '## Split', '', ', '.join(f'{k}: {v}' for k, v in self.split.items())]
        if self.redactions:
            lines += ['', '## Redactions', '', '| kind | count |', '| --- | ---: |']
            lines += [f'| {k} | {v} |' for k, v in self.redactions.items()]
        if self.clusters:
            lines += ['', '## Largest near-duplicate clusters', '']
            for c in self.clusters:
                lines += [f"- **{c['size']} rows**; kept {c['kept']['where']}: "
                          f"{c['kept']['text']!r}",
                          f"  - removed {c['example']['where']}: {c['example']['text']!r}"]
        if self.examples:
            lines += ['', f'## {len(self.examples)} removed rows', '',
                      '| stage | reason | where | detail | text |',
                      '| --- | --- | --- | --- | --- |']
            lines += [f"| {e['stage']} | {e['reason']} | {e['where']} | "
                      f"{_cell(e['detail'])} | {_cell(e['text'])} |" for e in self.examples]
        if self.outputs:
            lines += ['', '## Outputs', ''] + [f'- {o}' for o in self.outputs]
        return '\n'.join(lines) + '\n'

    def write(self, out_dir: Path) -> None:
        (out_dir / 'report.json').write_text(
            json.dumps(self.to_dict(), indent=1, ensure_ascii=False, default=str) + '\n',
            encoding='utf-8')
        (out_dir / 'report.md').write_text(self.to_markdown(), encoding='utf-8')


def _cell(text: str) -> str:
    return snippet(text, 120).replace('|', '\\|')


def pick_examples(candidates: list[dict], n: int) -> list[dict]:
    """Up to ``n`` examples, taken in turn from each (stage, reason), so all reasons show."""
    groups: dict[tuple, list[dict]] = {}
    for c in candidates:
        groups.setdefault((c['stage'], c['reason']), []).append(c)
    picked: list[dict] = []
    queues = list(groups.values())
    while len(picked) < n and any(queues):
        for q in queues:
            if q and len(picked) < n:
                picked.append(q.pop(0))
    return picked
