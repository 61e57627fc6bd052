"""FusedOptimWrapperConstructor: fused AdamW when the config leaves it open, else unchanged."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper

from xtuner_like.config import load_config
from xtuner_like.engine.optim_constructor import FusedOptimWrapperConstructor

RECIPE = 'smollm2_135m_instruct_lora_alpaca'


def model():
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2))
    net[0].requires_grad_(False)
    return net


def build(optimizer: dict):
    return build_optim_wrapper(model(), dict(constructor=FusedOptimWrapperConstructor,
                                             optimizer=optimizer)).optimizer


def test_adamw_gets_the_fused_kernel_and_the_same_step():
    fused = build(dict(type=torch.optim.AdamW, lr=0.1))
    assert fused.defaults['fused'] is True
    ref = torch.optim.AdamW([torch.nn.Parameter(p.detach().clone())
                             for p in fused.param_groups[0]['params']], lr=0.1)
    for opt in (fused, ref):
        for p in opt.param_groups[0]['params']:
            p.grad = torch.ones_like(p) if p.requires_grad else None
        opt.step()
    for got, want in zip(fused.param_groups[0]['params'], ref.param_groups[0]['params']):
        if got.requires_grad:
            torch.testing.assert_close(got, want)


@pytest.mark.parametrize('optimizer', [
    dict(type=torch.optim.AdamW, lr=0.1, fused=False),
    dict(type=torch.optim.AdamW, lr=0.1, foreach=True),
    dict(type=torch.optim.SGD, lr=0.1),
])
def test_explicit_choices_and_other_optimizers_are_kept(optimizer):
    opt = build(optimizer)
    assert opt.defaults.get('fused') in (None, False)


def test_the_recipes_use_it_and_paged_adamw_stays_one_option_away():
    cfg = load_config(RECIPE, {})
    assert cfg.optim_wrapper['constructor'] is FusedOptimWrapperConstructor
    cfg = load_config(RECIPE, {'optim_wrapper.optimizer.type': 'bitsandbytes.optim.PagedAdamW'})
    wrapper = build_optim_wrapper(torch.nn.Linear(4, 4), cfg.optim_wrapper)
    assert type(wrapper.optimizer).__name__ == 'PagedAdamW'
