"""Stage 'format': every source row becomes one sample of the training pipeline, whole.

Curation converts rows on the training path itself: the row type's map, validate and
encode (``dataset.pipeline.process_rows`` under the 'collect' policy, the registered
map_fns), so a row curation keeps is a row training accepts, and a bad row is bad for the
same reason in both. What is written is the map_fn's sample as data (tools, tool calls and
results, thinking, a preference pair's two replies), which training reads back with
``dataset_map_fn=None`` to the same token ids.

A row type is checked with a byte-level tokenizer built here (no download; any text
encodes), unless ``format.tokenizer`` names the recipe's tokenizer folder.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..dataset.map_fns import get_map_fn
from ..dataset.pipeline import ROW_TYPES, PipelineSpec, RowLocator, process_rows
from ..errors import ConfigError, DatasetFormatError
from .stage import CURATION_STAGES, Option, Stage
from .text import encode

# Columns that give a file's format away, checked in this order: (columns, map_fn, row type).
SIGNATURES: tuple[tuple[frozenset[str], str | None, str], ...] = (
    (frozenset({'conversation', 'chosen', 'rejected'}), None, 'preference'),
    (frozenset({'conversation', 'completion', 'label'}), None, 'kto'),
    (frozenset({'conversation'}), None, 'sft'),
    (frozenset({'conversations', 'chosen', 'rejected'}), 'sharegpt_preference', 'preference'),
    (frozenset({'prompt', 'completion', 'label'}), 'kto', 'kto'),
    (frozenset({'chosen', 'rejected'}), 'openai_preference', 'preference'),
    (frozenset({'messages'}), 'openai', 'sft'),
    (frozenset({'conversations'}), 'sharegpt', 'sft'),
    (frozenset({'meta_instruction', 'chat'}), 'moss_sft', 'sft'),
    (frozenset({'instruction', 'output'}), 'alpaca', 'sft'),
    (frozenset({'text'}), 'pretrain', 'sft'),
)
# The row type of a map_fn that does not make SFT samples.
MAP_FN_ROW_TYPES = {'sharegpt_preference': 'preference', 'openai_preference': 'preference',
                    'plain_preference': 'preference', 'kto': 'kto'}
ON_BAD_ROW = ('error', 'skip')
OLD_POLICIES = {'drop': 'skip'}   # the names curation used before it shared training's
CHECK_LENGTH = 1 << 30            # no truncation while checking a row
SCHEMA = pa.schema([('_id', pa.int64()), ('source', pa.string()), ('row', pa.int64()),
                    ('sample', pa.string()), ('_reason', pa.string()),
                    ('_detail', pa.string())])
COLUMNS = tuple(SCHEMA.names)
WRITTEN = ('source', 'row')        # provenance written after each sample's own keys


def bad_row_policy(name: str, log=None) -> str:
    """``'error'`` or ``'skip'`` (training's names); the old ``'drop'`` still works, with a
    deprecation message."""
    if name in OLD_POLICIES:
        new = OLD_POLICIES[name]
        if log is not None:
            log(f"curate: format.on_bad_row={name!r} is deprecated; it is now {new!r} "
                "(the name training's on_bad_row uses)")
        return new
    if name not in ON_BAD_ROW:
        raise ConfigError(f'format.on_bad_row={name!r}; use one of {ON_BAD_ROW}')
    return name


def detect_format(path: str, columns: list[str]) -> tuple[str | None, str]:
    """(map_fn name, row type) for a file with these columns; a clear error when none fits."""
    for needed, name, row_type in SIGNATURES:
        if needed <= set(columns):
            return name, row_type
    known = ', '.join(f"{sorted(cols)} -> {name or 'none'}" for cols, name, _ in SIGNATURES)
    raise ConfigError(f'{path}: cannot tell the format from its columns {sorted(columns)} '
                      f'({known}); set format.map_fn to a name from '
                      '`xtuner-like list-dataset-format`')


def resolve_format(path: str, columns: list[str], map_fn: str | None,
                   row_type: str | None) -> tuple[str | None, str]:
    """``map_fn`` and ``row_type`` checked against their registries, the detected ones where
    they are None."""
    if map_fn is None:
        found, detected = detect_format(path, columns)
    else:
        get_map_fn(map_fn)  # an unknown name fails here, with close matches
        found, detected = map_fn, MAP_FN_ROW_TYPES.get(map_fn, 'sft')
    row_type = row_type or detected
    ROW_TYPES.get(row_type)
    return found, row_type


@lru_cache(maxsize=4)
def check_tokenizer(path: str | None = None) -> Any:
    """The tokenizer rows are checked with: ``path``'s, or one with a token per byte."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast
    if path:
        return AutoTokenizer.from_pretrained(path)
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    tok = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(sorted(alphabet))},
                               merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token='</s>')


@lru_cache(maxsize=16)
def check_spec(map_fn: str | None, row_type: str, prompt_template: str | None) -> PipelineSpec:
    """The training pipeline's spec that a row is checked under."""
    options: dict[str, Any] = dict(dataset_map_fn=map_fn, row_type=row_type,
                                   max_length=CHECK_LENGTH, pack_to_max_length=False)
    if prompt_template is not None:
        options['prompt_template'] = prompt_template
    return PipelineSpec.from_options(**options)


