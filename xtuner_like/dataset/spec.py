"""The dataset schema: every dataset option, declared once (name, default, type, check).

Everything else reads this table: :func:`~xtuner_like.dataset.build.build_dataset` takes the
options as keywords (and checks them here), :class:`~xtuner_like.dataset.pipeline.PipelineSpec`
has one field per option, the cache key hashes every field, check-custom-dataset and the
config checker accept exactly these names. Adding an option is one :class:`Option` below.

A dataset is one or several *sources*; a source is a dict of the per-source options, and
every option a source leaves out comes from the dataset's own keywords::

    dict(type=build_dataset, tokenizer=..., row_type='sft', max_length=2048,
         sources=[dict(data_files='a.json', dataset_map_fn='alpaca', ratio=0.5),
                  dict(data_files='b.jsonl', dataset_map_fn='openai')])

Without ``sources`` the dataset's keywords are its one source.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import dataset_spec
from ..errors import ConfigError
from ..templates.chat_format import ChatFormat

# What a dataset without ``prompt_template`` renders with.
DEFAULT_TEMPLATE = 'chatml'
ON_BAD_ROW = ('error', 'skip')  # what a recipe may choose; 'collect' is for tools
PARTS = ('train', 'eval')
ROW_KIND_DEFAULT = object()     # a default that comes from the row kind (its map_fn)


@dataclass(frozen=True)
class Option:
    """One dataset option.

    Attributes:
        name: the keyword in a dataset dict (and a source dict).
        default: its value when nobody sets it.
        types: accepted types (None is accepted too where the default is None).
        doc: one line for users (check-custom-dataset, docs).
        per_source: True when each source may set its own value.
        check: returns a problem text for a bad value (None: fine).
        field: the :class:`PipelineSpec` field it fills (None: the same name; '' for the
            options the spec resolves into other fields: data_files, dataset_map_fn ...).
        keyed: part of the processed data's cache key (False: it does not change the
            processed rows of a source, e.g. num_proc, or is applied after them: ratio).
    """

    name: str
    default: Any
    types: tuple[type, ...]
    doc: str
    per_source: bool = True
    check: Callable[[Any], str | None] | None = None
    field: str | None = None
    keyed: bool = True

    @property
    def field_name(self) -> str:
        return self.name if self.field is None else self.field


def _positive(value: Any) -> str | None:
    return None if value > 0 else 'must be > 0'


def _one_of(choices: tuple) -> Callable[[Any], str | None]:
    return lambda value: None if value in choices else f'use one of {choices}'


def _row_kind(value: str) -> str | None:
    from .pipeline import ROW_TYPES  # the registry lives with the pipeline that runs it
    return None if value in ROW_TYPES else f'use one of {list(ROW_TYPES)}'


def _share(value: Any) -> str | None:
    if isinstance(value, float) and not 0 <= value < 1:
        return 'a share is in [0, 1); give a whole number for a count of rows'
    return None if value >= 0 else 'must be >= 0'


OPTIONS: tuple[Option, ...] = (
    Option('data_files', None, (str, Path, list, tuple, dict),
           'local json/jsonl/parquet/csv/txt file(s), a folder of them, or a spec writing one',
           field=''),
    Option('path', None, (str,), 'a hub dataset id (instead of data_files)'),
    Option('split', 'train', (str,), "the hub dataset's split"),
    Option('dataset_map_fn', ROW_KIND_DEFAULT, (str, Callable, type(None)),
           "raw row -> conversation: a registered name or a function (default: the row "
           "kind's)", field=''),
    Option('prompt_template', DEFAULT_TEMPLATE, (str, type(None)),
           'template name; None for pre-training (every token trained)', field=''),
    Option('system', None, (str,), 'system-template name or text for rows without one',
           field=''),
    Option('max_rows', None, (int,), 'use only the first N rows', check=_positive),
    Option('on_bad_row', 'error', (str,), "'error' stops at a bad row, 'skip' drops and "
           'counts it', check=_one_of(ON_BAD_ROW)),
    Option('ratio', 1.0, (int, float), 'keep ratio x the samples of this source (0.5: a '
           'seeded half, 2: each twice)', check=_positive, keyed=False),
    Option('holdout', 0, (int, float), 'rows held out for evaluation: a share in [0, 1) or a '
           'count (evenly spread; the training part leaves them out)', check=_share),
    Option('eval_data_files', None, (str, Path, list, tuple, dict),
           'files to evaluate on instead of a held-out share (the training part then keeps '
           'every row)', per_source=False),
    Option('part', 'train', (str,), "'train': the rows not held out; 'eval': only the "
           'held-out rows', per_source=False, check=_one_of(PARTS)),
    Option('row_type', 'sft', (str,), "the row kind: 'sft', 'preference', 'kto', 'prompt', ...",
           per_source=False, check=_row_kind),
    Option('max_length', 2048, (int,), 'tokens per sequence; longer samples keep whole turns',
           per_source=False, check=_positive),
    Option('pack_to_max_length', True, (bool,), 'pack whole samples into rows of max_length '
           '(per sequence)', per_source=False, field='pack'),
    Option('num_proc', 1, (int,), 'processes for the map', per_source=False, check=_positive,
           keyed=False),
    Option('seed', 0, (int,), 'seed of the ratio sampling', per_source=False, keyed=False),
)
BY_NAME = {o.name: o for o in OPTIONS}
SOURCE_KEYS = tuple(o.name for o in OPTIONS if o.per_source)


def _problems(options: dict, allowed: tuple[str, ...], where: str) -> list[str]:
    problems = []
    for key, value in options.items():
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f'; did you mean {close[0]!r}?' if close else \
                f'; a {where} takes {", ".join(allowed)}'
            problems.append(f'{where}: unknown option {key!r}{hint}')
            continue
        opt = BY_NAME[key]
        if (value is None and opt.default is None) or value is ROW_KIND_DEFAULT:
            continue
        types = opt.types
        ok = isinstance(value, types) or (Callable in types and callable(value))
        if not ok or (isinstance(value, bool) and bool not in types):
            names = ', '.join(getattr(t, '__name__', str(t)) for t in types)
            problems.append(f'{where}: {key}={value!r:.60} must be {names}')
            continue
        problem = opt.check(value) if opt.check else None
        if problem:
            problems.append(f'{where}: {key}={value!r:.60} {problem}')
    return problems


def check_options(options: dict, sources: list | None = None) -> list[dict]:
    """Every source's full options (defaults filled in, shared ones applied), checked.

    Raises:
        ConfigError: every problem at once, each naming the option and what to write.
    """
    names = tuple(BY_NAME)
    problems = _problems(options, names, 'dataset')
    if sources is not None and (not isinstance(sources, (list, tuple)) or not sources):
        problems.append(f'dataset: sources must be a non-empty list of dicts, got '
                        f'{sources!r:.80}')
        sources = None
    for k, source in enumerate(sources or []):
        if not isinstance(source, dict):
            problems.append(f'sources[{k}]: must be a dict, got {source!r:.80}')
        else:
            problems += _problems(source, SOURCE_KEYS, f'sources[{k}]')
    if problems:
        raise ConfigError('\n  '.join(problems))
    shared = {o.name: options.get(o.name, o.default) for o in OPTIONS}
    if shared['eval_data_files'] is not None:
        # evaluation reads its own files (eval_options): training keeps every row
        shared['holdout'] = 0
        sources = [{k: v for k, v in s.items() if k != 'holdout'} for s in sources or []]
    return [{**shared, **source} for source in (sources or [{}])]


def eval_options(options: dict) -> dict | None:
    """The dataset dict of the evaluation part of a training dataset dict: its
    ``eval_data_files`` (every row), else its held-out rows (``part='eval'``); None when it
    holds out nothing."""
    if options.get('eval_data_files') is not None:
        return {**options, 'data_files': options['eval_data_files'], 'path': None,
                'sources': None, 'max_rows': None, 'eval_data_files': None, 'holdout': 0,
                'part': 'train'}
    held = [options.get('holdout') or 0] + [s.get('holdout') or 0
                                             for s in options.get('sources') or []]
    return {**options, 'part': 'eval'} if any(held) else None


def held_out(count: int, holdout: int | float) -> list[bool]:
    """Which of ``count`` rows are held out: ``holdout`` rows (a share of them, at least one),
    evenly spread (0.2: rows 4, 9, 14 ...), so the same rows on every run without a seed."""
    wanted = holdout if isinstance(holdout, int) else max(1, round(count * holdout))
    if holdout and wanted >= count:
        raise ConfigError(f'holdout={holdout} holds out all {count} rows; hold out fewer or '
                          'set eval_data_files')
    wanted = wanted if holdout else 0
    return [(i + 1) * wanted // count > i * wanted // count for i in range(count)]


def chat_format(options: dict) -> ChatFormat:
    """The chat format a dataset dict trains with, and exports: its (shared) template and
    system text (a source's own template changes how that source is rendered, not this)."""
    return ChatFormat.build(options.get('prompt_template', DEFAULT_TEMPLATE),
                            options.get('system'))


def chat_format_of(cfg: Any) -> ChatFormat:
    """The chat format a loaded config trains with, read from its dataset dict (not from the
    top-level knobs, which an override of the dict would leave behind)."""
    return chat_format(dataset_spec(cfg))
