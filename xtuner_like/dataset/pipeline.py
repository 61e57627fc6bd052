"""The data pipeline, written once: raw rows -> row type (map, validate, encode) -> statistics.

``build_dataset`` (one pipeline per source, then mixing, packing and the cache) and
``check-custom-dataset`` (and curation) all run :func:`process_rows`, so they cannot
disagree about what a bad row is. What the pipeline needs is one frozen
:class:`PipelineSpec`; what a sample *is* is a :class:`RowType`.

Bad rows and bugs:

- a row the data gets wrong raises :class:`~xtuner_like.errors.XtunerLikeError` (usually
  ``DatasetFormatError``) in its map_fn, the template or the encoder. The policy decides:
  ``'error'`` stops at it (file and row named), ``'skip'`` drops and counts it,
  ``'collect'`` drops it and keeps a :class:`BadRow` (check-custom-dataset, curation);
- anything else (``KeyError``, ``TypeError`` ... from a map_fn) is a bug: it propagates as
  itself, with its traceback, and a note naming the row. A map_fn reports bad data by raising
  ``DatasetFormatError``.

How to add a row type (e.g. a preference pair ``{'prompt', 'chosen', 'rejected'}``):

1. write a class with ``name``, ``columns``, ``default_map_fn``, ``collate`` (a micro-batch of
   dataset rows -> tensors) and the three steps of :class:`RowType`: ``map`` (raw row ->
   sample, e.g. rendered segments of prompt + chosen and prompt + rejected), ``validate``
   (raise ``DatasetFormatError`` for an unusable sample) and ``encode`` (samples -> columns;
   include ``length``, ``num_trained`` and ``truncated`` per sample, which the statistics and
   the empty-sample filter read; other columns are yours, e.g. ``chosen_input_ids``);
2. register it: ``ROW_TYPES.register('preference', PreferenceRows())``;
3. build with ``build_dataset(tokenizer, row_type='preference', ...)`` (a config's
   ``row_type``; its collate_fn ``collate_rows`` follows the row type): loading, bad-row policy, row
   numbers, statistics and caching come from here unchanged. Packing is SFT's (it reads
   ``input_ids``/``labels``, and ``position_ids`` when a sample holds several sequences; set
   ``sequences`` to their number and ``pack_carry`` to per-sample columns a packed row keeps
   as lists); a row type that cannot be packed sets ``packable = False`` (its datasets are
   never packed), and one whose tokens are not trained may give ``summary(stats)``, its log line.
"""
from __future__ import annotations

import dataclasses
import logging
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import datasets
import numpy as np

from ..errors import ConfigError, DatasetFormatError, XtunerLikeError
from ..registry import Registry
from ..templates.chat_format import ChatFormat
from ..utils.build import locate
from ..utils.logging import log
from .collate import sft_collate_fn
from .encode import encode_batch
from .load import load_raw_dataset, resolve_data_files
from .map_fns import get_map_fn
from .pack import column_values
from .row_kind import refuse_non_sft_row
from .spec import DEFAULT_TEMPLATE, ON_BAD_ROW, OPTIONS, ROW_KIND_DEFAULT, check_options, held_out
from .template import template_map_fn

POLICIES = ('error', 'skip', 'collect')
BATCH = 256
FIX_HINT = ("fix these rows, set dataset_map_fn to match the file's format, or set "
            "on_bad_row='skip' to drop them")


class _SpecMethods:
    """What :class:`PipelineSpec` does besides holding its fields."""

    @classmethod
    def from_options(cls, **options: Any) -> 'PipelineSpec':
        """A spec from one source's dataset keywords (dataset/spec.py: checked, defaults
        filled in, names resolved, files found)."""
        source, = check_options(options)
        return cls.from_source(source)

    @classmethod
    def from_source(cls, options: dict) -> 'PipelineSpec':
        """A spec from one source's full, checked options (:func:`check_options`)."""
        kind = ROW_TYPES.get(options['row_type'])
        map_fn = options['dataset_map_fn']
        if map_fn is ROW_KIND_DEFAULT:
            map_fn = getattr(kind, 'default_map_fn', None)
        files = options['data_files']
        files = resolve_data_files(files) if files is not None else []
        fields = {o.field_name: options[o.name] for o in OPTIONS if o.field != ''}
        if not getattr(kind, 'packable', True):
            fields['pack'] = False
        return cls(files=tuple(files), map_fn=get_map_fn(map_fn),
                   chat_format=ChatFormat.build(options['prompt_template'], options['system']),
                   **fields)

    @property
    def rows(self) -> 'RowType':
        return ROW_TYPES.get(self.row_type)

    @property
    def pack_length(self) -> int:
        """Capacity of a packed row: ``max_length`` per sequence of the largest sample (a
        preference pair holds two sequences, so one whole pair always fits)."""
        return self.max_length * getattr(self.rows, 'sequences', 1)


