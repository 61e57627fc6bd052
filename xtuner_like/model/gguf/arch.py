"""What llama.cpp expects of each supported architecture: names, hyper-parameters, layouts.

Tensor names come from the ``gguf`` package's own name map; this module adds only what
differs between the families: the GGUF architecture name, whether q/k rows must be
reordered for llama.cpp's rotary embedding, and the hyper-parameter keys.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ConfigError


@dataclass(frozen=True)
class Arch:
    """One family as llama.cpp knows it."""

    gguf_name: str  # general.architecture, also the prefix of the hyper-parameter keys
    permute_qk: bool  # llama.cpp's 'llama' rope rotates adjacent pairs (see permute_rotary)


ARCHS = {
    'LlamaForCausalLM': Arch('llama', permute_qk=True),
    # llama.cpp runs Mistral (v0.1-v0.3, dense) as a Llama.
    'MistralForCausalLM': Arch('llama', permute_qk=True),
    'Qwen2ForCausalLM': Arch('qwen2', permute_qk=False),
    'Qwen3ForCausalLM': Arch('qwen3', permute_qk=False),
}
# Buffers some checkpoints carry that llama.cpp recomputes.
SKIPPED_SUFFIXES = ('rotary_emb.inv_freq',)


def find_arch(config: Any, where: str) -> Arch:
    """The Arch of a transformers config; ConfigError naming the supported ones."""
    names = list(getattr(config, 'architectures', None) or [])
    for name in names:
        if name in ARCHS:
            return ARCHS[name]
    raise ConfigError(f'{where}: architecture {names or config.model_type!r} cannot be exported '
                      f'to GGUF; supported: {", ".join(ARCHS)}')


def permute_rotary(weight: np.ndarray, n_heads: int) -> np.ndarray:
    """Reorder q/k projection rows from HF's rotate-half layout to llama.cpp's pair layout.

    HF rotates dimension i of a head together with i + d/2; llama.cpp's 'llama' rope rotates
    2i with 2i+1. Interleaving the two halves of each head makes both compute the same
    attention scores (Qwen models use the NEOX rope in llama.cpp and need no reordering).
    """
    head_dim = weight.shape[0] // n_heads
    rest = weight.shape[1:]
    return (weight.reshape(n_heads, 2, head_dim // 2, *rest).swapaxes(1, 2)
            .reshape(weight.shape))


def head_dim(config: Any) -> int:
    return getattr(config, 'head_dim', None) or config.hidden_size // config.num_attention_heads


def rope_parameters(config: Any) -> dict:
    """transformers 5 keeps rope_theta and the scaling in ``rope_parameters``; 4.x did not."""
    params = dict(getattr(config, 'rope_parameters', None) or {})
    scaling = getattr(config, 'rope_scaling', None)
    if not params and isinstance(scaling, dict):
        params.update(scaling)
    params.setdefault('rope_theta', getattr(config, 'rope_theta', None) or 10000.0)
    params.setdefault('rope_type', params.get('type', 'default'))
    return params


ROPE_TYPES = ('default', 'linear', 'yarn', 'llama3')


def add_hparams(writer: Any, config: Any, where: str) -> None:
    """Write the ``<arch>.*`` keys of ``config`` (the writer knows the arch)."""
    rope = rope_parameters(config)
    if rope['rope_type'] not in ROPE_TYPES:
        raise ConfigError(f'{where}: rope type {rope["rope_type"]!r} is not supported for GGUF '
                          f'export; supported: {", ".join(ROPE_TYPES)}')
    dim = head_dim(config)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(getattr(config, 'num_key_value_heads', None)
                             or config.num_attention_heads)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_rope_freq_base(float(rope['rope_theta']))
    writer.add_rope_dimension_count(dim)
    writer.add_vocab_size(config.vocab_size)
    if dim != config.hidden_size // config.num_attention_heads:
        writer.add_key_length(dim)
        writer.add_value_length(dim)
    if rope['rope_type'] in ('linear', 'yarn'):
        import gguf
        kind = gguf.RopeScalingType.LINEAR if rope['rope_type'] == 'linear' \
            else gguf.RopeScalingType.YARN
        writer.add_rope_scaling_type(kind)
        writer.add_rope_scaling_factor(float(rope['factor']))
        if 'original_max_position_embeddings' in rope:
            writer.add_rope_scaling_orig_ctx_len(int(rope['original_max_position_embeddings']))


def rope_freqs(config: Any) -> np.ndarray | None:
    """llama.cpp's rope_freqs tensor for Llama 3.1-style rope scaling, else None."""
    return llama3_rope_factors(config) if rope_parameters(config)['rope_type'] == 'llama3' \
        else None


def llama3_rope_factors(config: Any) -> np.ndarray:
    """Per-frequency divisors of Llama 3.1's rope scaling (llama.cpp's rope_freqs tensor).

    Computed with transformers' own llama3 rope function: factor = plain / scaled inverse
    frequency, so llama.cpp divides each frequency exactly as transformers scales it.
    """
    import torch
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    dim = head_dim(config)
    base = float(rope_parameters(config)['rope_theta'])
    plain = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    scaled, _ = ROPE_INIT_FUNCTIONS['llama3'](config, 'cpu')
    return (plain / scaled.to(torch.float64)).numpy().astype(np.float32)
