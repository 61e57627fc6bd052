"""build_dataset: one dataset dict (options of dataset/spec.py) -> sources -> run, mix, pack.

Each source is one :class:`PipelineSpec` run on rank 0 (or loaded from its cache); the
other ranks wait at a barrier and load it. One source at ``ratio=1`` is packed and cached
whole; several sources are each cached unpacked, sampled by ``ratio``, concatenated and
packed once, so samples of different sources share packs. Any row kind (``row_type``) goes
the same way: packing and the statistics line are :func:`finish`, written once.

Several runs may prepare the same dataset at once (a sweep, a test run beside a training):
each processes in its own scratch folder, under a file lock on the cache entry, so the
second waits for the first and then loads its cache.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import datasets
import numpy as np
from filelock import FileLock, Timeout
from mmengine.dist import barrier, get_dist_info

from ..errors import ConfigError
from ..utils.build import build
from ..utils.io import atomic_dir
from ..utils.labels import count_trained
from ..utils.logging import log
from .cache import (cache_key, default_cache_dir, file_fingerprint, function_fingerprint,
                    pipeline_fingerprint, tokenizer_fingerprint)
from .pack import pack_dataset
from .pipeline import PipelineSpec, pipeline_entry, run_pipeline, specs_of
from .sft_dataset import SftDataset
from .spec import BY_NAME, OPTIONS, chat_format, check_options


def dataset_specs(tokenizer: Any = None, sources: list[dict] | None = None,
                  cache_dir: str | None = None, use_cache: bool = True,
                  **options: Any) -> list[PipelineSpec]:
    """The pipeline spec of every source of :func:`build_dataset` with these arguments."""
    return [PipelineSpec.from_source(o) for o in check_options(options, sources)]


@pipeline_entry(dataset_specs)
def build_dataset(tokenizer: Any, sources: list[dict] | None = None,
                  cache_dir: str | None = None, use_cache: bool = True,
                  **options: Any) -> SftDataset:
    """Build a training (or evaluation) dataset of any row kind from one or several sources.

    Args:
        tokenizer: a tokenizer or its spec (``dict(type=load_tokenizer, ...)``).
        sources: dicts of per-source options (``data_files``/``path``, ``dataset_map_fn``,
            ``prompt_template``, ``system``, ``ratio`` ...); None: ``options`` are the one
            source.
        cache_dir, use_cache: where processed data is cached, and whether to read it.
        **options: the dataset options of dataset/spec.py (``row_type``, ``max_length``,
            ``pack_to_max_length`` ...), shared by every source that does not set its own.
    """
    specs = dataset_specs(sources=sources, **options)
    tokenizer = build(tokenizer)
    fmt = chat_format(options)
    for k, spec in enumerate(specs):
        if spec.chat_format != fmt:
            log(f'dataset source {k} renders with template {spec.chat_format.name!r} / its '
                'own system text; an export writes the dataset\'s '
                f'{fmt.name!r}', logging.WARNING)
    if len(specs) == 1 and specs[0].ratio == 1:
        dataset = build_from_spec(specs[0], tokenizer, cache_dir, use_cache)
        dataset.chat_format = fmt
    else:
        dataset = _mix(specs, tokenizer, fmt, cache_dir, use_cache)
    dataset.stats['data'] = describe(specs)
    return dataset


build_dataset.forwarded_kwargs = tuple(BY_NAME)  # the config checker's near-miss hints


@pipeline_entry(dataset_specs)
def build_sft_dataset(tokenizer: Any, **options: Any) -> SftDataset:
    """:func:`build_dataset` (the name code written before it used)."""
    return build_dataset(tokenizer, **options)


def _preference_specs(**options: Any) -> list[PipelineSpec]:
    return dataset_specs(**{'row_type': 'preference', **options})


@pipeline_entry(_preference_specs)
def build_preference_dataset(tokenizer: Any, **options: Any) -> SftDataset:
    """:func:`build_dataset` with ``row_type='preference'`` unless given ('kto')."""
    return build_dataset(tokenizer, **{'row_type': 'preference', **options})


build_sft_dataset.forwarded_kwargs = build_preference_dataset.forwarded_kwargs = \
    build_dataset.forwarded_kwargs


def check_dataset_spec(spec: dict) -> None:
    """Fail fast, before a model is loaded, on names and files a dataset spec gets wrong."""
    specs_of({k: v for k, v in spec.items() if k != 'tokenizer'})


def describe(specs: list[PipelineSpec]) -> str:
    """Which rows the dataset reads, in words (for logs): files or hub id, and the part."""
    where = ', '.join(', '.join(s.files) or str(s.path) for s in specs)
    spec = specs[0]
    if spec.part == 'eval':
        share = f'{spec.holdout:.0%}' if isinstance(spec.holdout, float) else \
            f'{spec.holdout} rows'
        return f'the held-out rows ({share}, evenly spread) of {where}'
    if any(s.holdout for s in specs):
        return f'{where}, less the rows held out for evaluation'
    return where


def cache_target(spec: PipelineSpec, tokenizer: Any, cache_dir: str | None) -> Path:
    """The cache folder of ``spec`` + ``tokenizer``: a hash of every field that changes it."""
    unkeyed = {o.field_name for o in OPTIONS if not o.keyed}
    parts: dict[str, Any] = {}
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        if f.name == 'files':
            value = [file_fingerprint(path) for path in value]
        elif f.name == 'map_fn':
            value = function_fingerprint(value)
        elif f.name == 'chat_format':
            value = [repr(value.template), value.system]
        elif f.name in unkeyed:
            continue
        parts[f.name] = value
    key = cache_key(**parts, tokenizer=tokenizer_fingerprint(tokenizer),
                    code=pipeline_fingerprint())
    return Path(cache_dir or default_cache_dir()) / key


def build_from_spec(spec: PipelineSpec, tokenizer: Any, cache_dir: str | None = None,
                    use_cache: bool = True) -> SftDataset:
    """Run ``spec`` on rank 0 (or load its cache) and return the dataset on every rank."""
    target = cache_target(spec, tokenizer, cache_dir)
    rank, world_size = get_dist_info()
    cached = False
    if rank == 0:
        cached = _prepare(spec, tokenizer, target, use_cache)
    if world_size > 1:
        barrier()
        if not (target / 'done').exists():   # another node, whose disk rank 0 did not write
            raise ConfigError(
                f'rank {rank}: the dataset cache {target} that rank 0 prepared is not on this '
                'node; put XTUNER_LIKE_HOME (or cache_dir) on a filesystem every node shares')
    dataset = SftDataset.load(target, tokenizer=tokenizer, chat_format=spec.chat_format,
                              packed=spec.pack, max_length=spec.max_length)
    stats = dataset.stats
    if cached and 'pack_efficiency' in stats:
        # the same summary as a fresh build: a cached run's log still shows what it trains on
        log(f'dataset: {stats.get("samples")} samples packed into {stats.get("packs")} rows of '
            f'<= {spec.pack_length} tokens; pack efficiency {stats["pack_efficiency"]:.1%}')
    return dataset


def _prepare(spec: PipelineSpec, tokenizer: Any, target: Path, use_cache: bool) -> bool:
    """Process ``spec`` into ``target`` unless it is cached; True when it was.

    Under a lock on the cache entry, in a scratch folder of this process: two runs that
    prepare the same data at once never share (or delete) each other's files.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(target) + '.lock')
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log(f'dataset: another process is preparing {target.name}; waiting for it to finish '
            f'(lock {lock.lock_file})')
        lock.acquire()
    try:
        if use_cache and (target / 'done').exists():
            log(f'dataset: loaded from cache {target} (no tokenization needed)')
            return True
        with tempfile.TemporaryDirectory(prefix=target.name + '.scratch-',
                                         dir=target.parent) as scratch:
            encoded, stats = run_pipeline(spec, tokenizer, Path(scratch))
            data, stats = finish(encoded, stats, spec)
            _save(data, stats, target)
        return False
    finally:
        lock.release()


