"""Tests for xtuner_like/convert/quantize.py: the one front of the quantize methods.

The methods' own outputs are tested beside their modules (test_bnb, test_gptq,
test_hf_to_gguf, test_llama_quantize); these check the registry and the front's checks.
"""
from __future__ import annotations

import inspect
import shutil

import pytest

from xtuner_like.convert.quantize import (QUANTIZE_METHODS, CudaGPU, Package, Program,
                                          check_method, method_table, quantize)
from xtuner_like.errors import ConfigError, UnknownNameError


@pytest.mark.parametrize('name', list(QUANTIZE_METHODS))
def test_every_method_runs_a_function_that_takes_its_options(name):
    method = QUANTIZE_METHODS.get(name)
    params = inspect.signature(method.function()).parameters
    assert len([p for p in params.values() if p.default is p.empty]) <= 2 + len(method.fixed) \
        + len(method.required), 'model_dir, out and the implied/required arguments only'
    for option in {*method.options, *method.fixed} - {'modelfile'}:
        assert option in params, (name, option)
    assert set(method.required) <= set(method.options)


def test_the_issue_names_are_registered():
    assert {'nf4', 'int8', 'gptq', 'gguf:f16', 'gguf:q8_0', 'gguf:q4_0', 'gguf:q4_k_m'} <= \
        set(QUANTIZE_METHODS)
    table = method_table()
    assert all(name in table for name in QUANTIZE_METHODS)
    assert 'needs gptqmodel, CUDA' in table and 'needs gguf, llama-quantize' in table


def test_an_unknown_method_suggests_close_names():
    with pytest.raises(UnknownNameError, match="no quantize method 'gguf:q8'.*'gguf:q8_0'"):
        quantize('gguf:q8', 'model', 'out')


def test_an_option_the_method_does_not_take_is_refused_before_loading():
    with pytest.raises(ConfigError, match='gguf:q8_0 does not take --bits, --group-size; '
                       'it takes --base, --overwrite, --modelfile'):
        quantize('gguf:q8_0', 'no-such-model', 'out', bits=4, group_size=64, base=None)


def test_a_required_option_is_named():
    with pytest.raises(ConfigError, match='gptq needs --config'):
        check_method('gptq', {'bits': 4})


def test_a_missing_need_is_said_in_one_line(monkeypatch):
    monkeypatch.setattr(shutil, 'which', lambda name: None)
    with pytest.raises(ConfigError) as info:
        quantize('gguf:q4_k_m', 'no-such-model', 'out')
    message = str(info.value)
    assert '\n' not in message and 'gguf:q4_k_m cannot run here' in message
    assert 'llama-quantize on PATH' in message and 'gguf:q4_0' in message


def test_needs_say_what_is_missing(monkeypatch):
    import torch
    assert Package('json', 'x').missing() is None
    assert 'no_such_pkg (pip install it)' in Package('no_such_pkg', 'pip install it').missing()
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert 'CUDA GPU' in CudaGPU().missing()
    assert Program('sh', 'x').missing() is None
    assert 'nope-prog on PATH (build it)' == Program('nope-prog', 'build it').missing()


def test_a_gguf_method_writes_the_file_and_a_modelfile(tiny_model_dir, tmp_path):
    pytest.importorskip('gguf')
    out = quantize('gguf:q8_0', tiny_model_dir, tmp_path / 'm.gguf', modelfile=True)
    assert out == tmp_path / 'm.gguf' and out.stat().st_size > 0
    assert (tmp_path / 'Modelfile').read_text().startswith('FROM ./m.gguf')
