"""`convert quantize --method gguf:q4_k_m` (and the other k-quants) through llama.cpp.

The ``gguf`` package cannot write k-quants (its quantize raises NotImplementedError for
Q4_K ...), so the model is written as an f16 GGUF file into a scratch folder beside the
output and llama.cpp's own ``llama-quantize`` program turns that file into the k-quant.
The method's entry in ``convert/quantize.py`` declares the program; the front checks it is on
PATH before this module runs.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import CheckpointError
from ..utils.io import atomic_file
from ..utils.logging import log
from .hf_to_gguf import hf_to_gguf

PROGRAM = 'llama-quantize'


def quantize_kquant(model_dir: str | os.PathLike, out_file: str | os.PathLike, kind: str,
                    base: str | None = None, overwrite: bool = False) -> Path:
    """Write ``model_dir`` (a model folder or an adapter) as one k-quant GGUF file.

    Args:
        model_dir: as for :func:`hf_to_gguf` (an adapter is merged into ``base`` first).
        out_file: the ``.gguf`` file; it appears complete or not at all.
        kind: llama-quantize's type name ('Q4_K_M', 'Q5_K_M', 'Q6_K', ...).
        base: the base model of an adapter.
        overwrite: replace an existing ``out_file``.
    """
    out = Path(out_file).expanduser().resolve()
    if out.exists() and not overwrite:
        raise CheckpointError(f'{out} already exists; delete it or pass --overwrite')
    out.parent.mkdir(parents=True, exist_ok=True)
    program = shutil.which(PROGRAM) or PROGRAM
    with tempfile.TemporaryDirectory(dir=out.parent, prefix='.kquant-') as scratch:
        f16 = hf_to_gguf(model_dir, Path(scratch) / 'f16.gguf', 'f16', base=base)
        with atomic_file(out) as tmp:
            log(f'{PROGRAM}: {f16.name} -> {kind}')
            done = subprocess.run([program, str(f16), str(tmp), kind], capture_output=True,
                                  text=True, check=False)
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ['no output']
                raise CheckpointError(f'{PROGRAM} {kind} failed (exit {done.returncode}): '
                                      f'{tail[0]}')
    return out