def finish(encoded: datasets.Dataset, stats: dict,
           spec: PipelineSpec) -> tuple[datasets.Dataset, dict]:
    """Packing (or the row type's sample columns) and the summary line, for any row kind."""
    if spec.pack:
        encoded, pack_stats = pack_dataset(encoded, spec.pack_length, spec.num_proc,
                                           carry=getattr(spec.rows, 'pack_carry', ()))
        stats.update(packs=pack_stats['num_packs'], pack_efficiency=pack_stats['efficiency'])
        log(f'dataset: packed {pack_stats["num_samples"]} samples into {pack_stats["num_packs"]}'
            f' rows of <= {spec.pack_length} tokens; pack efficiency '
            f'{pack_stats["efficiency"]:.1%}')
    else:
        # The row type's own columns, less the statistics (read above, not trained on).
        encoded = encoded.select_columns(
            [c for c in spec.rows.columns if c not in ('num_trained', 'truncated')])
    summary = getattr(spec.rows, 'summary', None)
    log(summary(stats) if summary else
        f'dataset: {stats["samples"]} samples, {stats["tokens"]} tokens, '
        f'{stats["trained_tokens"] / max(stats["tokens"], 1):.1%} of them trained')
    return encoded, stats


def sample_by_ratio(n: int, ratio: float, seed: int) -> list[int]:
    """Indices of ``round(n * ratio)`` samples: whole copies, then a seeded random rest."""
    target = round(n * ratio)
    whole, rest = divmod(target, n) if n else (0, 0)
    rng = np.random.default_rng(seed)
    extra = sorted(rng.choice(n, size=rest, replace=False).tolist()) if rest else []
    return [i for _ in range(whole) for i in range(n)] + extra


def _mix(specs: list[PipelineSpec], tokenizer: Any, fmt: Any, cache_dir: str | None,
         use_cache: bool) -> SftDataset:
    """Each source unpacked (cached on its own), sampled by ratio, concatenated, finished."""
    parts, sources = [], []
    for k, spec in enumerate(specs):
        built = build_from_spec(dataclasses.replace(spec, pack=False), tokenizer, cache_dir,
                                use_cache)
        keep = sample_by_ratio(len(built), spec.ratio, spec.seed + k)
        parts.append(built.data.with_format(None).select(keep))
        sources.append({'data': ', '.join(spec.files) or str(spec.path),
                        'samples': len(built), 'kept': len(keep)})
        log(f'dataset source {k}: kept {len(keep)} of {len(built)} samples '
            f'(ratio {spec.ratio:g})')
    data = datasets.concatenate_datasets(parts)
    labels = data.with_format('arrow')['labels'].combine_chunks().values.to_numpy()
    stats = {'sources': sources, 'samples': len(data), 'tokens': int(sum(data['length'])),
             'trained_tokens': count_trained(labels)}
    data, stats = finish(data, stats, specs[0])
    return SftDataset(data, tokenizer=tokenizer, chat_format=fmt, packed=specs[0].pack,
                      max_length=specs[0].max_length, stats=stats)


def _save(data: datasets.Dataset, stats: dict, target: Path) -> None:
    """Write the cache folder atomically, so a half-written cache is never read."""
    with atomic_dir(target, overwrite=True) as tmp:
        data.save_to_disk(str(tmp))
        (tmp / 'stats.json').write_text(json.dumps(stats, indent=1))
        (tmp / 'done').touch()
