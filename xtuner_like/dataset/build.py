"""The SFT data pipeline: load -> dataset_map_fn -> template -> encode -> pack, cached.

Rank 0 processes and saves the result under a key of everything that changes it; other ranks
wait at a barrier and load it. A second run with the same inputs loads the cache (memory
mapped) without tokenizing again.
"""
from __future__ import annotations

import logging
import shutil
from bisect import bisect_right
from pathlib import Path
from typing import Any, Callable

import datasets
from mmengine.dist import barrier, get_dist_info

from ..errors import ConfigError, DatasetFormatError, XtunerLikeError
from ..templates import get_template, resolve_system
from ..utils.build import build
from ..utils.logging import log
from .cache import (cache_key, default_cache_dir, file_fingerprint, function_fingerprint,
                    pipeline_fingerprint, tokenizer_fingerprint)
from .encode import encode_batch
from .load import load_raw_dataset, resolve_data_files
from .map_fns import get_map_fn
from .pack import column_values, pack_dataset
from .sft_dataset import SftDataset
from .template import template_map_fn

ON_BAD_ROW = ('error', 'skip')


class RowLocator:
    """Turns a row index of the concatenated files into 'file, row N' for error messages."""

    def __init__(self, files: list[str], counts: list[int], hub_path: str | None = None):
        self.files, self.starts = files, [sum(counts[:i]) for i in range(len(counts))]
        self.hub_path = hub_path

    def __call__(self, index: int) -> str:
        if not self.files:
            return f'{self.hub_path}, row {index}'
        k = bisect_right(self.starts, index) - 1
        path, row = self.files[k], index - self.starts[k]
        return f'{path}, line {row + 1}' if path.endswith('.jsonl') else f'{path}, row {row}'


