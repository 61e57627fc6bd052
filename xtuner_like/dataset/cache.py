"""Cache keys for processed datasets: a hash of everything that changes the result."""
from __future__ import annotations

import hashlib
import inspect
import json
import os
from pathlib import Path
from typing import Any, Callable

from transformers import PreTrainedTokenizerBase

from ..utils.io import atomic_write_text, home_dir

# Modules whose code decides what a cached dataset holds (the row types, loading, the
# rendering in templates/): editing one must not reuse an old cache.
PIPELINE_MODULES = ('encode', 'pack', 'template', 'build', 'pipeline', 'map_fns', 'preference',
                    'prompts', 'row_kind', 'load', 'spec', 'templates')


def default_cache_dir() -> Path:
    """``<home>/datasets`` (``utils.io.home_dir``: default ``~/.cache/xtuner_like``)."""
    return home_dir() / 'datasets'


def file_fingerprint(path: str) -> dict:
    """A data file's identity for the cache key: its path and a hash of its bytes.

    Size + mtime alone served stale data after a same-size edit whose mtime was put back
    (issue 16). The hash is remembered by (inode, size, mtime, ctime): ctime changes on every
    write and on every mtime reset, and cannot be set back, so an unchanged file is not read
    again and a changed one always is.
    """
    return {'path': path, 'size': os.stat(path).st_size, 'xxh3_128': content_hash(path)}


_HASHES: dict[str, str] = {}
_HASH_FILE = 'file_hashes.json'


def _stat_key(path: str) -> str:
    st = os.stat(path)
    return f'{path}|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}'


def content_hash(path: str, memo_dir: Path | None = None) -> str:
    """xxh3-128 of the file's bytes, remembered on disk by :func:`_stat_key`."""
    import xxhash  # installed with datasets
    key = _stat_key(path)
    if key in _HASHES:
        return _HASHES[key]
    memo_path = (memo_dir or default_cache_dir()) / _HASH_FILE
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    if key not in memo:
        digest = xxhash.xxh3_128()
        with open(path, 'rb') as f:
            while chunk := f.read(1 << 23):
                digest.update(chunk)
        # one entry per path: older versions of the file are of no use
        memo = {k: v for k, v in memo.items() if k.split('|')[0] != path}
        memo[key] = digest.hexdigest()
        _write_memo(memo_path, memo)
    _HASHES[key] = memo[key]
    return memo[key]


def _write_memo(path: Path, memo: dict) -> None:
    """Best effort (a read-only cache folder only costs re-reading), atomic (ranks share it)."""
    try:
        atomic_write_text(path, json.dumps(memo))
    except OSError:
        pass


def tokenizer_fingerprint(tokenizer: PreTrainedTokenizerBase) -> str:
    """Hash of the tokenizer's vocabulary, merges, special tokens and normalisation."""
    backend = getattr(tokenizer, 'backend_tokenizer', None)
    text = backend.to_str() if backend is not None else json.dumps(tokenizer.get_vocab(),
                                                                   sort_keys=True)
    extra = json.dumps([tokenizer.eos_token, tokenizer.bos_token, tokenizer.pad_token,
                        type(tokenizer).__name__])
    return hashlib.sha256((text + extra).encode()).hexdigest()


def function_fingerprint(fn: Callable | None) -> str:
    """A user's map_fn changes the data when its code changes: hash its source."""
    if fn is None:
        return 'none'
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        source = repr(fn)
    return f'{getattr(fn, "__module__", "")}.{getattr(fn, "__qualname__", "")}:' + \
        hashlib.sha256(source.encode()).hexdigest()


def pipeline_fingerprint() -> str:
    """Our own pipeline code: a changed encoder must not reuse an old cache."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted([*here.rglob('*.py'), *(here.parent / 'templates').rglob('*.py')]):
        if path.stem in PIPELINE_MODULES or path.parent.name in PIPELINE_MODULES:
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(**parts: Any) -> str:
    """Stable hash of JSON-able parts."""
    text = json.dumps(parts, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:24]
