"""`convert quantize --method M`: one front for every way to quantize a trained model.

Each method is one entry of ``QUANTIZE_METHODS``: what it makes, the function that makes it
(imported only when it runs, so ``--help`` stays quick), the options it takes and what it
needs (an optional package, a CUDA GPU, a program). The front checks the method's name, its
options and its needs before anything is loaded, and says in one line what is missing.
Adding a method is one entry here (and its function, when it is a new kind of output).

The older verbs are this front under other names: ``convert merge --bits 4`` is
``--method nf4``, ``convert hf_to_gguf --type T`` is ``--method gguf:T``.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..errors import ConfigError
from ..registry import Registry


@dataclass(frozen=True)
class Package:
    """An optional Python package, and how to install it."""

    name: str
    install: str

    def missing(self) -> str | None:
        if importlib.util.find_spec(self.name) is None:
            return f'the optional package {self.name} ({self.install})'
        return None


@dataclass(frozen=True)
class CudaGPU:
    """A visible CUDA device."""

    def missing(self) -> str | None:
        import torch
        if not torch.cuda.is_available():
            return ('a CUDA GPU (none is visible; on the CPU use --method nf4, gguf:q8_0 or '
                    'gguf:q4_0)')
        return None


@dataclass(frozen=True)
class Program:
    """An executable on PATH."""

    name: str
    hint: str

    def missing(self) -> str | None:
        return None if shutil.which(self.name) else f'{self.name} on PATH ({self.hint})'


@dataclass(frozen=True)
class QuantizeMethod:
    """One way to quantize: ``runner(model_dir, out, **fixed, **options) -> Path``."""

    summary: str
    runner: str  # 'module:function' under xtuner_like.convert, imported when it runs
    needs: tuple[Any, ...] = ()  # Package / CudaGPU / Program: each says what is missing
    options: tuple[str, ...] = ()  # the keyword options it takes
    required: tuple[str, ...] = ()  # those of them it cannot run without
    fixed: Mapping[str, Any] = field(default_factory=dict)  # arguments the name implies

    def missing(self) -> list[str]:
        return [m for m in (need.missing() for need in self.needs) if m]

    def function(self):
        module, _, name = self.runner.partition(':')
        return getattr(importlib.import_module(f'{__package__}.{module}'), name)


QUANTIZE_METHODS: Registry[QuantizeMethod] = Registry('quantize method')

_BNB = Package('bitsandbytes', "pip install 'bitsandbytes>=0.45'")
_GGUF = Package('gguf', 'pip install gguf')
_MERGE_OPTIONS = ('base', 'dtype', 'max_shard_size', 'device')
_GGUF_OPTIONS = ('base', 'overwrite', 'modelfile')

QUANTIZE_METHODS.register('nf4', QuantizeMethod(
    'bitsandbytes 4-bit NF4 folder (from_pretrained loads it as is)',
    'bnb:quantize_bnb', (_BNB,), _MERGE_OPTIONS, fixed={'bits': 4}))
QUANTIZE_METHODS.register('int8', QuantizeMethod(
    'bitsandbytes 8-bit LLM.int8 folder (from_pretrained loads it as is)',
    'bnb:quantize_bnb', (_BNB,), _MERGE_OPTIONS, fixed={'bits': 8}))
QUANTIZE_METHODS.register('gptq', QuantizeMethod(
    "GPTQ folder for GPU serving, calibrated on --config's rows",
    'gptq:quantize_gptq',
    (Package('gptqmodel', 'pip install -r requirements/gptq.txt'), CudaGPU()),
    ('config', 'bits', 'group_size', 'desc_act', 'n_samples', 'batch_size', 'cfg_options'),
    required=('config',)))
# What the gguf package writes itself (model/gguf/write.py TYPES).
for _type, _summary in (('f32', 'float32'), ('f16', 'float16'), ('bf16', 'bfloat16'),
                        ('q8_0', '8-bit blocks'),
                        ('q4_0', '4-bit blocks (embeddings, output head: q8_0)')):
    QUANTIZE_METHODS.register(f'gguf:{_type}', QuantizeMethod(
        f'GGUF file for llama.cpp / Ollama, {_summary}', 'hf_to_gguf:hf_to_gguf',
        (_GGUF,), _GGUF_OPTIONS, fixed={'out_type': _type}))
# k-quants: the gguf package cannot write them; llama.cpp's llama-quantize does.
_LLAMA_QUANTIZE = Program('llama-quantize', 'build llama.cpp, or use gguf:q8_0 / gguf:q4_0, '
                          'which need no program')
for _kind in ('Q4_K_M', 'Q5_K_M', 'Q6_K'):
    QUANTIZE_METHODS.register(f'gguf:{_kind.lower()}', QuantizeMethod(
        f'GGUF file, llama.cpp k-quant {_kind} (f16, then llama-quantize)',
        'llama_quantize:quantize_kquant', (_GGUF, _LLAMA_QUANTIZE), _GGUF_OPTIONS,
        fixed={'kind': _kind}))


def method_table() -> str:
    """One line per method (name, what it writes, what it needs), for ``--help``."""
    lines = []
    for name, method in QUANTIZE_METHODS.items():
        needs = ', '.join(getattr(n, 'name', 'CUDA') for n in method.needs)
        lines.append(f'  {name:<13} {method.summary}' + (f' [needs {needs}]' if needs else ''))
    return '\n'.join(lines)


def check_method(name: str, options: Mapping[str, Any]) -> QuantizeMethod:
    """The method named ``name``, once its options and needs are checked (nothing loaded)."""
    method = QUANTIZE_METHODS.get(name)
    wrong = sorted(k for k, v in options.items() if v is not None and k not in method.options)
    if wrong:
        takes = ', '.join(f'--{o.replace("_", "-")}' for o in method.options) or 'no options'
        raise ConfigError(f'--method {name} does not take '
                          f'{", ".join("--" + k.replace("_", "-") for k in wrong)}; it takes '
                          f'{takes}')
    absent = [k for k in method.required if options.get(k) is None]
    if absent:
        raise ConfigError(f'--method {name} needs '
                          f'{" and ".join("--" + k.replace("_", "-") for k in absent)}')
    missing = method.missing()
    if missing:
        raise ConfigError(f'--method {name} cannot run here: it needs {" and ".join(missing)}')
    return method


def quantize(method: str, model_dir: str | os.PathLike, out: str | os.PathLike,
             **options: Any) -> Path:
    """Quantize ``model_dir`` into ``out`` with the registered ``method``.

    Args:
        method: a name in ``QUANTIZE_METHODS`` ('nf4', 'gptq', 'gguf:q8_0', ...).
        model_dir: the model folder (or, where the method merges first, an adapter folder).
        out: the folder or the .gguf file to write.
        **options: the method's options; None means "the method's default".

    Raises:
        UnknownNameError: no such method (close names suggested).
        ConfigError: an option the method does not take, or a need that is missing here.
    """
    chosen = check_method(method, options)
    given = {k: v for k, v in options.items() if v is not None}
    modelfile = given.pop('modelfile', False)
    written = chosen.function()(model_dir, out, **chosen.fixed, **given)
    if modelfile:
        from .modelfile import write_modelfile
        write_modelfile(written)
    return Path(written)
