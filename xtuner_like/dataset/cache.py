"""Cache keys for processed datasets: a hash of everything that changes the result."""
from __future__ import annotations

import hashlib
import inspect
import json
import os
from pathlib import Path
from typing import Any, Callable

from transformers import PreTrainedTokenizerBase

from ..utils.io import home_dir

PIPELINE_MODULES = ('encode', 'pack', 'template', 'build', 'pipeline', 'map_fns')


def default_cache_dir() -> Path:
    """``<home>/datasets`` (``utils.io.home_dir``: default ``~/.cache/xtuner_like``)."""
    return home_dir() / 'datasets'


def file_fingerprint(path: str) -> dict:
    stat = os.stat(path)
    return {'path': path, 'size': stat.st_size, 'mtime_ns': stat.st_mtime_ns}


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
    for path in sorted(here.rglob('*.py')):
        if path.stem in PIPELINE_MODULES or path.parent.name in PIPELINE_MODULES:
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(**parts: Any) -> str:
    """Stable hash of JSON-able parts."""
    text = json.dumps(parts, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:24]