# One field per option of the schema (dataset/spec.py), plus the three the spec resolves:
# adding an option there adds its field here, its value to the cache key and its check.
PipelineSpec = dataclasses.make_dataclass(
    'PipelineSpec',
    [('files', tuple, field(default=())),
     ('map_fn', Any, field(default=None)),
     ('chat_format', ChatFormat,
      field(default_factory=lambda: ChatFormat.build(DEFAULT_TEMPLATE)))]
    + [(o.field_name, Any, field(default=o.default)) for o in OPTIONS if o.field != ''],
    bases=(_SpecMethods,), frozen=True)
PipelineSpec.__module__ = __name__  # pickled by name into datasets' map workers
PipelineSpec.__doc__ = """Everything the pipeline needs to turn one source's raw rows into
samples (no tokenizer: it is an object built once and passed alongside).

``files`` (resolved, absolute), ``map_fn`` (raw row -> ``{'conversation': [...]}``; None:
rows already hold it) and ``chat_format`` (template, system, stop words) are resolved from
the options ``data_files``, ``dataset_map_fn``, ``prompt_template`` and ``system``; every
other field is an option of dataset/spec.py under its name (``pack`` for
``pack_to_max_length``): ``path``, ``split``, ``max_rows``, ``on_bad_row``, ``row_type``,
``max_length``, ``holdout``, ``part`` ...
"""


@dataclass
class BadRow:
    """A row the policy dropped: where it is ('file, row N' / 'file, line N') and what is wrong."""

    where: str
    problem: str


@dataclass
class Processed:
    """What :func:`process_rows` returns: encoded columns of the good rows, and the bad ones."""

    columns: dict[str, list]
    skipped: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)


class RowType(Protocol):
    """One kind of sample (see "How to add a row type" in the module docstring)."""

    name: str
    columns: tuple[str, ...]  # what ``encode`` returns
    default_map_fn: str | None  # the dataset_map_fn of a dataset that names none

    def collate(self, rows: Sequence[dict], packed: bool) -> dict:
        """A micro-batch of dataset rows -> the model's tensors."""

    def map(self, row: dict, spec: PipelineSpec, tokenizer: Any) -> Any:
        """A raw row -> a sample (raise DatasetFormatError for bad data)."""

    def validate(self, sample: Any, spec: PipelineSpec) -> None:
        """Raise DatasetFormatError when ``sample`` cannot be trained on."""

    def encode(self, samples: list, tokenizer: Any, spec: PipelineSpec) -> dict[str, list]:
        """Samples -> columns (``length``, ``num_trained``, ``truncated`` among them)."""


class SftRows:
    """Conversations: map_fn -> template -> segments -> input_ids and labels (loss on replies)."""

    name = 'sft'
    columns = ('input_ids', 'labels', 'length', 'num_trained', 'truncated')
    default_map_fn = None

    def collate(self, rows: Sequence[dict], packed: bool) -> dict:
        return sft_collate_fn(rows, packed=packed)

    def map(self, row: dict, spec: PipelineSpec, tokenizer: Any) -> list[dict]:
        refuse_non_sft_row(row)  # a DPO pair or KTO row would train the wrong replies
        converted = spec.map_fn(row) if spec.map_fn is not None else row
        fmt = spec.chat_format
        return template_map_fn(converted, fmt.template, fmt.system,
                               tokenizer.eos_token or '')['segments']

    def validate(self, sample: list[dict], spec: PipelineSpec) -> None:
        if not any(s['trained'] for s in sample):
            raise DatasetFormatError('nothing to train on (no assistant output)')

    def encode(self, samples: list, tokenizer: Any, spec: PipelineSpec) -> dict[str, list]:
        return encode_batch(samples, tokenizer, spec.max_length)


ROW_TYPES: Registry[RowType] = Registry('row type')
ROW_TYPES.register('sft', SftRows())


