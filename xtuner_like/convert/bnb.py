"""Save a model as bitsandbytes NF4 (4-bit) or LLM.int8 (8-bit) safetensors that
``from_pretrained`` loads as is.

bitsandbytes quantizes while transformers loads a model, so a model in memory (a merged
adapter) is written to a scratch folder, loaded back with a ``BitsAndBytesConfig``, and saved;
a model folder is loaded with it directly. The folder's config.json then carries the
``quantization_config``, and a plain ``AutoModelForCausalLM.from_pretrained(folder)`` gives
the quantized model again. Both run on the CPU.

``convert quantize --method nf4`` / ``int8`` run :func:`quantize_bnb` (a full model folder, or
an adapter merged into its base first); ``convert merge --bits 4`` is the nf4 method.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from ..errors import CheckpointError, ConfigError


def _quantization_config(bits: int) -> Any:
    import importlib.util
    if importlib.util.find_spec('bitsandbytes') is None:
        raise ConfigError(f"--bits {bits} needs bitsandbytes: pip install 'bitsandbytes>=0.45'")
    from ..model.load import quantization_spec
    from ..utils.build import build
    return build(quantization_spec(bits))


def save_quantized(model: Any, tokenizer: Any, out: Path, bits: int = 4,
                   max_shard_size: str = '2GB') -> None:
    """Write ``model`` (full precision, on the CPU or one GPU) into ``out`` as NF4 (``bits``
    4) or LLM.int8 (``bits`` 8)."""
    from transformers import AutoModelForCausalLM
    config = _quantization_config(bits)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f'.bnb{bits}-') as scratch:
        model.save_pretrained(scratch)
        quantized = AutoModelForCausalLM.from_pretrained(scratch, quantization_config=config)
        quantized.generation_config = model.generation_config
        quantized.save_pretrained(out, max_shard_size=max_shard_size)
    tokenizer.save_pretrained(out)


def save_4bit(model: Any, tokenizer: Any, out: Path, max_shard_size: str = '2GB') -> None:
    """Write ``model`` into ``out`` as NF4 (what ``convert merge --bits 4`` writes)."""
    save_quantized(model, tokenizer, out, 4, max_shard_size)


def quantize_bnb(model_dir: str | os.PathLike, out_dir: str | os.PathLike, bits: int,
                 base: str | None = None, dtype: str | None = None,
                 max_shard_size: str = '2GB', device: str = 'cpu') -> Path:
    """Save a full model folder, or an adapter merged into ``base``, quantized in ``out_dir``.

    Args:
        model_dir: a HF model folder, or a PEFT adapter folder (merged first).
        out_dir: the folder to create; it appears complete or not at all.
        bits: 4 (NF4, double quantization) or 8 (LLM.int8).
        base: the base model of an adapter (default: its adapter_config.json's).
        dtype: 'fp32', 'bf16' or 'fp16' for the weights that stay unquantized (norms, the
            embeddings); default: the model's own.
        max_shard_size: largest weight file.
        device: where an adapter merge runs ('cpu', 'cuda', 'auto').
    """
    from ..utils.io import atomic_dir
    from .merge import adapter_base, merge_adapter
    model_dir = Path(model_dir).expanduser()
    if (model_dir / 'adapter_config.json').is_file():
        return merge_adapter(adapter_base(model_dir, base), model_dir, out_dir, dtype=dtype,
                             max_shard_size=max_shard_size, device=device, bits=bits)
    if not (model_dir / 'config.json').is_file():
        raise CheckpointError(f'{model_dir} has neither config.json (a model folder) nor '
                              'adapter_config.json (a LoRA adapter folder)')
    if base is not None:
        raise ConfigError(f'--base applies to adapter folders only; {model_dir} is a full model')
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ..utils.dtype import resolve_dtype
    config = _quantization_config(bits)
    with atomic_dir(out_dir) as tmp:
        quantized = AutoModelForCausalLM.from_pretrained(
            model_dir, quantization_config=config,
            dtype=resolve_dtype(dtype) if dtype else 'auto')
        quantized.save_pretrained(tmp, max_shard_size=max_shard_size)
        AutoTokenizer.from_pretrained(model_dir).save_pretrained(tmp)
    return Path(out_dir).expanduser().resolve()
