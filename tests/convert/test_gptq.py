"""Tests for xtuner_like/convert/gptq.py: GPTQ through gptqmodel, calibrated on the recipe
(run through the ``convert quantize`` front, which checks its needs first).

gptqmodel needs CUDA; on the CPU the path is run up to the library call, with a stand-in
``gptqmodel`` module that records what it is given.
"""
from __future__ import annotations

import importlib.util
import sys
import types

import pytest
import torch

from xtuner_like.convert.gptq import calibration_rows, gptq_config_args
from xtuner_like.convert.quantize import quantize
from xtuner_like.errors import ConfigError, UnknownNameError

RECIPE = 'smollm2_135m_instruct_lora_identity'


def _options(model_dir):
    return {'pretrained_model_name_or_path': str(model_dir)}


def test_calibration_rows_are_the_recipes_unpacked_conversations(tiny_model_dir, xl_home):
    from transformers import AutoTokenizer
    rows = calibration_rows(RECIPE, tiny_model_dir, n_samples=5,
                            cfg_options=_options(tiny_model_dir))
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    assert len(rows) == 5
    for row in rows:
        assert row['attention_mask'] == [1] * len(row['input_ids'])
        text = tok.decode(row['input_ids'])
        # one rendered ChatML conversation (not a pack of several), with the trained reply
        assert text.count('<|im_start|>assistant') == 1 and text.endswith('<|im_end|>\n')


def test_config_args_are_checked_before_loading():
    assert gptq_config_args(4, 128) == {'bits': 4, 'group_size': 128, 'desc_act': False}
    with pytest.raises(ConfigError, match='GPTQ supports'):
        gptq_config_args(5)
    with pytest.raises(ConfigError, match='power of two'):
        gptq_config_args(4, 100)
    with pytest.raises(UnknownNameError, match="no quantize method 'awq'"):
        quantize('awq', 'model', 'out')


@pytest.fixture
def fake_gptqmodel(monkeypatch):
    """A stand-in gptqmodel that records the calls and saves a marker file."""
    calls = {}

    class QuantizeConfig:
        def __init__(self, **kwargs):
            calls['config'] = kwargs

    class Model:
        def quantize(self, rows, batch_size):
            calls['rows'], calls['batch_size'] = rows, batch_size

        def save(self, path):
            calls['saved_to'] = path
            (__import__('pathlib').Path(path) / 'model.safetensors').write_bytes(b'q')

    class GPTQModel:
        @staticmethod
        def load(path, config):
            calls['load'] = (path, config)
            return Model()

    module = types.ModuleType('gptqmodel')
    module.GPTQModel, module.QuantizeConfig = GPTQModel, QuantizeConfig
    module.__spec__ = importlib.machinery.ModuleSpec('gptqmodel', None)
    monkeypatch.setitem(sys.modules, 'gptqmodel', module)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    return calls


def test_quantize_calls_gptqmodel_with_recipe_rows(tiny_model_dir, xl_home, tmp_path,
                                                   fake_gptqmodel):
    out = quantize('gptq', tiny_model_dir, tmp_path / 'q', config=RECIPE,
                   bits=8, group_size=64, n_samples=3, batch_size=2,
                   cfg_options=_options(tiny_model_dir))
    assert fake_gptqmodel['config'] == {'bits': 8, 'group_size': 64, 'desc_act': False}
    assert fake_gptqmodel['load'][0] == str(tiny_model_dir)
    assert fake_gptqmodel['rows'] == calibration_rows(RECIPE, tiny_model_dir, 3,
                                                      _options(tiny_model_dir))
    assert fake_gptqmodel['batch_size'] == 2
    assert (out / 'model.safetensors').is_file() and (out / 'tokenizer.json').is_file()


def test_without_cuda_or_gptqmodel_the_error_says_what_to_do(tiny_model_dir, xl_home,
                                                             tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    # gptqmodel missing: 'pip install -r requirements/gptq.txt'; installed: 'needs a CUDA GPU'
    with pytest.raises(ConfigError, match='requirements/gptq.txt|CUDA GPU'):
        quantize('gptq', tiny_model_dir, tmp_path / 'q', config=RECIPE,
                 n_samples=1, cfg_options=_options(tiny_model_dir))
    assert not (tmp_path / 'q').exists()


@pytest.mark.gpu
def test_gptq_on_a_gpu(tiny_model_dir, xl_home, tmp_path):
    if not torch.cuda.is_available() or importlib.util.find_spec('gptqmodel') is None:
        pytest.skip('needs CUDA and gptqmodel (pip install -r requirements/gptq.txt)')
    from transformers import AutoModelForCausalLM
    out = quantize('gptq', tiny_model_dir, tmp_path / 'q', config=RECIPE,
                   n_samples=8, group_size=64, cfg_options=_options(tiny_model_dir))
    model = AutoModelForCausalLM.from_pretrained(out, device_map='cuda')
    assert model.config.quantization_config.bits == 4