def process_rows(rows: Sequence[tuple[str, dict]], spec: PipelineSpec, tokenizer: Any,
                 policy: str) -> Processed:
    """Map, validate and encode ``(where, raw row)`` pairs under a bad-row ``policy``.

    Raises:
        DatasetFormatError: a bad row under ``policy='error'``, naming where it is.
        Exception: a bug (not an XtunerLikeError) as itself, with a note naming the row.
    """
    if policy not in POLICIES:
        raise ConfigError(f'bad-row policy {policy!r}; use one of {POLICIES}')
    kind = spec.rows
    result = Processed(columns={})
    good: list[tuple[str, Any]] = []
    for where, row in rows:
        try:
            sample = kind.map(row, spec, tokenizer)
            kind.validate(sample, spec)
        except XtunerLikeError as exc:
            _bad_row(result, where, exc, policy)
        except Exception as exc:
            exc.add_note(f'while processing {where} (row type {kind.name!r}, dataset_map_fn '
                         f'{getattr(spec.map_fn, "__qualname__", spec.map_fn)!r})')
            raise
        else:
            good.append((where, sample))
    try:
        result.columns = kind.encode([s for _, s in good], tokenizer, spec) if good else {}
    except XtunerLikeError:  # find the row(s) the encoder refuses, one by one
        parts = []
        for where, sample in good:
            try:
                parts.append(kind.encode([sample], tokenizer, spec))
            except XtunerLikeError as exc:
                _bad_row(result, where, exc, policy)
        result.columns = {k: [v for part in parts for v in part[k]] for k in
                          (parts[0] if parts else {})}
    return result


def _bad_row(result: Processed, where: str, exc: XtunerLikeError, policy: str) -> None:
    if policy == 'error':
        raise DatasetFormatError(
            f'{where}: {exc}. Fix the row, set dataset_map_fn to match the file\'s format, '
            "or set on_bad_row='skip'") from None
    result.skipped += 1
    if policy == 'collect':
        result.bad_rows.append(BadRow(where, str(exc)))


class RowLocator:
    """Turns a row index of the concatenated files into 'file, row N' for error messages."""

    def __init__(self, files: Sequence[str], counts: list[int], hub_path: str | None = None,
                 indices: Sequence[int] | None = None):
        self.files, self.starts = list(files), [sum(counts[:i]) for i in range(len(counts))]
        self.hub_path = hub_path
        self.indices = indices  # rows kept of the files (a held-out part), None: all

    def __call__(self, index: int) -> str:
        if self.indices is not None:
            index = self.indices[index]
        if not self.files:
            return f'{self.hub_path}, row {index}'
        k = bisect_right(self.starts, index) - 1
        path, row = self.files[k], index - self.starts[k]
        return f'{path}, line {row + 1}' if path.endswith('.jsonl') else f'{path}, row {row}'


def load_rows(spec: PipelineSpec) -> tuple[datasets.Dataset, RowLocator]:
    """The raw rows of ``spec`` (all files concatenated; ``max_rows`` applied) and a locator."""
    parts = [load_raw_dataset([f]) for f in spec.files] if spec.files else [
        load_raw_dataset(None, spec.path, spec.split)]
    raw = parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
    if spec.max_rows is not None:
        raw = raw.select(range(min(spec.max_rows, len(raw))))
    indices = None
    if spec.holdout or spec.part == 'eval':
        held = held_out(len(raw), spec.holdout)
        indices = [i for i, h in enumerate(held) if h == (spec.part == 'eval')]
        raw = raw.select(indices)
    return raw, RowLocator(spec.files, [len(p) for p in parts], spec.path, indices)


def _map_batch(batch: dict, indices: list[int], *, spec: PipelineSpec, tokenizer: Any,
               locate_row: RowLocator) -> dict:
    """``datasets.map`` body: a batch of raw rows -> the encoded good rows (one per row)."""
    keys = list(batch)
    rows = [(locate_row(i), {k: batch[k][j] for k in keys}) for j, i in enumerate(indices)]
    policy = 'skip' if spec.on_bad_row == 'skip' else 'error'
    return process_rows(rows, spec, tokenizer, policy).columns or {
        c: [] for c in spec.rows.columns}


