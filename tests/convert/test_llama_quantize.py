"""Tests for xtuner_like/convert/llama_quantize.py: k-quants through llama.cpp's program.

llama.cpp is not installed here: a stand-in ``llama-quantize`` on PATH records its arguments
and copies the f16 file, which is what the module hands it.
"""
from __future__ import annotations

import os
import stat

import pytest

from xtuner_like.convert.quantize import quantize
from xtuner_like.errors import CheckpointError

pytest.importorskip('gguf')


def _fake_program(folder, body):
    folder.mkdir()
    program = folder / 'llama-quantize'
    program.write_text('#!/bin/sh\n' + body)
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    return folder


def test_the_f16_file_goes_through_llama_quantize(tiny_model_dir, tmp_path, monkeypatch):
    bin_dir = _fake_program(tmp_path / 'bin', f'echo "$@" > {tmp_path}/args\ncp "$1" "$2"\n')
    monkeypatch.setenv('PATH', f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
    out = quantize('gguf:q4_k_m', tiny_model_dir, tmp_path / 'out' / 'm.gguf')
    source, target, kind = (tmp_path / 'args').read_text().split()
    assert source.endswith('f16.gguf') and kind == 'Q4_K_M'
    assert out.read_bytes()[:4] == b'GGUF'
    assert sorted(p.name for p in out.parent.iterdir()) == ['m.gguf']  # no scratch left


def test_a_failing_program_leaves_nothing(tiny_model_dir, tmp_path, monkeypatch):
    bin_dir = _fake_program(tmp_path / 'bin', 'echo "unknown type" >&2\nexit 3\n')
    monkeypatch.setenv('PATH', f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
    with pytest.raises(CheckpointError, match='Q6_K failed \\(exit 3\\): unknown type'):
        quantize('gguf:q6_k', tiny_model_dir, tmp_path / 'out' / 'm.gguf')
    assert list((tmp_path / 'out').iterdir()) == []
