"""Tests for xtuner_like/convert/bnb.py: `convert merge --bits 4`, `quantize --method nf4/int8`
and `chat` on the output."""
from __future__ import annotations

import io

import pytest
import torch
from conftest import run_cli

pytest.importorskip('bitsandbytes')


@pytest.fixture(scope='module')
def adapter_dir(tiny_model_dir, tmp_path_factory):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from xtuner_like.templates import get_template, to_chat_template
    path = tmp_path_factory.mktemp('bnb4') / 'adapter'
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    torch.manual_seed(0)
    get_peft_model(base, LoraConfig(r=4, target_modules='all-linear',
                                    init_lora_weights=False)).save_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.chat_template = to_chat_template(get_template('chatml'), None)
    tokenizer.save_pretrained(path)
    return path


def test_merge_bits_4_loads_without_arguments(tiny_model_dir, adapter_dir, tmp_path):
    from bitsandbytes.nn import Linear4bit
    from transformers import AutoModelForCausalLM
    assert run_cli(['convert', 'merge', tiny_model_dir, adapter_dir, tmp_path / 'fp32']) == 0
    assert run_cli(['convert', 'merge', tiny_model_dir, adapter_dir, tmp_path / 'nf4',
                    '--bits', '4']) == 0
    files = list((tmp_path / 'nf4').glob('*.safetensors'))
    assert files and not list((tmp_path / 'nf4').glob('*.bin'))
    nf4 = AutoModelForCausalLM.from_pretrained(tmp_path / 'nf4').eval()
    assert nf4.config.quantization_config.bnb_4bit_quant_type == 'nf4'
    assert isinstance(nf4.model.layers[0].mlp.down_proj, Linear4bit)
    fp32 = AutoModelForCausalLM.from_pretrained(tmp_path / 'fp32').eval()
    from bitsandbytes.functional import dequantize_4bit
    for name, module in nf4.named_modules():
        if isinstance(module, Linear4bit):  # the merged weights, rounded to 16 NF4 levels
            weight = dequantize_4bit(module.weight.data, module.weight.quant_state).float()
            source = fp32.get_submodule(name).weight
            assert (weight - source).norm() < 0.15 * source.norm(), name
    assert sum(f.stat().st_size for f in files) < \
        sum(f.stat().st_size for f in (tmp_path / 'fp32').glob('*.safetensors'))


def test_chat_bits_4_on_the_4bit_folder(tiny_model_dir, adapter_dir, tmp_path, monkeypatch,
                                        capsys):
    assert run_cli(['convert', 'merge', tiny_model_dir, adapter_dir, tmp_path / 'nf4',
                    '--bits', '4']) == 0
    capsys.readouterr()
    monkeypatch.setattr('sys.stdin', io.StringIO('Hi\n'))
    rc = run_cli(['chat', tmp_path / 'nf4', '--bits', '4', '--temperature', '0',
                  '--max-new-tokens', '4', '--stop-words', '\n'])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert len(captured.out.split('\n')[:-1]) == 1


def test_bits_other_than_4_is_refused(tiny_model_dir, adapter_dir, tmp_path):
    from xtuner_like.convert.merge import merge_adapter
    from xtuner_like.errors import ConfigError
    with pytest.raises(ConfigError, match='use 4 .* or 8'):
        merge_adapter(tiny_model_dir, adapter_dir, tmp_path / 'x', bits=3)


def _tensors(folder):
    from safetensors.torch import load_file
    out = {}
    for path in sorted(folder.glob('*.safetensors')):
        out.update(load_file(path))
    return out


def test_method_nf4_of_a_full_folder_or_an_adapter_equals_merge_bits_4(
        tiny_model_dir, adapter_dir, tmp_path):
    """``quantize --method nf4`` is ``merge --bits 4``: from the adapter (base read from its
    adapter_config.json) and from the merged full folder, the same NF4 weights."""
    from xtuner_like.convert.quantize import quantize
    assert run_cli(['convert', 'merge', tiny_model_dir, adapter_dir, tmp_path / 'fp32']) == 0
    assert run_cli(['convert', 'merge', tiny_model_dir, adapter_dir, tmp_path / 'alias',
                    '--bits', '4']) == 0
    from_adapter = quantize('nf4', adapter_dir, tmp_path / 'from_adapter')
    from_full = quantize('nf4', tmp_path / 'fp32', tmp_path / 'from_full')
    expected = _tensors(tmp_path / 'alias')
    for folder in (from_adapter, from_full):
        got = _tensors(folder)
        assert sorted(got) == sorted(expected)
        assert all(torch.equal(got[k], expected[k]) for k in expected), folder
        assert (folder / 'tokenizer.json').is_file()


def test_method_int8_loads_without_arguments_and_stays_close(tiny_model_dir, tmp_path):
    from bitsandbytes.nn import Linear8bitLt
    from transformers import AutoModelForCausalLM

    from xtuner_like.convert.quantize import quantize
    out = quantize('int8', tiny_model_dir, tmp_path / 'int8')
    int8 = AutoModelForCausalLM.from_pretrained(out).eval()
    assert int8.config.quantization_config.load_in_8bit
    assert isinstance(int8.model.layers[0].mlp.down_proj, Linear8bitLt)
    source = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    ids = torch.tensor([[5, 17, 42, 99]])
    with torch.no_grad():  # measured 0.008 on the tiny Llama
        assert (int8(ids).logits - source(ids).logits).abs().max() < 0.05
