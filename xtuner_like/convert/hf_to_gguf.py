"""`convert hf_to_gguf`: a Hugging Face model folder (or a LoRA adapter) -> one GGUF file.

The file is what llama.cpp, Ollama and LM Studio load: weights under llama.cpp's tensor
names (q/k rows reordered for its rotary layout where needed), the hyper-parameters, the
tokenizer and the training chat template. Quantization uses the ``gguf`` package's own
functions. The ``gguf`` package (0.19) quantizes F16, BF16, Q8_0 and Q4_0/Q4_1/Q5_0/Q5_1
but not the k-quants (Q4_K ... raise NotImplementedError there), so k-quants are left to
llama.cpp's ``llama-quantize`` on the f16 file.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import CheckpointError, ConfigError
from ..utils.io import _scratch_name, atomic_replace
from ..utils.logging import log
from .gguf_arch import SKIPPED_SUFFIXES, add_hparams, find_arch, permute_rotary, rope_freqs
from .gguf_vocab import build_vocab, load_tokenizer_for_export

# --type -> (quantization of 2-D weights, of token_embd/output, llama file type name)
TYPES = {
    'f32': ('F32', 'F32', 'ALL_F32'),
    'f16': ('F16', 'F16', 'MOSTLY_F16'),
    'bf16': ('BF16', 'BF16', 'MOSTLY_BF16'),
    'q8_0': ('Q8_0', 'Q8_0', 'MOSTLY_Q8_0'),
    # Embeddings and the output head suffer most from 4 bits (llama-quantize keeps them
    # at 6+ bits too); they stay at Q8_0.
    'q4_0': ('Q4_0', 'Q8_0', 'MOSTLY_Q4_0'),
}
_EDGE_TENSORS = ('token_embd.weight', 'output.weight')


@dataclass
class _Tensor:
    name: str  # GGUF name
    shape: tuple[int, ...]
    qtype: Any  # gguf.GGMLQuantizationType
    load: Callable[[], np.ndarray]  # float32 data, already in llama.cpp's layout


def check_type(out_type: str) -> None:
    if out_type not in TYPES:
        raise ConfigError(f'--type {out_type!r} is not supported; use one of '
                          f'{", ".join(TYPES)} (k-quants: run llama.cpp\'s llama-quantize on '
                          'the f16 file; the gguf package cannot write them)')


def _qtype(name: str, shape: tuple[int, ...], out_type: str) -> Any:
    """Per-tensor type: vectors in F32; matrices as asked, F16 when rows do not fit blocks."""
    import gguf
    if len(shape) < 2:
        return gguf.GGMLQuantizationType.F32
    body, edge, _ = TYPES[out_type]
    qtype = gguf.GGMLQuantizationType[edge if name in _EDGE_TENSORS else body]
    block, _ = gguf.GGML_QUANT_SIZES[qtype]
    return qtype if shape[-1] % block == 0 else gguf.GGMLQuantizationType.F16


class _Weights:
    """HF-named weights read lazily: safetensors files, or an in-memory state dict."""

    def __init__(self, model_dir: Path | None = None, state_dict: dict | None = None):
        self.state_dict = state_dict
        self.files: dict[str, Path] = {}
        if model_dir is not None:
            for path in sorted(model_dir.glob('*.safetensors')):
                from safetensors import safe_open
                with safe_open(path, framework='pt') as f:
                    self.files.update({k: path for k in f.keys()})
            if not self.files:
                raise CheckpointError(f'{model_dir} holds no *.safetensors weights; save the '
                                      'model with save_pretrained (safetensors) first')

    def names(self) -> list[str]:
        return list(self.state_dict if self.state_dict is not None else self.files)

    def shape(self, name: str) -> tuple[int, ...]:
        if self.state_dict is not None:
            return tuple(self.state_dict[name].shape)
        from safetensors import safe_open
        with safe_open(self.files[name], framework='pt') as f:
            return tuple(f.get_slice(name).get_shape())

    def load(self, name: str) -> np.ndarray:
        if self.state_dict is not None:
            tensor = self.state_dict[name]
        else:
            from safetensors import safe_open
            with safe_open(self.files[name], framework='pt') as f:
                tensor = f.get_tensor(name)
        return tensor.detach().float().cpu().numpy()


def _plan(weights: _Weights, config: Any, arch: Any, out_type: str, where: str,
          freqs: np.ndarray | None) -> list[_Tensor]:
    """Every tensor of the file, in order, with its GGUF name, type and loader."""
    import gguf
    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH[arch.gguf_name.upper()],
                                        config.num_hidden_layers)
    tied = getattr(config, 'tie_word_embeddings', False)
    heads = {'attn_q': config.num_attention_heads,
             'attn_k': getattr(config, 'num_key_value_heads', None) or config.num_attention_heads}
    plan = []
    if freqs is not None:
        plan.append(_Tensor('rope_freqs.weight', freqs.shape,
                            gguf.GGMLQuantizationType.F32, lambda: freqs))
    for hf_name in weights.names():
        if hf_name.endswith(SKIPPED_SUFFIXES) or (tied and hf_name == 'lm_head.weight'):
            continue
        name = name_map.get_name(hf_name, try_suffixes=('.weight', '.bias'))
        if name is None:
            raise ConfigError(f'{where}: tensor {hf_name!r} has no llama.cpp name for '
                              f'architecture {arch.gguf_name!r}; is this a modified model?')
        shape = weights.shape(hf_name)
        n_heads = heads.get(name.split('.')[-2]) if arch.permute_qk else None

        def load(hf_name=hf_name, n_heads=n_heads):
            data = weights.load(hf_name)
            return permute_rotary(data, n_heads) if n_heads else data
        plan.append(_Tensor(name, shape, _qtype(name, shape, out_type), load))
    return plan


def _encode(tensor: _Tensor) -> np.ndarray:
    import gguf
    data = tensor.load()
    if tensor.qtype == gguf.GGMLQuantizationType.F32:
        return np.ascontiguousarray(data, dtype=np.float32)
    if tensor.qtype == gguf.GGMLQuantizationType.F16:
        return np.ascontiguousarray(data, dtype=np.float16)
    return gguf.quantize(np.ascontiguousarray(data), tensor.qtype)


def _nbytes(tensor: _Tensor) -> int:
    import gguf
    return int(np.prod(gguf.quant_shape_to_byte_shape(tensor.shape, tensor.qtype)))


def _write(path: Path, arch: Any, config: Any, vocab: Any, plan: list[_Tensor],
           out_type: str, name: str) -> None:
    """Header, metadata and tensor infos first, then each tensor as it is converted."""
    import gguf
    writer = gguf.GGUFWriter(path=None, arch=arch.gguf_name)
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(name)
    add_hparams(writer, config, str(path))
    writer.add_file_type(gguf.LlamaFileType[TYPES[out_type][2]])
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    vocab.add_to(writer)
    for tensor in plan:
        writer.add_tensor_info(tensor.name, tensor.shape, np.dtype(np.float32),
                               _nbytes(tensor), raw_dtype=tensor.qtype)
    writer.write_header_to_file(path=path)
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    total = sum(_nbytes(t) for t in plan)
    done, next_report = 0, 0.1
    for i, tensor in enumerate(plan, 1):
        writer.write_tensor_data(_encode(tensor))
        done += _nbytes(tensor)
        if done / total >= next_report or i == len(plan):
            log(f'hf_to_gguf: {100 * done / total:3.0f}% ({i}/{len(plan)} tensors, '
                f'{done / 2**20:.1f}/{total / 2**20:.1f} MiB)')
            next_report = done / total + 0.1
    writer.close()


def _source(model_dir: Path, base: str | None) -> tuple[Any, Any, _Weights]:
    """(config, tokenizer, weights) of a model folder, or of an adapter merged into its base."""
    from transformers import AutoConfig
    if (model_dir / 'adapter_config.json').is_file():
        from .merge import load_merged
        base = base or json.loads((model_dir / 'adapter_config.json').read_text(
            encoding='utf-8')).get('base_model_name_or_path')
        if not base:
            raise ConfigError(f'{model_dir}/adapter_config.json names no base model; '
                              'pass --base BASE_MODEL')
        log(f'hf_to_gguf: merging adapter {model_dir} into {base}')
        merged, tokenizer, _ = load_merged(base, model_dir)
        return merged.config, tokenizer, _Weights(state_dict=merged.state_dict())
    if not (model_dir / 'config.json').is_file():
        raise CheckpointError(f'{model_dir} has neither config.json (a model folder) nor '
                              'adapter_config.json (a LoRA adapter folder)')
    if base is not None:
        raise ConfigError(f'--base applies to adapter folders only; {model_dir} is a full model')
    return (AutoConfig.from_pretrained(model_dir), load_tokenizer_for_export(model_dir),
            _Weights(model_dir))


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
    arch = find_arch(config, str(model_dir))
    vocab = build_vocab(tokenizer, config.vocab_size, str(model_dir))
    plan = _plan(weights, config, arch, out_type, str(model_dir), rope_freqs(config))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _scratch_name(out)
    try:
        _write(tmp, arch, config, vocab, plan, out_type, model_dir.resolve().name)
        atomic_replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    log(f'hf_to_gguf: wrote {out} ({out.stat().st_size / 2**20:.1f} MiB, {out_type})')
    return out
