"""Write a GGUF file: weights under llama.cpp's names, hyper-parameters, tokenizer, template.

The file is what llama.cpp, Ollama and LM Studio load: weights under llama.cpp's tensor
names (q/k rows reordered for its rotary layout where needed, ``arch.py``), the
hyper-parameters, the tokenizer (``vocab.py``) and the training chat template. Quantization
uses the ``gguf`` package's own functions. The ``gguf`` package (0.19) quantizes F16, BF16,
Q8_0 and Q4_0/Q4_1/Q5_0/Q5_1 but not the k-quants (Q4_K ... raise NotImplementedError
there), so k-quants are left to llama.cpp's ``llama-quantize`` on the f16 file.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from safetensors import safe_open

from ...errors import CheckpointError, ConfigError
from ...utils.io import atomic_file
from ...utils.logging import log
from .arch import SKIPPED_SUFFIXES, add_hparams, find_arch, permute_rotary, rope_freqs
from .vocab import build_vocab

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

    @property
    def nbytes(self) -> int:
        import gguf
        return int(np.prod(gguf.quant_shape_to_byte_shape(self.shape, self.qtype)))


def check_type(out_type: str) -> None:
    """ConfigError unless the gguf package can write ``out_type`` itself."""
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


class Weights:
    """HF-named weights read lazily: safetensors files, or an in-memory state dict.

    Names and shapes are read once from the files' headers; each tensor's data is read
    when the writer reaches it, so a large model is never held in memory whole.
    """

    def __init__(self, model_dir: Path | None = None, state_dict: dict | None = None):
        self.state_dict = state_dict
        self.files: dict[str, Path] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}
        if state_dict is not None:
            self.shapes = {k: tuple(v.shape) for k, v in state_dict.items()}
            return
        for path in sorted(model_dir.glob('*.safetensors')):
            with safe_open(path, framework='pt') as f:
                for key in f.keys():
                    self.files[key] = path
                    self.shapes[key] = tuple(f.get_slice(key).get_shape())
        if not self.files:
            raise CheckpointError(f'{model_dir} holds no *.safetensors weights; save the '
                                  'model with save_pretrained (safetensors) first')

    def names(self) -> list[str]:
        return list(self.shapes)

    def load(self, name: str) -> np.ndarray:
        if self.state_dict is not None:
            tensor = self.state_dict[name]
        else:
            with safe_open(self.files[name], framework='pt') as f:
                tensor = f.get_tensor(name)
        return tensor.detach().float().cpu().numpy()


def _plan(weights: Weights, config: Any, arch: Any, out_type: str, where: str,
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
        shape = weights.shapes[hf_name]
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
    sizes = [tensor.nbytes for tensor in plan]
    for tensor, size in zip(plan, sizes):
        writer.add_tensor_info(tensor.name, tensor.shape, np.dtype(np.float32), size,
                               raw_dtype=tensor.qtype)
    writer.write_header_to_file(path=path)
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    total = sum(sizes)
    done, next_report = 0, 0.1
    for i, (tensor, size) in enumerate(zip(plan, sizes), 1):
        writer.write_tensor_data(_encode(tensor))
        done += size
        if done / total >= next_report or i == len(plan):
            log(f'hf_to_gguf: {100 * done / total:3.0f}% ({i}/{len(plan)} tensors, '
                f'{done / 2**20:.1f}/{total / 2**20:.1f} MiB)')
            next_report = done / total + 0.1
    writer.close()


def write_gguf(out: str | Path, config: Any, tokenizer: Any, weights: Weights,
               out_type: str = 'f16', name: str = 'model', where: str = '') -> Path:
    """Write one GGUF file of a model; it appears complete or not at all.

    Args:
        out: the ``.gguf`` file (replaced if it exists: callers decide about overwriting).
        config: the model's transformers config (its architecture must be in ``ARCHS``).
        tokenizer: its fast tokenizer (the chat template travels with it).
        weights: the HF-named weights (:class:`Weights` over a folder or a state dict).
        out_type: one of ``TYPES``.
        name: ``general.name`` of the file.
        where: the source named in errors (default: ``name``).
    """
    check_type(out_type)
    out, where = Path(out), where or name
    arch = find_arch(config, where)
    vocab = build_vocab(tokenizer, config.vocab_size, where)
    plan = _plan(weights, config, arch, out_type, where, rope_freqs(config))
    with atomic_file(out) as tmp:
        _write(tmp, arch, config, vocab, plan, out_type, name)
    return out
