"""Tests for xtuner_like/engine/hooks/ema_hook.py: an EMA of the trained weights, per optimizer
step, saved in the checkpoint, resumed bitwise and exported by ``convert pth_to_hf --ema``."""
from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest
import torch
from conftest import run_cli
from safetensors.torch import load_file

from xtuner_like.engine.hooks import EMAHook
from xtuner_like.engine.hooks.ema_hook import check_ema
from xtuner_like.errors import CheckpointError, ConfigError
from xtuner_like.utils.io import safe_load

RECIPE = 'smollm2_135m_instruct_lora_identity'


def test_the_knob_is_checked_with_one_line_naming_the_fix():
    assert check_ema(None) is None
    assert check_ema(dict(decay=0.99)) == {'decay': 0.99, 'every': 1}
    with pytest.raises(ConfigError, match="unknown key 'decey' \\(did you mean 'decay'\\?\\)"):
        check_ema(dict(decey=0.99))
    with pytest.raises(ConfigError, match='decay=1.5 must be a number between 0 and 1'):
        check_ema(dict(decay=1.5))
    with pytest.raises(ConfigError, match='every=0 must be a whole number'):
        check_ema(dict(every=0))
    with pytest.raises(ConfigError, match='use None'):
        check_ema(0.999)


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.frozen = torch.nn.Linear(2, 2)
        self.trained = torch.nn.Linear(2, 2)
        self.frozen.requires_grad_(False)


def fake_runner(model, counts=1, max_iters=10, it=0):
    return SimpleNamespace(model=model, iter=it, max_iters=max_iters,
                           optim_wrapper=SimpleNamespace(_accumulative_counts=counts))


def test_averages_only_the_trained_weights_in_fp32():
    model = Tiny().to(torch.bfloat16)
    hook = EMAHook(dict(decay=0.9))
    hook.before_train(fake_runner(model))
    assert set(hook.shadow) == {'trained.weight', 'trained.bias'}
    start = {k: v.clone() for k, v in hook.shadow.items()}
    with torch.no_grad():
        model.trained.weight.add_(1.0)
    hook.update(model)
    live = model.trained.weight.float()
    expected = 0.9 * start['trained.weight'] + 0.1 * live
    torch.testing.assert_close(hook.shadow['trained.weight'], expected)
    assert hook.shadow['trained.weight'].dtype == torch.float32 and hook.updates == 1


def test_updates_once_per_optimizer_step_and_every_n_steps():
    model = Tiny()
    hook = EMAHook(dict(decay=0.5, every=2))
    runner = fake_runner(model, counts=3, max_iters=10)
    hook.before_train(runner)
    # windows of 3 micro-batches: steps end at iterations 3, 6, 9 and the short last one, 10
    assert [hook._optimizer_step(runner, i) for i in range(10)] == [0, 0, 1, 0, 0, 2, 0, 0, 3, 4]
    for i in range(10):
        hook.after_train_iter(runner, i)
    assert hook.updates == 2                  # steps 2 and 4
    off = EMAHook(None)
    off.before_train(runner)
    off.after_train_iter(runner, 2)
    checkpoint: dict = {}
    off.before_save_checkpoint(runner, checkpoint)
    assert checkpoint == {} and off.shadow == {}


def test_a_resumed_ema_of_other_weights_is_a_clear_error():
    hook = EMAHook(dict(decay=0.9))
    hook.after_load_checkpoint(None, {'ema': {'decay': 0.9, 'every': 1, 'updates': 3,
                                              'state_dict': {'other.weight': torch.zeros(2)}}})
    with pytest.raises(CheckpointError, match='does not match the trained weights'):
        hook.before_train(fake_runner(Tiny(), it=4))


def options(tiny_model_dir, *extra):
    return ['--cfg-options', f'pretrained_model_name_or_path={tiny_model_dir}',
            'log_interval=1', 'evaluation_inputs=[]', 'export_hf=False', 'max_iters=12',
            'save_steps=4', 'save_total_limit=-1', 'accumulative_counts=2',
            "ema={'decay': 0.9, 'every': 1}", *extra]


@pytest.mark.parametrize('variant', [[], ['lora=None', 'lr=1e-3']], ids=['lora', 'full'])
def test_resume_ends_with_the_same_ema_bitwise_and_convert_exports_it(
        variant, tmp_path, tiny_model_dir, xl_home):
    run = options(tiny_model_dir, *variant)
    ref = tmp_path / 'ref'
    assert run_cli(['train', RECIPE, '--work-dir', ref, *run]) == 0
    final = safe_load(ref / 'iter_12.pth')
    ema, live = final['ema'], final['state_dict']
    assert ema['updates'] == 6                 # 12 micro-batches, windows of 2
    trained = set(ema['state_dict'])
    assert trained and trained <= set(live)
    if not variant:                            # LoRA: the adapters only
        assert all('lora_' in name for name in trained)
    assert any(not torch.equal(ema['state_dict'][k].to(live[k].dtype), live[k])
               for k in trained)               # an average, not a copy of the weights

    resumed = tmp_path / 'resumed'
    resumed.mkdir()
    shutil.copy(ref / 'iter_4.pth', resumed / 'iter_4.pth')
    (resumed / 'last_checkpoint').write_text(str(resumed / 'iter_4.pth'))
    assert run_cli(['train', RECIPE, '--work-dir', resumed, '--resume', 'auto', *run]) == 0
    again = safe_load(resumed / 'iter_12.pth')['ema']
    assert again['updates'] == 6 and again['state_dict'].keys() == ema['state_dict'].keys()
    for name, tensor in ema['state_dict'].items():
        assert torch.equal(again['state_dict'][name], tensor), name

    if variant:
        return
    out = tmp_path / 'hf_ema'
    assert run_cli(['convert', 'pth_to_hf', RECIPE, ref / 'iter_12.pth', out, '--ema',
                    '--cfg-options', f'pretrained_model_name_or_path={tiny_model_dir}']) == 0
    exported = load_file(out / 'adapter_model.safetensors')
    expected = {name.removeprefix('llm.').replace('.default.', '.'): tensor
                for name, tensor in ema['state_dict'].items()}
    assert exported.keys() == expected.keys()
    for name, tensor in expected.items():
        assert torch.equal(exported[name], tensor), name