# The encoded columns' types, given to ``map``: inferred per batch, a batch whose samples were
# all emptied by truncation (``[]`` ids) would fix ``input_ids`` as a list of nulls and the next
# batch would fail to cast ("Couldn't cast array of type int64 to null").
ENCODED_FEATURES = {
    'input_ids': datasets.Sequence(datasets.Value('int32')),
    'labels': datasets.Sequence(datasets.Value('int32')),
    'position_ids': datasets.Sequence(datasets.Value('int64')),
    'length': datasets.Value('int64'), 'num_trained': datasets.Value('int64'),
    'truncated': datasets.Value('bool'), 'desirable': datasets.Value('bool'),
    'row': datasets.Value('string')}


def encoded_features(columns: Sequence[str]) -> datasets.Features | None:
    """The features of a row type's encoded columns (None when one is not known here)."""
    if not all(c in ENCODED_FEATURES for c in columns):
        return None
    return datasets.Features({c: ENCODED_FEATURES[c] for c in columns})


def run_pipeline(spec: PipelineSpec, tokenizer: Any,
                 scratch: Path) -> tuple[datasets.Dataset, dict]:
    """Raw rows -> encoded samples (unpacked) and their statistics, under ``spec``'s policy."""
    raw, locate_row = load_rows(spec)
    encoded = raw.map(
        _map_batch, batched=True, batch_size=BATCH, with_indices=True,
        features=encoded_features(spec.rows.columns),
        num_proc=spec.num_proc if spec.num_proc > 1 else None, remove_columns=raw.column_names,
        fn_kwargs=dict(spec=spec, tokenizer=tokenizer, locate_row=locate_row),
        desc=f'{spec.row_type}: map_fn + template + tokenize', load_from_cache_file=False,
        # Our own scratch file: next to the raw file's cache, datasets would find the shard
        # files of an earlier run and redo the map with their (smaller) num_proc.
        cache_file_name=str(scratch / 'encoded.arrow'))
    stats: dict[str, Any] = {'rows': len(raw)}
    skipped = len(raw) - len(encoded)  # a row type gives one sample per good row
    if skipped:
        log(f"dataset: skipped {skipped} bad rows of {len(raw)} (on_bad_row='skip')",
            logging.WARNING)
    counts = {name: column_values(encoded, name) for name in ('length', 'num_trained', 'truncated')}
    kept = counts['num_trained'] > 0
    emptied = int((~kept).sum())
    if emptied:
        encoded = encoded.select(np.flatnonzero(kept))
        log(f'dataset: dropped {emptied} samples whose first reply does not fit in max_length='
            f'{spec.max_length} (a reply is never cut from its end of turn); raise max_length '
            'to keep them', logging.WARNING)
    if len(encoded) == 0:
        # every row skipped: say why the first one was (e.g. the map_fn that fits its columns)
        why = process_rows([(locate_row(0), raw[0])], spec, tokenizer, 'collect').bad_rows \
            if skipped else []
        raise DatasetFormatError(f'{list(spec.files) or spec.path}: no usable rows' + (
            f'; every row was bad, the first: {why[0].where}: {why[0].problem}' if why else ''))
    truncated = int(counts['truncated'][kept].sum())
    stats.update(samples=len(encoded), skipped=skipped, emptied=emptied, truncated=truncated,
                 tokens=int(counts['length'][kept].sum()),
                 trained_tokens=int(counts['num_trained'][kept].sum()))
    if truncated:
        log(f'dataset: {truncated} of {len(encoded)} samples were longer than max_length='
            f'{spec.max_length}; they keep their first whole turns (conversations) or first '
            f'{spec.max_length} tokens (plain text)', logging.WARNING)
    return encoded, stats


def pipeline_entry(specs: Callable[..., list[PipelineSpec]]) -> Callable:
    """Mark a dataset builder whose keyword arguments ``specs(**kwargs)`` turns into the
    pipeline specs it runs (check-custom-dataset and curation read a recipe through it)."""
    def mark(builder: Callable) -> Callable:
        builder.pipeline_specs = specs
        return builder
    return mark


def specs_of(dataset_spec: dict) -> list[PipelineSpec]:
    """The pipeline specs a recipe's ``train_dataloader.dataset`` runs (one per source)."""
    builder = locate(dataset_spec.get('type'))
    specs = getattr(builder, 'pipeline_specs', None)
    if specs is None:
        raise ConfigError(f'dataset type {getattr(builder, "__qualname__", builder)} does not '
                          'run the data pipeline (use xtuner_like.dataset.build_dataset)')
    return specs(**{k: v for k, v in dataset_spec.items() if k != 'type'})
