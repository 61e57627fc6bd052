"""The shapes of the shipped recipes' models, for a memory estimate without the hub.

``train --dry-run`` reads a model's ``config.json`` from a local folder or the Hugging Face
cache; when neither has it (an offline machine that never downloaded the model), these
entries stand in. They hold only what sets the parameter count and the activation size,
copied from each model's published ``config.json``. InternLM2.5's own config needs its hub
code (``trust_remote_code``), so it is described by the Llama config of the same shape
(InternLM2 fuses q/k/v into one matrix of the same size).

The hub ids have one home, the config files that name them: shapes are keyed here by the
model base (``configs/_base_/models/<base>.py``), and ``FAMILY_SHAPES`` maps each hub id a
shipped config names to the shape of its model base (a recipe that names another model on a
family base, e.g. Qwen3-8B-Base on ``qwen3_8b``, names one of the same shape).
"""
from __future__ import annotations

import re
from typing import Any

from ..config.recipes import configs_root

_LLAMA_7B = dict(model_type='llama', hidden_size=4096, intermediate_size=11008,
                 num_attention_heads=32, num_key_value_heads=32, tie_word_embeddings=False,
                 max_position_embeddings=4096)
_GQA_8B = dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
               num_attention_heads=32, num_key_value_heads=8, tie_word_embeddings=False)

# model base (configs/_base_/models/<key>.py) -> the shape of the model it names
BASE_SHAPES: dict[str, dict[str, Any]] = {
    'llama2_7b_chat': dict(_LLAMA_7B, num_hidden_layers=32, vocab_size=32000),
    'deepseek_llm_7b_chat': dict(_LLAMA_7B, num_hidden_layers=30, vocab_size=102400),
    'llama3_1_8b_instruct': dict(_GQA_8B, model_type='llama', vocab_size=128256,
                                 max_position_embeddings=131072, rope_theta=500000.0),
    'mistral_7b_instruct': dict(_GQA_8B, model_type='mistral', vocab_size=32768,
                                max_position_embeddings=32768),
    'internlm2_5_7b_chat': dict(_GQA_8B, model_type='llama', vocab_size=92544,
                                max_position_embeddings=32768),
    'qwen2_5_7b_instruct': dict(model_type='qwen2', hidden_size=3584, intermediate_size=18944,
                                num_hidden_layers=28, num_attention_heads=28,
                                num_key_value_heads=4, vocab_size=152064,
                                tie_word_embeddings=False, max_position_embeddings=32768),
    'qwen3_8b': dict(model_type='qwen3', hidden_size=4096, intermediate_size=12288,
                     num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8,
                     head_dim=128, vocab_size=151936, tie_word_embeddings=False,
                     max_position_embeddings=40960),
    'gemma2_2b_it': dict(model_type='gemma2', hidden_size=2304, intermediate_size=9216,
                         num_hidden_layers=26, num_attention_heads=8, num_key_value_heads=4,
                         head_dim=256, vocab_size=256000, tie_word_embeddings=True,
                         max_position_embeddings=8192),
    'phi3_mini_4k_instruct': dict(model_type='phi3', hidden_size=3072, intermediate_size=8192,
                                  num_hidden_layers=32, num_attention_heads=32,
                                  num_key_value_heads=32, vocab_size=32064,
                                  tie_word_embeddings=False, max_position_embeddings=4096),
    'smollm2_135m_instruct': dict(model_type='llama', hidden_size=576, intermediate_size=1536,
                                  num_hidden_layers=30, num_attention_heads=9,
                                  num_key_value_heads=3, vocab_size=49152,
                                  tie_word_embeddings=True, max_position_embeddings=8192),
}

_HUB_ID = re.compile(r"""^pretrained_model_name_or_path\s*=\s*['"]([^'"]+)['"]""", re.M)
_MODEL_BASE = re.compile(r'^\s*from \.+_base_\.models\.(\w+) import \*', re.M)


def hub_id_bases() -> dict[str, str]:
    """hub id -> model base, for every hub id a shipped config names (read, not executed)."""
    root = configs_root()
    found = {}
    for path in sorted(root.rglob('*.py')):
        text = path.read_text(encoding='utf-8')
        ids = _HUB_ID.findall(text)
        if path.parent == root / '_base_' / 'models':
            base = path.stem
        else:  # a recipe naming another model on top of a model base
            base = next((b for b in reversed(_MODEL_BASE.findall(text)) if b in BASE_SHAPES),
                        None)
        if ids and base in BASE_SHAPES:
            found[ids[-1]] = base
    return found


FAMILY_SHAPES: dict[str, dict[str, Any]] = {
    hub_id: BASE_SHAPES[base] for hub_id, base in hub_id_bases().items()}
