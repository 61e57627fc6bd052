"""The shapes of the shipped recipes' models, for a memory estimate without the hub.

``train --dry-run`` reads a model's ``config.json`` from a local folder or the Hugging Face
cache; when neither has it (an offline machine that never downloaded the model), these
entries stand in. They hold only what sets the parameter count and the activation size,
copied from each model's published ``config.json``. InternLM2.5's own config needs its hub
code (``trust_remote_code``), so it is described by the Llama config of the same shape
(InternLM2 fuses q/k/v into one matrix of the same size).
"""
from __future__ import annotations

from typing import Any

_LLAMA_7B = dict(model_type='llama', hidden_size=4096, intermediate_size=11008,
                 num_attention_heads=32, num_key_value_heads=32, tie_word_embeddings=False,
                 max_position_embeddings=4096)
_GQA_8B = dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
               num_attention_heads=32, num_key_value_heads=8, tie_word_embeddings=False)

FAMILY_SHAPES: dict[str, dict[str, Any]] = {
    'meta-llama/Llama-2-7b-chat-hf': dict(_LLAMA_7B, num_hidden_layers=32, vocab_size=32000),
    'deepseek-ai/deepseek-llm-7b-chat': dict(_LLAMA_7B, num_hidden_layers=30,
                                             vocab_size=102400),
    'meta-llama/Llama-3.1-8B-Instruct': dict(_GQA_8B, model_type='llama', vocab_size=128256,
                                             max_position_embeddings=131072,
                                             rope_theta=500000.0),
    'mistralai/Mistral-7B-Instruct-v0.3': dict(_GQA_8B, model_type='mistral', vocab_size=32768,
                                               max_position_embeddings=32768),
    'internlm/internlm2_5-7b-chat': dict(_GQA_8B, model_type='llama', vocab_size=92544,
                                         max_position_embeddings=32768),
    'Qwen/Qwen2.5-7B-Instruct': dict(model_type='qwen2', hidden_size=3584,
                                     intermediate_size=18944, num_hidden_layers=28,
                                     num_attention_heads=28, num_key_value_heads=4,
                                     vocab_size=152064, tie_word_embeddings=False,
                                     max_position_embeddings=32768),
    'Qwen/Qwen3-8B': dict(model_type='qwen3', hidden_size=4096, intermediate_size=12288,
                          num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8,
                          head_dim=128, vocab_size=151936, tie_word_embeddings=False,
                          max_position_embeddings=40960),
    'google/gemma-2-2b-it': dict(model_type='gemma2', hidden_size=2304, intermediate_size=9216,
                                 num_hidden_layers=26, num_attention_heads=8,
                                 num_key_value_heads=4, head_dim=256, vocab_size=256000,
                                 tie_word_embeddings=True, max_position_embeddings=8192),
    'microsoft/Phi-3-mini-4k-instruct': dict(model_type='phi3', hidden_size=3072,
                                             intermediate_size=8192, num_hidden_layers=32,
                                             num_attention_heads=32, num_key_value_heads=32,
                                             vocab_size=32064, tie_word_embeddings=False,
                                             max_position_embeddings=4096),
    'HuggingFaceTB/SmolLM2-135M-Instruct': dict(model_type='llama', hidden_size=576,
                                                intermediate_size=1536, num_hidden_layers=30,
                                                num_attention_heads=9, num_key_value_heads=3,
                                                vocab_size=49152, tie_word_embeddings=True,
                                                max_position_embeddings=8192),
}
# Base models of the same shape as their instruct versions.
FAMILY_SHAPES['google/gemma-2-2b'] = FAMILY_SHAPES['google/gemma-2-2b-it']
FAMILY_SHAPES['Qwen/Qwen3-8B-Base'] = FAMILY_SHAPES['Qwen/Qwen3-8B']
