"""Load a pretrained causal LM and its tokenizer from a path, hub id or the embedded model."""
from __future__ import annotations

import difflib
import inspect
import os
import re
from pathlib import Path
from typing import Any

import torch
from transformers import (AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification,
                          AutoTokenizer, PreTrainedTokenizerBase)

from ..errors import CheckpointError, ConfigError, UnknownNameError
from ..utils.build import build
from ..utils.dtype import auto_dtype, resolve_dtype
from ..utils.logging import log_once
from .attention import choose_attn_implementation
from .resolve import resolve_model_path

# What sits on top of the decoder: the LM head, or a scalar score (reward models).
HEADS = {'causal_lm': AutoModelForCausalLM, 'reward': AutoModelForSequenceClassification}


def load_tokenizer(pretrained_model_name_or_path: str, **kwargs: Any) -> PreTrainedTokenizerBase:
    """AutoTokenizer with a pad token (eos when the model has none)."""
    path = resolve_model_path(pretrained_model_name_or_path)
    kwargs.setdefault('trust_remote_code', False)
    tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(pretrained_model_name_or_path: str, dtype: str = 'auto',
                   attn_implementation: str = 'auto', quantization: dict | None = None,
                   head: str = 'causal_lm', **kwargs: Any) -> torch.nn.Module:
    """AutoModelForCausalLM with dtype from a string and attention chosen automatically.

    Args:
        pretrained_model_name_or_path: local dir, hub id, or the embedded model's hub id.
        dtype: 'fp32', 'bf16', 'fp16' or 'auto' ('bf16' on CUDA with bf16 support, else fp32).
        attn_implementation: 'auto' or a transformers implementation name.
        quantization: a ``BitsAndBytesConfig`` spec for QLoRA (4-bit nf4), or None.
        head: 'causal_lm', or 'reward' for a sequence-classification model with one score
            (a causal LM's checkpoint gets a new, randomly initialised score head).
    """
    if head not in HEADS:
        raise UnknownNameError('model head', head, HEADS)
    path = resolve_model_path(pretrained_model_name_or_path)
    torch_dtype = resolve_dtype(dtype, auto=True)
    qconfig = build(quantization)
    if qconfig is not None:
        kwargs['quantization_config'] = qconfig
        if torch.cuda.is_available():
            kwargs.setdefault('device_map', {'': torch.cuda.current_device()})
    config = AutoConfig.from_pretrained(
        path, trust_remote_code=kwargs.get('trust_remote_code', False))
    if head == 'reward':
        config.num_labels = 1
    attn = choose_attn_implementation(attn_implementation, torch_dtype, config)
    for key in [k for k in kwargs if k not in load_causal_lm.forwarded_kwargs]:
        if hasattr(config, key):   # what from_pretrained does when it loads the config itself
            setattr(config, key, kwargs.pop(key))
    try:
        model = HEADS[head].from_pretrained(
            path, config=config, dtype=torch_dtype, attn_implementation=attn, **kwargs)
    except TypeError as exc:
        raise unknown_argument(exc, kwargs, config) or exc
    log_once(f'model: {pretrained_model_name_or_path} from {path} '
             f'({sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters, '
             f'{str(torch_dtype).replace("torch.", "")}'
             f'{", 4-bit" if getattr(qconfig, "load_in_4bit", False) else ""})')
    return model


def unknown_argument(exc: TypeError, kwargs: dict, config: Any) -> ConfigError | None:
    """One line for an argument of the ``model.llm`` spec that nothing takes (transformers
    passes it on to the model class, which fails with a TypeError), or None."""
    found = re.search(r"unexpected keyword argument '([^']+)'", str(exc))
    if not found or found.group(1) not in kwargs:
        return None
    name = found.group(1)
    params = [p for p in inspect.signature(load_causal_lm).parameters if p != 'kwargs']
    known = [*params, *load_causal_lm.forwarded_kwargs]
    close = difflib.get_close_matches(name, [*known, *config.to_dict()], n=1, cutoff=0.5)
    hint = f'did you mean {close[0]!r}?' if close else f'known: {", ".join(known)}'
    return ConfigError(f'model.llm: unknown argument {name!r}: neither load_causal_lm nor '
                       f"transformers' from_pretrained takes it, and {type(config).__name__} "
                       f'has no such field; {hint}')


# What the config checker knows these loaders pass on to transformers (a near miss of one
# of these, or of a declared argument, is reported as a typo before anything loads).
_HUB_KWARGS = ('trust_remote_code', 'revision', 'cache_dir', 'local_files_only', 'token',
               'subfolder', 'force_download', 'gguf_file')
load_causal_lm.forwarded_kwargs = (*_HUB_KWARGS, 'device_map', 'low_cpu_mem_usage',
                                   'use_safetensors', 'max_memory', 'offload_folder', 'variant',
                                   'quantization_config', 'config')
load_tokenizer.forwarded_kwargs = (*_HUB_KWARGS, 'use_fast', 'padding_side',
                                   'model_max_length', 'chat_template')


def check_adapter_dir(adapter: str | os.PathLike) -> Path:
    """The adapter folder, or a CheckpointError that says what is missing."""
    path = Path(adapter).expanduser()
    if not path.is_dir():
        raise CheckpointError(f'adapter directory {path} does not exist; pass the folder '
                              'written by `convert pth_to_hf` (or <work_dir>/hf)')
    if not (path / 'adapter_config.json').is_file():
        found = sorted(p.name for p in path.iterdir())[:8]
        hint = ('; it holds a full model: use it directly, no merge needed'
                if (path / 'config.json').is_file() else '')
        raise CheckpointError(f'{path} has no adapter_config.json (found {found}); it is not '
                              f'a PEFT adapter folder{hint}')
    return path


def has_tokenizer(path: Path) -> bool:
    """True when ``path`` holds a saved tokenizer."""
    return (path / 'tokenizer_config.json').is_file()


BITS = (4, 8)


def quantization_spec(bits: int | None) -> dict | None:
    """A BitsAndBytesConfig spec for ``--bits`` (4-bit NF4 also runs on the CPU)."""
    if bits is None:
        return None
    if bits not in BITS:
        raise ConfigError(f'--bits {bits}: use 4 or 8')
    from transformers import BitsAndBytesConfig
    if bits == 8:
        return dict(type=BitsAndBytesConfig, load_in_8bit=True)
    compute = str(auto_dtype()).replace('torch.', '')
    return dict(type=BitsAndBytesConfig, load_in_4bit=True, bnb_4bit_quant_type='nf4',
                bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=compute)
