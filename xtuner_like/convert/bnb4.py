"""Save a model as bitsandbytes 4-bit NF4 safetensors that ``from_pretrained`` loads as is.

bitsandbytes quantizes while transformers loads a model, so the full-precision model is
written to a scratch folder, loaded back with a 4-bit ``BitsAndBytesConfig``, and saved:
the folder's config.json then carries the ``quantization_config``, and a plain
``AutoModelForCausalLM.from_pretrained(folder)`` gives the 4-bit model again.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ..errors import ConfigError


def save_4bit(model: Any, tokenizer: Any, out: Path, max_shard_size: str = '2GB') -> None:
    """Write ``model`` (full precision, on the CPU or one GPU) into ``out`` as NF4."""
    import importlib.util
    if importlib.util.find_spec('bitsandbytes') is None:
        raise ConfigError("--bits 4 needs bitsandbytes: pip install 'bitsandbytes>=0.45'")
    from transformers import AutoModelForCausalLM

    from ..model.load import quantization_spec
    from ..utils.build import build
    with tempfile.TemporaryDirectory(dir=out.parent, prefix='.bnb4-') as scratch:
        model.save_pretrained(scratch)
        quantized = AutoModelForCausalLM.from_pretrained(
            scratch, quantization_config=build(quantization_spec(4)))
        quantized.generation_config = model.generation_config
        quantized.save_pretrained(out, max_shard_size=max_shard_size)
    tokenizer.save_pretrained(out)
