"""DeepSpeed presets and reconcile_deepspeed_config: "auto" filled from the config, conflicts named."""
import json

import pytest
import torch

from xtuner_like.config import load_config
from xtuner_like.config.recipes import list_presets
from xtuner_like.launch.deepspeed import (find_preset, load_preset,
                                          reconcile_deepspeed_config)
from xtuner_like.errors import ConfigError, UnknownNameError

PRESETS = ['deepspeed_zero1', 'deepspeed_zero2', 'deepspeed_zero2_offload', 'deepspeed_zero3',
           'deepspeed_zero3_offload']


def make_cfg(batch_size=2, accumulation=4, max_norm=1.0, dtype='fp32'):
    return {'train_dataloader': {'batch_size': batch_size},
            'optim_wrapper': {'accumulative_counts': accumulation,
                              'clip_grad': {'max_norm': max_norm},
                              'optimizer': {'type': 'torch.optim.AdamW', 'lr': 1e-4}},
            'model': {'llm': {'dtype': dtype}}}


def test_presets_are_shipped_and_found_by_name_short_name_or_path(tmp_path):
    assert list_presets() == PRESETS
    assert list_presets('zero3') == ['deepspeed_zero3', 'deepspeed_zero3_offload']
    assert find_preset('zero2').name == 'deepspeed_zero2.json'
    own = tmp_path / 'mine.json'
    own.write_text(json.dumps({'zero_optimization': {'stage': 2}}))
    assert find_preset(str(own)) == own
    with pytest.raises(UnknownNameError, match="did you mean 'deepspeed_zero2'"):
        find_preset('deepspeed_zer02')


@pytest.mark.parametrize('name', PRESETS)
def test_every_preset_is_complete_after_reconciling(name):
    ds = reconcile_deepspeed_config(load_preset(name), make_cfg(), world_size=2)
    assert 'auto' not in json.dumps(ds)
    assert ds['train_micro_batch_size_per_gpu'] == 2
    assert ds['gradient_accumulation_steps'] == 4
    assert ds['train_batch_size'] == 2 * 4 * 2
    assert ds['gradient_clipping'] == 1.0
    assert ds['bf16']['enabled'] is False and ds['fp16']['enabled'] is False
    assert ds['zero_optimization']['stage'] == int(name[len('deepspeed_zero')])


def test_precision_follows_the_model_dtype():
    preset = load_preset('zero2')
    ds = reconcile_deepspeed_config(preset, make_cfg(dtype='bf16'), world_size=1)
    assert ds['bf16']['enabled'] is True and ds['fp16']['enabled'] is False
    ds = reconcile_deepspeed_config(preset, make_cfg(dtype='fp16'), world_size=1)
    assert ds['fp16']['enabled'] is True and ds['bf16']['enabled'] is False
    auto = reconcile_deepspeed_config(preset, make_cfg(dtype='auto'), world_size=1)
    cuda_bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    assert auto['bf16']['enabled'] is cuda_bf16


def test_no_clip_grad_means_no_clipping_and_input_is_not_changed():
    preset = load_preset('zero2')
    cfg = make_cfg()
    del cfg['optim_wrapper']['clip_grad']
    assert reconcile_deepspeed_config(preset, cfg, world_size=1)['gradient_clipping'] == 0.0
    assert preset['gradient_clipping'] == 'auto'


def test_matching_numbers_are_accepted():
    ds = {'train_micro_batch_size_per_gpu': 2, 'gradient_accumulation_steps': 4,
          'train_batch_size': 8, 'gradient_clipping': 1.0, 'bf16': {'enabled': False}}
    assert reconcile_deepspeed_config(ds, make_cfg(), world_size=1)['train_batch_size'] == 8


@pytest.mark.parametrize('ds, message', [
    ({'train_micro_batch_size_per_gpu': 8},
     "train_micro_batch_size_per_gpu=8 but the config has train_dataloader.batch_size=2"),
    ({'gradient_accumulation_steps': 1},
     "gradient_accumulation_steps=1 but the config has optim_wrapper.accumulative_counts=4"),
    ({'gradient_clipping': 0.5},
     "gradient_clipping=0.5 but the config has optim_wrapper.clip_grad.max_norm=1.0"),
    ({'train_batch_size': 64}, "train_batch_size=64 but the config has batch_size x "
     "accumulative_counts x 2 processes=16"),
    ({'bf16': {'enabled': True}}, "bf16.enabled=True but the config has "
     "model.llm.dtype='fp32', which means bf16.enabled=False"),
    ({'optimizer': {'type': 'AdamW'}}, "'optimizer' section"),
])
def test_a_real_conflict_names_both_values(ds, message):
    with pytest.raises(ConfigError) as err:
        reconcile_deepspeed_config(ds, make_cfg(), world_size=2)
    assert message in str(err.value)


def test_every_conflict_is_reported_at_once():
    with pytest.raises(ConfigError) as err:
        reconcile_deepspeed_config({'train_micro_batch_size_per_gpu': 8, 'gradient_clipping': 3},
                                   make_cfg(), world_size=1)
    assert 'train_micro_batch_size_per_gpu=8' in str(err.value)
    assert 'gradient_clipping=3' in str(err.value)


def test_reconciles_a_loaded_recipe():
    cfg = load_config('smollm2_135m_instruct_lora_identity',
                      {'accumulative_counts': 2, 'batch_size': 1})
    ds = reconcile_deepspeed_config(load_preset('zero3'), cfg, world_size=2)
    assert (ds['train_micro_batch_size_per_gpu'], ds['gradient_accumulation_steps'],
            ds['train_batch_size']) == (1, 2, 4)


def test_offload_turns_torch_adamw_into_deepspeed_cpu_adam():
    from xtuner_like.launch.deepspeed import offload_optimizer
    adamw = {'type': 'torch.optim.AdamW', 'lr': 1e-4, 'betas': (0.9, 0.95), 'weight_decay': 0.1}
    swapped = offload_optimizer(load_preset('zero3_offload'), adamw)
    assert swapped == {'type': 'deepspeed.ops.adam.DeepSpeedCPUAdam', 'lr': 1e-4,
                       'betas': (0.9, 0.95), 'weight_decay': 0.1, 'adamw_mode': True}
    assert offload_optimizer(load_preset('zero3'), adamw) is adamw          # no offload
    sgd = {'type': 'torch.optim.SGD', 'lr': 0.1}
    assert offload_optimizer(load_preset('zero2_offload'), sgd) is sgd      # DeepSpeed decides


def test_qlora_under_zero3_is_said_once(monkeypatch):
    """Issue 23, item 13: the run used to go into the loop with no word; that it trains like
    one process is tested in tests/cli/test_train_distributed.py."""
    import xtuner_like.launch.deepspeed as module
    said = []
    monkeypatch.setattr(module, 'log_once', lambda msg, *a: said.append(msg))
    qlora = make_cfg()
    qlora['model']['llm']['quantization'] = {'type': 'BitsAndBytesConfig', 'load_in_4bit': True}
    zero3, zero2 = {'zero_optimization': {'stage': 3}}, {'zero_optimization': {'stage': 2}}
    assert module.note_quantized_zero3(zero3, qlora) and 'ZeRO-3 with a 4-bit base' in said[0]
    assert not module.note_quantized_zero3(zero2, qlora)
    assert not module.note_quantized_zero3(zero3, make_cfg())
    assert len(said) == 1
