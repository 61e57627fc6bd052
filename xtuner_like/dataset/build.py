"""build_sft_dataset: a recipe's dataset keywords -> one PipelineSpec -> run, pack, cache.

Rank 0 processes and saves the result under a key of everything that changes it; other ranks
wait at a barrier and load it. A second run with the same inputs loads the cache (memory
mapped) without tokenizing again.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Callable

import datasets
from mmengine.dist import barrier, get_dist_info

from ..errors import ConfigError
from ..templates.chat_format import DEFAULT_TEMPLATE
from ..utils.build import build
from ..utils.io import atomic_dir
from ..utils.logging import log
from .cache import (cache_key, default_cache_dir, file_fingerprint, function_fingerprint,
                    pipeline_fingerprint, tokenizer_fingerprint)
from .pack import pack_dataset
from .pipeline import PipelineSpec, pipeline_entry, run_pipeline, specs_of
from .sft_dataset import SftDataset


def sft_pipeline_specs(tokenizer: Any = None, cache_dir: str | None = None,
                       use_cache: bool = True, **options: Any) -> list[PipelineSpec]:
    """The one pipeline spec :func:`build_sft_dataset` runs; ``options`` are its data keywords
    (checked by :meth:`PipelineSpec.from_options`)."""
    return [PipelineSpec.from_options(**options)]


def check_dataset_spec(spec: dict) -> None:
    """Fail fast, before a model is loaded, on names and files a dataset spec gets wrong."""
    specs_of({k: v for k, v in spec.items() if k != 'tokenizer'})


@pipeline_entry(sft_pipeline_specs)
def build_sft_dataset(tokenizer: Any, data_files: Any = None, path: str | None = None,
                      split: str = 'train', dataset_map_fn: str | Callable | None = None,
                      prompt_template: str | None = DEFAULT_TEMPLATE, system: str | None = None,
                      max_length: int = 2048, pack_to_max_length: bool = True,
                      max_rows: int | None = None, num_proc: int = 1,
                      on_bad_row: str = 'error', cache_dir: str | None = None,
                      use_cache: bool = True) -> SftDataset:
    """Build the training dataset from a recipe's dataset spec.

    The keywords are the recipe's; they become one :class:`PipelineSpec` at once, and
    everything below works on that spec (dataset/pipeline.py).

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
    spec, = sft_pipeline_specs(
        data_files=data_files, path=path, split=split, dataset_map_fn=dataset_map_fn,
        prompt_template=prompt_template, system=system, max_length=max_length,
        pack_to_max_length=pack_to_max_length, max_rows=max_rows, num_proc=num_proc,
        on_bad_row=on_bad_row)
    return build_from_spec(spec, build(tokenizer), cache_dir, use_cache)


def cache_target(spec: PipelineSpec, tokenizer: Any, cache_dir: str | None) -> Path:
    """The cache folder of ``spec`` + ``tokenizer``: a hash of everything that changes it."""
    fmt = spec.chat_format
    key = cache_key(
        files=[file_fingerprint(f) for f in spec.files], path=spec.path, split=spec.split,
        map_fn=function_fingerprint(spec.map_fn), template=repr(fmt.template),
        system=fmt.system, tokenizer=tokenizer_fingerprint(tokenizer),
        max_length=spec.max_length, pack=spec.pack, max_rows=spec.max_rows,
        on_bad_row=spec.on_bad_row, row_type=spec.row_type, code=pipeline_fingerprint())
    return Path(cache_dir or default_cache_dir()) / key


def build_from_spec(spec: PipelineSpec, tokenizer: Any, cache_dir: str | None = None,
                    use_cache: bool = True) -> SftDataset:
    """Run ``spec`` on rank 0 (or load its cache) and return the dataset on every rank."""
    target = cache_target(spec, tokenizer, cache_dir)
    rank, world_size = get_dist_info()
    cached = False
    if rank == 0 and not (use_cache and (target / 'done').exists()):
        scratch = target.with_name(target.name + '.scratch')
        shutil.rmtree(scratch, ignore_errors=True)
        try:
            data, stats = _process(spec, tokenizer, scratch)
            _save(data, stats, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    elif rank == 0:
        log(f'dataset: loaded from cache {target} (no tokenization needed)')
        cached = True
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


def _process(spec: PipelineSpec, tokenizer: Any, scratch: Path) -> tuple[datasets.Dataset, dict]:
    """The pipeline, then packing (or the row type's sample columns) and the summary line."""
    encoded, stats = run_pipeline(spec, tokenizer, scratch)
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
    log(f'dataset: {stats["samples"]} samples, {stats["tokens"]} tokens, '
        f'{stats["trained_tokens"] / max(stats["tokens"], 1):.1%} of them trained')
    return encoded, stats


def _save(data: datasets.Dataset, stats: dict, target: Path) -> None:
    """Write the cache folder atomically, so a half-written cache is never read."""
    with atomic_dir(target, overwrite=True) as tmp:
        data.save_to_disk(str(tmp))
        (tmp / 'stats.json').write_text(json.dumps(stats, indent=1))
        (tmp / 'done').touch()