def convert_rows(rows: list[dict], wheres: list[str], spec: PipelineSpec,
                 tokenizer: Any) -> list[tuple[dict | None, str]]:
    """Each raw row -> (its sample, '') when training accepts it, else (None, the problem).

    ``process_rows`` decides (the 'collect' policy: a row's data problem is kept; a bug in
    a map_fn propagates as itself); the sample written is the map_fn's output (without a
    map_fn, the row less an earlier curation's provenance columns).
    """
    processed = process_rows(list(zip(wheres, rows)), spec, tokenizer, 'collect')
    problems = {bad.where: bad.problem for bad in processed.bad_rows}
    out = []
    for where, row in zip(wheres, rows):
        if where in problems:
            out.append((None, problems[where]))
        else:
            out.append((spec.map_fn(row) if spec.map_fn is not None else
                        {k: v for k, v in row.items() if k not in WRITTEN}, ''))
    return out


def format_batch(batch: dict, *, map_fn: str | None, row_type: str, source: str, offset: int,
                 on_bad_row: str, prompt_template: str | None = None,
                 tokenizer: str | None = None) -> dict:
    """Raw rows (with their ``_row`` number) -> the curation columns (:data:`COLUMNS`)."""
    keys = [k for k in batch if k != '_row']
    row_nos = [int(r) for r in batch['_row']]
    locate = RowLocator([source], [0])
    rows = [{k: batch[k][j] for k in keys} for j in range(len(row_nos))]
    # A row's place is also its key among the bad rows (unique within a batch).
    converted = convert_rows(rows, [locate(r) for r in row_nos],
                             check_spec(map_fn, row_type, prompt_template),
                             check_tokenizer(tokenizer))
    out: dict[str, list] = {c: [] for c in COLUMNS}
    for row_no, (sample, problem) in zip(row_nos, converted):
        if problem and bad_row_policy(on_bad_row) == 'error':
            raise DatasetFormatError(
                f"{locate(row_no)}: {problem}. Fix the row, set format.map_fn, or set "
                "format.on_bad_row='skip'")
        out['_id'].append(offset + row_no)
        out['source'].append(source)
        out['row'].append(row_no)
        out['sample'].append(encode(sample) if sample is not None else '{}')
        out['_reason'].append('format_error' if problem else '')
        out['_detail'].append(problem[:200])
    return out


def output_batch(batch: dict) -> dict:
    """``_line``: each row as the JSON line written (the sample's keys, then ``source`` and
    ``row``); ``_split`` kept (all 'train' without a split stage)."""
    lines = [encode({**json.loads(sample), 'source': source, 'row': int(row)})
             for sample, source, row in zip(batch['sample'], batch['source'], batch['row'])]
    return {'_id': batch['_id'], '_line': lines,
            '_split': batch.get('_split') or ['train'] * len(batch['_id'])}


def _row_type_problem(value: Any) -> str:
    if value is not None and value not in ROW_TYPES:
        return f'{value!r}; use one of {sorted(ROW_TYPES)} or None (told from the columns)'
    return ''


class FormatStage(Stage):
    """Reads the input files; runs first, always (it is where rows come from)."""

    name, order = 'format', 0
    options = {
        'map_fn': Option(None, help='a registered map_fn; None tells it from the columns'),
        'row_type': Option(None, check=_row_type_problem,
                           help="'sft', 'preference' or 'kto'; None: from the map_fn"),
        'prompt_template': Option(None, help='template rows are checked with (default: the '
                                             "pipeline's)"),
        'tokenizer': Option(None, help='tokenizer folder rows are checked with (default: one '
                                       'token per byte)'),
        'on_bad_row': Option('skip', choices=ON_BAD_ROW + tuple(OLD_POLICIES),
                             help="'skip' drops (and reports) rows training would refuse; "
                                  "'error' stops at the first"),
    }

    def run(self, run: Any, files: list[str], opts: dict) -> Any:
        """The rows of ``files`` as samples (``run.locate`` set to find them again)."""
        policy = bad_row_policy(opts['on_bad_row'], run.log)
        parts, counts = [], []
        for path in files:
            raw = run.engine.read(path)
            map_fn, row_type = resolve_format(
                path, [c for c in run.engine.columns(raw) if c != '_row'], opts['map_fn'],
                opts['row_type'])
            counts.append(run.engine.count(raw))
            run.report.inputs.append(dict(path=path, rows=counts[-1], map_fn=map_fn,
                                          row_type=row_type))
            parts.append(run.engine.map(
                raw, format_batch, f'format {Path(path).name}', replace=True, schema=SCHEMA,
                map_fn=map_fn, row_type=row_type, source=path, offset=sum(counts[:-1]),
                on_bad_row=policy, prompt_template=opts['prompt_template'],
                tokenizer=opts['tokenizer']))
        run.locate = RowLocator(files, counts)
        return run.engine.concat(parts)


CURATION_STAGES.register('format', FormatStage())
