"""What ``eval MODEL`` (and ``--baseline MODEL``) names, loaded: a work dir (its export, or its
last checkpoint converted on the fly), a checkpoint with ``--config``, a PEFT adapter folder
(its base from ``adapter_config.json`` or ``--base``), a merged folder, a hub id or the
embedded model."""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError


@dataclass
class LoadedModel:
    """A model ready to evaluate, and what is known of how it was trained."""

    label: str
    model: Any
    tokenizer: Any
    chat_format: Any = None      # the run's ChatFormat when a training config is known


def _run_config(work_dir: Path) -> Path | None:
    """The config a run dumped into its work dir (``<name>.py``)."""
    configs = sorted(work_dir.glob('*.py'))
    return configs[0] if len(configs) == 1 else None


def _last_checkpoint(work_dir: Path) -> Path | None:
    pointer = work_dir / 'last_checkpoint'
    if pointer.is_file():
        path = Path(pointer.read_text().strip())
        path = path if path.is_absolute() else work_dir / path.name
        if path.exists():
            return path
    found = sorted(work_dir.glob('iter_*.pth'), key=lambda p: int(p.stem.split('_')[1]))
    return found[-1] if found else None


def _chat_format(config: Path | None) -> Any:
    if config is None:
        return None
    from ..convert.pth_to_hf import load_run_config
    from ..dataset.spec import chat_format_of
    return chat_format_of(load_run_config(config))


def _adapter_base(adapter: Path, base: str | None) -> str:
    if base:
        return base
    config = json.loads((adapter / 'adapter_config.json').read_text())
    name = config.get('base_model_name_or_path')
    if not name:
        raise ConfigError(f'{adapter}: adapter_config.json names no base model; pass --base')
    return name


def load_for_eval(name: str, bits: int | None = None, config: str | None = None,
                  base: str | None = None) -> LoadedModel:
    """Resolve and load ``name`` (see the module docstring)."""
    from ..chat.load import load_chat_model
    path = Path(name).expanduser()
    chat_format = None
    if path.is_file() or (path.is_dir() and config and not (path / 'config.json').exists()
                          and not (path / 'adapter_config.json').exists()):
        if not config:   # a checkpoint file (or a DeepSpeed checkpoint folder)
            raise ConfigError(f'{name}: a checkpoint needs --config (its training config)')
        path = _convert(path, Path(config))
        chat_format = _chat_format(Path(config))
    elif path.is_dir() and not (path / 'config.json').exists() \
            and not (path / 'adapter_config.json').exists():
        run_config = _run_config(path)
        chat_format = _chat_format(run_config)
        if (path / 'hf').is_dir():
            path = path / 'hf'
        else:
            checkpoint = _last_checkpoint(path)
            if checkpoint is None or run_config is None:
                raise ConfigError(f'{name}: not a model folder, and no export (hf/) or '
                                  'checkpoint with its config in it; give a work dir, a model '
                                  'or adapter folder, or a hub id')
            path = _convert(checkpoint, run_config)
    if path.is_dir() and (path / 'adapter_config.json').is_file():
        model, tokenizer = load_chat_model(_adapter_base(path, base), adapter=str(path),
                                           bits=bits)
    else:
        model, tokenizer = load_chat_model(str(path) if path.exists() else name, bits=bits)
    return LoadedModel(name, model, tokenizer, chat_format)


def _convert(checkpoint: Path, config: Path) -> Path:
    """The checkpoint as a Hugging Face folder in a temporary directory."""
    from ..convert.pth_to_hf import pth_to_hf
    out = Path(tempfile.mkdtemp(prefix='xtuner_like_eval_')) / 'hf'
    return Path(pth_to_hf(config, checkpoint, out))
