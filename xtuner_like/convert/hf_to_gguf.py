"""`convert hf_to_gguf`: a Hugging Face model folder (or a LoRA adapter) -> one GGUF file.

This module finds the source (a model folder, or an adapter merged into its base first) and
checks the paths; the GGUF format itself (tensor names, hyper-parameters, tokenizer,
quantization) is ``model/gguf/write.py``'s. ``convert quantize --method gguf:<type>`` runs
it (``convert/quantize.py``).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import CheckpointError, ConfigError
from ..model.gguf.vocab import load_tokenizer_for_export
from ..model.gguf.write import Weights, check_type, write_gguf
from ..utils.logging import log


def _source(model_dir: Path, base: str | None) -> tuple[Any, Any, Weights]:
    """(config, tokenizer, weights) of a model folder, or of an adapter merged into its base."""
    from transformers import AutoConfig
    if (model_dir / 'adapter_config.json').is_file():
        from .merge import adapter_base, load_merged
        base = adapter_base(model_dir, base)
        log(f'hf_to_gguf: merging adapter {model_dir} into {base}')
        merged, tokenizer, _ = load_merged(base, model_dir)
        return merged.config, tokenizer, Weights(state_dict=merged.state_dict())
    if not (model_dir / 'config.json').is_file():
        raise CheckpointError(f'{model_dir} has neither config.json (a model folder) nor '
                              'adapter_config.json (a LoRA adapter folder)')
    if base is not None:
        raise ConfigError(f'--base applies to adapter folders only; {model_dir} is a full model')
    return (AutoConfig.from_pretrained(model_dir), load_tokenizer_for_export(model_dir),
            Weights(model_dir))


def hf_to_gguf(model_dir: str | os.PathLike, out_file: str | os.PathLike,
               out_type: str = 'f16', base: str | None = None,
               overwrite: bool = False) -> Path:
    """Write ``model_dir`` as a GGUF file that llama.cpp and Ollama load.

    Args:
        model_dir: a HF model folder (config.json, safetensors, tokenizer) or a PEFT adapter
            folder (``<work-dir>/hf``), which is merged into its base model first.
        out_file: the ``.gguf`` file; it appears complete or not at all.
        out_type: one of ``TYPES``: 'f32', 'f16', 'bf16', 'q8_0', 'q4_0'.
        base: the base model of an adapter (default: adapter_config.json's).
        overwrite: replace an existing ``out_file``.

    Raises:
        ConfigError: unsupported architecture, tokenizer or type (naming what is supported).
        CheckpointError: a missing folder, weights or an existing output file.
    """
    check_type(out_type)
    model_dir = Path(model_dir).expanduser()
    out = Path(out_file).expanduser().resolve()
    if not model_dir.is_dir():
        raise CheckpointError(f'model folder {model_dir} does not exist')
    if out.exists() and not overwrite:
        raise CheckpointError(f'{out} already exists; delete it or pass --overwrite')
    config, tokenizer, weights = _source(model_dir, base)
    write_gguf(out, config, tokenizer, weights, out_type, name=model_dir.resolve().name,
               where=str(model_dir))
    log(f'hf_to_gguf: wrote {out} ({out.stat().st_size / 2**20:.1f} MiB, {out_type})')
    return out
