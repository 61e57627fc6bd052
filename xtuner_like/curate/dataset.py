"""Curation as a step of a recipe's data pipeline: ``build_curated_dataset``.

A dataset spec either curates its ``data_files`` (``curate=dict(...)``: the changes to
``configs/curate/default.py``) or reads a folder ``xtuner-like curate`` wrote
(``curated_dir=...``); then ``split`` ('train' or 'eval') goes through the usual SFT
pipeline (``build_sft_dataset`` with ``dataset_map_fn=None``: curated rows are the map_fn's
samples, so they train on the token ids the raw rows would). Curated folders are
cached under a key of the input files, the curate config and the curation code; rank 0
curates while the other ranks wait.
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from mmengine.dist import barrier, get_dist_info

from ..dataset.build import build_sft_dataset
from ..dataset.cache import cache_key, default_cache_dir, file_fingerprint
from ..dataset.load import resolve_data_files
from ..errors import ConfigError
from ..utils.logging import log
from .config import default_config_path, load_curate_config


def curate_fingerprint() -> str:
    """The curation code and shipped defaults: changed code must not reuse a cached folder."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob('*.py')) + [default_config_path()]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def curated_folder(data_files: Any, curate: dict, cache_dir: str | None = None,
                   use_cache: bool = True) -> Path:
    """The cached folder of ``data_files`` curated with ``curate`` (made on rank 0)."""
    from .pipeline import curate as run_curate
    files = resolve_data_files(data_files)
    cfg = load_curate_config(None, dict(curate))
    key = cache_key(files=[file_fingerprint(f) for f in files], curate=cfg,
                    code=curate_fingerprint())
    folder = Path(cache_dir or default_cache_dir()) / 'curated' / key
    rank, world_size = get_dist_info()
    if rank == 0 and not (use_cache and (folder / 'report.json').exists()):
        tmp = folder.with_name(folder.name + '.tmp')
        shutil.rmtree(tmp, ignore_errors=True)
        report = run_curate(files, tmp, cfg, log=log)
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
        log(f'curate: {report.rows_in} rows -> {report.split}; report in {folder}/report.md')
    elif rank == 0:
        log(f'curate: loaded from cache {folder}')
    if world_size > 1:
        barrier()
    return folder


def build_curated_dataset(tokenizer: Any, data_files: Any = None, curate: dict | None = None,
                          curated_dir: str | None = None, split: str = 'train',
                          cache_dir: str | None = None, use_cache: bool = True,
                          **sft_kwargs: Any):
    """The ``split`` of curated data as an SFT dataset (see the module docstring).

    Args:
        tokenizer: a tokenizer or its spec.
        data_files: raw files to curate (with ``curate``).
        curate: changes to the default curate config, e.g.
            ``dict(split=dict(eval_count=200), near_dedup=dict(threshold=0.8))``.
        curated_dir: instead, a folder written by ``xtuner-like curate``.
        split: 'train' or 'eval' (the validation set of ``ValLossHook``).
        **sft_kwargs: the rest of ``build_sft_dataset``'s arguments (template, max_length,
            packing ...).
    """
    if (curate is None) == (curated_dir is None):
        raise ConfigError('build_curated_dataset: give curate=dict(...) with data_files, or '
                          'curated_dir=<a folder written by xtuner-like curate>')
    if sft_kwargs.pop('dataset_map_fn', None) is not None:
        raise ConfigError('build_curated_dataset reads curated rows (samples a map_fn already '
                          'made); drop dataset_map_fn (the curate config has format.map_fn)')
    folder = curated_folder(data_files, curate, cache_dir, use_cache) if curate is not None \
        else Path(curated_dir)
    found = sorted(folder.glob(f'{split}.*'))
    if not found:
        raise ConfigError(f'{folder} has no {split!r} split (files: '
                          f'{sorted(p.name for p in folder.glob("*"))}); curate with '
                          'split.enabled=True for an eval split')
    return build_sft_dataset(tokenizer, data_files=str(found[0]), dataset_map_fn=None,
                             cache_dir=cache_dir, use_cache=use_cache, **sft_kwargs)
