"""Several datasets in one recipe: each source built alone, sampled by ratio, packed once.

A recipe lists its sources; every key a source leaves out comes from the shared arguments::

    train_dataloader = dict(dataset=dict(
        type=build_concat_dataset, tokenizer=..., prompt_template='chatml', max_length=2048,
        sources=[dict(data_files='a.json', dataset_map_fn='alpaca'),
                 dict(data_files='b.jsonl', dataset_map_fn='openai', ratio=0.5)]))

Each source runs the pipeline unpacked (its own :class:`PipelineSpec`, so it is cached and
checked on its own), then keeps ``ratio`` times its samples (``0.5``: a seeded random half; ``2``: every
sample twice), and the union is packed once, so samples of different sources share packs.
"""
from __future__ import annotations

from typing import Any

import datasets
import numpy as np

from ..errors import ConfigError
from ..templates.chat_format import DEFAULT_TEMPLATE, ChatFormat
from ..utils.build import build
from ..utils.labels import count_trained
from ..utils.logging import log
from .build import build_from_spec, sft_pipeline_specs
from .pack import pack_dataset
from .pipeline import PipelineSpec, pipeline_entry
from .sft_dataset import SftDataset

SOURCE_KEYS = ('data_files', 'path', 'split', 'dataset_map_fn', 'system', 'max_rows',
               'on_bad_row', 'ratio')


def source_kwargs(source: dict, shared: dict) -> tuple[dict, float]:
    """build_sft_dataset arguments of one source (shared ones filled in) and its ratio."""
    if not isinstance(source, dict):
        raise ConfigError(f'each entry of sources must be a dict, got {source!r:.80}')
    unknown = sorted(set(source) - set(SOURCE_KEYS))
    if unknown:
        raise ConfigError(f'sources: unknown key(s) {unknown}; a source takes '
                          f'{", ".join(SOURCE_KEYS)}')
    ratio = source.get('ratio', 1.0)
    if not isinstance(ratio, (int, float)) or ratio <= 0:
        raise ConfigError(f'sources: ratio must be a positive number, got {ratio!r}')
    kwargs = {**shared, **{k: v for k, v in source.items() if k != 'ratio'}}
    return kwargs, float(ratio)


def sample_by_ratio(n: int, ratio: float, seed: int) -> list[int]:
    """Indices of ``round(n * ratio)`` samples: whole copies, then a seeded random rest."""
    target = round(n * ratio)
    whole, rest = divmod(target, n) if n else (0, 0)
    rng = np.random.default_rng(seed)
    extra = sorted(rng.choice(n, size=rest, replace=False).tolist()) if rest else []
    return [i for _ in range(whole) for i in range(n)] + extra


def concat_pipeline_specs(tokenizer: Any = None, sources: list[dict] | None = None,
                          pack_to_max_length: bool = True, seed: int = 0,
                          cache_dir: str | None = None, use_cache: bool = True,
                          **shared: Any) -> list[PipelineSpec]:
    """One unpacked pipeline spec per source, ``shared`` keywords (prompt_template, system,
    max_length, num_proc, on_bad_row) filled in where a source leaves them out."""
    if not sources:
        raise ConfigError('build_concat_dataset needs at least one source in sources=[...]')
    return [spec for source in sources for spec in sft_pipeline_specs(
        pack_to_max_length=False, **source_kwargs(source, shared)[0])]


@pipeline_entry(concat_pipeline_specs)
def build_concat_dataset(tokenizer: Any, sources: list[dict],
                         prompt_template: str | None = DEFAULT_TEMPLATE,
                         system: str | None = None, max_length: int = 2048,
                         pack_to_max_length: bool = True, num_proc: int = 1,
                         on_bad_row: str = 'error', seed: int = 0,
                         cache_dir: str | None = None, use_cache: bool = True) -> SftDataset:
    """Build one training dataset from several sources (see the module docstring).

    Args:
        tokenizer: a tokenizer or its spec.
        sources: dicts with ``data_files`` or ``path``, ``dataset_map_fn`` and optionally
            ``system``, ``split``, ``max_rows``, ``on_bad_row`` and ``ratio`` (default 1).
        prompt_template, system, max_length, pack_to_max_length, num_proc, on_bad_row:
            as in :func:`build_sft_dataset`; a source's own keys win.
        seed: seed of the ratio sampling.
    """
    specs = concat_pipeline_specs(
        sources=sources, prompt_template=prompt_template, system=system,
        max_length=max_length, num_proc=num_proc, on_bad_row=on_bad_row)
    tokenizer = build(tokenizer)
    parts, stats = [], {'sources': []}
    for k, (source, spec) in enumerate(zip(sources, specs)):
        ratio = float(source.get('ratio', 1.0))
        built = build_from_spec(spec, tokenizer, cache_dir, use_cache)
        keep = sample_by_ratio(len(built), ratio, seed + k)
        parts.append(built.data.with_format(None).select(keep))
        stats['sources'].append({'data': str(source.get('data_files') or source.get('path')),
                                 'samples': len(built), 'kept': len(keep)})
        log(f'dataset source {k}: kept {len(keep)} of {len(built)} samples (ratio {ratio:g})')
    data = datasets.concatenate_datasets(parts)
    labels = data.with_format('arrow')['labels'].combine_chunks().values.to_numpy()
    stats.update(samples=len(data), tokens=int(sum(data['length'])),
                 trained_tokens=count_trained(labels))
    if pack_to_max_length:
        data, pack_stats = pack_dataset(data, max_length, num_proc)
        stats.update(packs=pack_stats['num_packs'], pack_efficiency=pack_stats['efficiency'])
        log(f'dataset: packed {len(parts)} sources, {stats["samples"]} samples into '
            f'{pack_stats["num_packs"]} rows; pack efficiency {pack_stats["efficiency"]:.1%}')
    return SftDataset(data, tokenizer=tokenizer,
                      chat_format=ChatFormat.build(prompt_template, system),
                      packed=pack_to_max_length, max_length=max_length, stats=stats)