def _process_batch(batch: dict, indices: list[int], *, map_fn: Callable | None, template: Any,
                   system: str | None, tokenizer: Any, max_length: int, locate: RowLocator,
                   skip_bad: bool) -> dict:
    """map_fn + template + encode over one batch of raw rows."""
    keys = list(batch)
    good, bad = [], []
    for j, index in enumerate(indices):
        row = {k: batch[k][j] for k in keys}
        try:
            converted = map_fn(row) if map_fn is not None else row
            rendered = template_map_fn(converted, template, system, tokenizer.eos_token or '')
            if not any(s['trained'] for s in rendered['segments']):
                raise DatasetFormatError('nothing to train on (no assistant output)')
        except (XtunerLikeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            if not skip_bad:
                raise DatasetFormatError(
                    f'{locate(index)}: {exc}. Fix the row, set dataset_map_fn to match the '
                    "file's format, or set on_bad_row='skip'") from None
            bad.append(True)
        else:
            good.append(rendered['segments'])
            bad.append(False)
    return _with_bad_rows(encode_batch(good, tokenizer, max_length), bad)


_EMPTY = {'input_ids': [], 'labels': [], 'length': 0, 'num_trained': 0, 'truncated': False}


def _with_bad_rows(encoded: dict, bad: list[bool]) -> dict:
    """Encoded good rows with an empty placeholder at each bad row (filtered out later)."""
    out: dict[str, list] = {k: [] for k in encoded}
    good = iter(range(len(bad) - sum(bad)))
    for is_bad in bad:
        i = None if is_bad else next(good)
        for key in out:
            out[key].append(_EMPTY[key] if is_bad else encoded[key][i])
    out['bad'] = bad
    return out


def check_dataset_spec(spec: dict) -> None:
    """Fail fast, before a model is loaded, on names and files a dataset spec gets wrong."""
    if spec.get('on_bad_row', 'error') not in ON_BAD_ROW:
        raise ConfigError(f"on_bad_row={spec['on_bad_row']!r}; use one of {ON_BAD_ROW}")
    files = spec.get('data_files')
    if files is not None and not (isinstance(files, dict) and 'type' in files):
        resolve_data_files(files)
    get_map_fn(spec.get('dataset_map_fn'))
    if spec.get('prompt_template') is not None:
        get_template(spec['prompt_template'])


def build_sft_dataset(tokenizer: Any, data_files: Any = None, path: str | None = None,
                      split: str = 'train', dataset_map_fn: str | Callable | None = None,
                      prompt_template: str | None = 'chatml', system: str | None = None,
                      max_length: int = 2048, pack_to_max_length: bool = True,
                      max_rows: int | None = None, num_proc: int = 1,
                      on_bad_row: str = 'error', cache_dir: str | None = None,
                      use_cache: bool = True) -> SftDataset:
    """Build the training dataset from a recipe's dataset spec.

    Args:
        tokenizer: a tokenizer or its spec (``dict(type=load_tokenizer, ...)``).
        data_files: local file(s) or a spec returning a path; or use ``path``.
        path: a hub dataset id (online users).
        dataset_map_fn: registered name (e.g. 'alpaca', 'openai') or a function; None when
            rows already hold ``'conversation'``.
        prompt_template: template name; None for pre-training (all text trained).
        system: system-template name or literal text for rows without their own.
        max_length: longer samples are truncated (and counted in the log).
        pack_to_max_length: pack whole samples into rows of ``max_length``.
        max_rows: use only the first N rows.
        on_bad_row: 'error' (default) stops at the first bad row; 'skip' drops bad rows and
            logs how many.
    """
    check_dataset_spec(dict(on_bad_row=on_bad_row, dataset_map_fn=dataset_map_fn,
                            prompt_template=prompt_template))
    tokenizer = build(tokenizer)
    files = resolve_data_files(data_files) if data_files is not None else []
    map_fn = get_map_fn(dataset_map_fn)
    template = None if prompt_template is None else get_template(prompt_template)
    system_text = resolve_system(system)
    key = cache_key(
        files=[file_fingerprint(f) for f in files], path=path, split=split,
        map_fn=function_fingerprint(map_fn), template=repr(template), system=system_text,
        tokenizer=tokenizer_fingerprint(tokenizer), max_length=max_length,
        pack=pack_to_max_length, max_rows=max_rows, on_bad_row=on_bad_row,
        code=pipeline_fingerprint())
    target = Path(cache_dir or default_cache_dir()) / key
    rank, world_size = get_dist_info()
    if rank == 0 and not (use_cache and (target / 'done').exists()):
        scratch = target.with_name(target.name + '.scratch')
        shutil.rmtree(scratch, ignore_errors=True)
        try:
            data, stats = _process(files, path, split, map_fn, template, system_text,
                                   tokenizer, max_length, pack_to_max_length, max_rows,
                                   num_proc, on_bad_row == 'skip', scratch)
            _save(data, stats, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    elif rank == 0:
        log(f'dataset: loaded from cache {target} (no tokenization needed)')
    if world_size > 1:
        barrier()
    return SftDataset.load(target, tokenizer=tokenizer, template=template,
                           system=system_text, packed=pack_to_max_length,
                           max_length=max_length)


def _column_sum(ds: datasets.Dataset, name: str, positive: bool = False) -> int:
    """Sum (or count of positive values) of a numeric column."""
    values = column_values(ds, name)
    return int((values > 0).sum() if positive else values.sum())


def _process(files, path, split, map_fn, template, system, tokenizer, max_length, pack,
             max_rows, num_proc, skip_bad, scratch: Path) -> tuple[datasets.Dataset, dict]:
    parts = [load_raw_dataset([f]) for f in files] if files else [
        load_raw_dataset(None, path, split)]
    raw = parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
    locate = RowLocator(files, [len(p) for p in parts], path)
    if max_rows is not None:
        raw = raw.select(range(min(max_rows, len(raw))))
    encoded = raw.map(
        _process_batch, batched=True, batch_size=256, with_indices=True,
        num_proc=num_proc if num_proc > 1 else None, remove_columns=raw.column_names,
        fn_kwargs=dict(map_fn=map_fn, template=template, system=system, tokenizer=tokenizer,
                       max_length=max_length, locate=locate, skip_bad=skip_bad),
        desc='map_fn + template + tokenize', load_from_cache_file=False,
        # Our own scratch file: next to the raw file's cache, datasets would find the shard
        # files of an earlier run and redo the map with their (smaller) num_proc.
        cache_file_name=str(scratch / 'encoded.arrow'))
    stats: dict[str, Any] = {'rows': len(raw)}
    skipped = _column_sum(encoded, 'bad')
    if skipped:
        log(f"dataset: skipped {skipped} bad rows of {len(raw)} (on_bad_row='skip')",
            logging.WARNING)
        encoded = encoded.filter(lambda bad: not bad, input_columns='bad')
    encoded = encoded.remove_columns('bad')
    emptied = len(encoded) - _column_sum(encoded, 'num_trained', positive=True)
    if emptied:
        log(f'dataset: dropped {emptied} samples whose trained part lies beyond max_length='
            f'{max_length} (nothing left to learn); raise max_length to keep them',
            logging.WARNING)
        encoded = encoded.filter(lambda n: n > 0, input_columns='num_trained')
    if len(encoded) == 0:
        raise DatasetFormatError(f'{files or path}: no usable rows')
    truncated = _column_sum(encoded, 'truncated')
    stats.update(samples=len(encoded), skipped=skipped, emptied=emptied, truncated=truncated,
                 tokens=_column_sum(encoded, 'length'),
                 trained_tokens=_column_sum(encoded, 'num_trained'))
    if truncated:
        log(f'dataset: {truncated} of {len(encoded)} samples were longer than max_length='
            f'{max_length} and were truncated', logging.WARNING)
    if pack:
        encoded, pack_stats = pack_dataset(encoded, max_length, num_proc)
        stats.update(packs=pack_stats['num_packs'], pack_efficiency=pack_stats['efficiency'])
        log(f'dataset: packed {pack_stats["num_samples"]} samples into {pack_stats["num_packs"]}'
            f' rows of <= {max_length} tokens; pack efficiency {pack_stats["efficiency"]:.1%}')
    else:
        encoded = encoded.select_columns(['input_ids', 'labels', 'length'])
    log(f'dataset: {stats["samples"]} samples, {stats["tokens"]} tokens, '
        f'{stats["trained_tokens"] / max(stats["tokens"], 1):.1%} of them trained')
    return encoded, stats


def _save(data: datasets.Dataset, stats: dict, target: Path) -> None:
    """Write to a temporary folder and rename, so a half-written cache is never read."""
    import json
    tmp = target.with_name(target.name + '.tmp')
    shutil.rmtree(tmp, ignore_errors=True)
    data.save_to_disk(str(tmp))
    (tmp / 'stats.json').write_text(json.dumps(stats, indent=1))
    (tmp / 'done').touch()
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
