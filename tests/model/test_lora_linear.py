"""FusedLoraLinear: the same outputs and gradients as peft's LoRA layer, dropout included."""
import copy
import math

import pytest
import torch
from peft import LoraConfig, get_peft_model

from xtuner_like.model import SupervisedFinetune, load_causal_lm
from xtuner_like.model.lora_linear import FusedLoraLinear, keep_mask, use_fused_lora


class KeepMaskDropout(torch.nn.Module):
    """peft's dropout with the fused layer's CPU mask: the same mask for the same seed."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training:
            return x
        mask, keep = keep_mask(x.shape, self.p)
        return x * mask / keep


def tiny(seed=0):
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(seed)
    return LlamaForCausalLM(LlamaConfig(
        vocab_size=300, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2))


def peft_model(base, dropout, fused):
    config = LoraConfig(r=8, lora_alpha=16, lora_dropout=dropout, target_modules='all-linear',
                        init_lora_weights=False)  # random B: the adapter path matters
    if fused:
        use_fused_lora(config)
    torch.manual_seed(1)
    model = get_peft_model(copy.deepcopy(base), config)
    if not fused and dropout:
        for module in model.modules():
            if hasattr(module, 'lora_dropout') and 'default' in module.lora_dropout:
                module.lora_dropout['default'] = KeepMaskDropout(dropout)
    return model


def loss_and_grads(model, ids, seed=5):
    model.train()
    torch.manual_seed(seed)  # the same dropout masks for both layers
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    return loss.detach(), {n: p.grad for n, p in model.named_parameters() if p.requires_grad}


@pytest.mark.parametrize('dropout', [0.0, 0.1])
def test_fused_equals_peft(dropout):
    base = tiny()
    ids = torch.randint(0, 300, (2, 16))
    ref = peft_model(base, dropout, fused=False)
    fused = peft_model(base, dropout, fused=True)
    assert isinstance(fused.base_model.model.model.layers[0].mlp.up_proj, FusedLoraLinear)
    la, ga = loss_and_grads(ref, ids)
    lb, gb = loss_and_grads(fused, ids)
    torch.testing.assert_close(la, lb)
    assert ga.keys() == gb.keys()
    for name in ga:
        torch.testing.assert_close(ga[name], gb[name], msg=name)


@pytest.mark.parametrize('p', [0.05, 0.1, 0.5])
def test_keep_mask_drops_a_fraction_p_uniformly(p):
    torch.manual_seed(0)
    mask, keep = keep_mask((1000, 1001), p)
    assert mask.shape == (1000, 1001) and mask.dtype == torch.bool
    assert keep == pytest.approx(1 - p, abs=1 / 65536)
    sigma = math.sqrt(p * (1 - p) / mask.numel())
    assert mask.float().mean().item() == pytest.approx(keep, abs=5 * sigma)
    # no position is favoured: the four 16-bit chunks of each random word keep alike
    quarters = mask.flatten()[:1001000].view(-1, 4).float().mean(0)
    torch.testing.assert_close(quarters, torch.full((4,), keep), atol=10 * sigma, rtol=0)
    assert not torch.equal(mask, keep_mask((1000, 1001), p)[0])


def test_keep_mask_edges():
    assert keep_mask((4, 5), 0.0)[0].all() and keep_mask((4, 5), 0.0)[1] == 1.0
    mask, keep = keep_mask((4, 5), 1.0)
    assert not mask.any() and keep == 0.0


def test_eval_merge_and_disabled_adapters_match_peft():
    base = tiny()
    ids = torch.randint(0, 300, (1, 10))
    ref, fused = peft_model(base, 0.1, False).eval(), peft_model(base, 0.1, True).eval()
    with torch.no_grad():
        torch.testing.assert_close(ref(input_ids=ids).logits, fused(input_ids=ids).logits)
        with fused.disable_adapter():
            torch.testing.assert_close(fused(input_ids=ids).logits, base(input_ids=ids).logits)
        merged = fused.merge_and_unload()
        torch.testing.assert_close(merged(input_ids=ids).logits, ref(input_ids=ids).logits,
                                   rtol=1e-4, atol=1e-5)


def test_supervised_finetune_uses_it_and_keeps_the_loss(tiny_model_dir):
    spec = dict(type=load_causal_lm, pretrained_model_name_or_path=str(tiny_model_dir),
                dtype='fp32')
    lora = dict(type=LoraConfig, r=4, lora_alpha=8, lora_dropout=0.1,
                target_modules='all-linear', task_type='CAUSAL_LM')
    ids = torch.randint(3, 300, (2, 12))
    losses = []
    for fused in (True, False):
        torch.manual_seed(0)
        model = SupervisedFinetune(spec, lora=lora, fused_lora=fused)
        assert any(isinstance(m, FusedLoraLinear) for m in model.modules()) == fused
        model.train()
        torch.manual_seed(3)
        losses.append(model(ids, ids)['loss'])
    torch.testing.assert_close(losses[0], losses[1])


def partition_like_zero3(model: torch.nn.Module) -> None:
    """Mimic ZeRO-3 on every frozen base linear: the weight is an empty shard tagged ``ds_id``,
    gathered by a pre-forward hook of that module and released by a post-forward hook."""
    for i, layer in enumerate(m for m in model.modules() if isinstance(m, FusedLoraLinear)):
        base = layer.get_base_layer()
        full = base.weight.data
        base.weight.ds_id = i
        base.weight.data = torch.empty(0)
        base.register_forward_pre_hook(
            lambda mod, args, full=full: setattr(mod.weight, 'data', full))
        base.register_forward_hook(
            lambda mod, args, out: setattr(mod.weight, 'data', torch.empty(0)))


def test_zero3_partitioned_base_falls_back_to_peft():
    """The fused path reads base.weight outside the base forward, where ZeRO-3 would hand it an
    empty shard (issue 16: `size mismatch ... vec (0)`); such layers take peft's forward."""
    base = tiny()
    ids = torch.randint(0, 300, (2, 16))
    ref = peft_model(base, 0.0, fused=False)
    fused = peft_model(base, 0.0, fused=True)
    partition_like_zero3(fused)
    la, ga = loss_and_grads(ref, ids)
    lb, gb = loss_and_grads(fused, ids)
    torch.testing.assert_close(la, lb)
    for name in ga:
        torch.testing.assert_close(ga[name], gb[name], msg=name)


def train_steps(model, ids, steps=3):
    """Losses and final gradients of ``steps`` AdamW steps with fixed dropout seeds."""
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    for step in range(steps):
        opt.zero_grad()
        loss, grads = loss_and_grads(model, ids, seed=step)
        losses.append(loss)
        opt.step()
    return torch.stack(losses), grads


@pytest.mark.parametrize('dropout', [0.0, 0.1])
def test_fused_follows_peft_through_optimizer_steps(dropout):
    """Losses and gradients stay equal to peft's while AdamW trains A and B."""
    base = tiny()
    ids = torch.randint(0, 300, (2, 16))
    ref_losses, ref_grads = train_steps(peft_model(base, dropout, fused=False), ids)
    losses, grads = train_steps(peft_model(base, dropout, fused=True), ids)
    assert not torch.allclose(ref_losses[0], ref_losses[-1])  # the adapters really changed
    torch.testing.assert_close(losses, ref_losses)
    for name in ref_grads:
        torch.testing.assert_close(grads[name], ref_grads[name], msg=name)


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return ((got.float() - want.float()).norm() / want.float().norm()).item()


@pytest.mark.parametrize('dropout', [0.0, 0.1])
def test_fused_trains_a_bf16_base_with_fp32_adapters_like_peft(monkeypatch, dropout):
    """A bf16 base with peft's fp32 adapters (dtype='bf16') takes the fused path, its adapter
    matmuls in bf16 as autocast would run them, and gives peft's loss and gradients up to bf16
    rounding, the gradients in the adapters' fp32."""
    from xtuner_like.model import lora_linear
    apply, calls = lora_linear._LoraLinearFunction.apply, []
    monkeypatch.setattr(lora_linear._LoraLinearFunction, 'apply',
                        staticmethod(lambda *a: calls.append(1) or apply(*a)))
    base = tiny().to(torch.bfloat16)
    ids = torch.randint(0, 300, (2, 16))
    ref, fused = peft_model(base, dropout, fused=False), peft_model(base, dropout, fused=True)
    layer = fused.base_model.model.model.layers[0].mlp.up_proj
    assert layer.lora_A['default'].weight.dtype == torch.float32
    la, ga = loss_and_grads(ref, ids)
    assert not calls
    lb, gb = loss_and_grads(fused, ids)
    assert len(calls) == 2 * 7  # every adapted linear of both layers
    assert abs(la.item() - lb.item()) < 0.02 * abs(la.item())
    for name in ga:
        assert gb[name].dtype == torch.float32, name
        assert relative_error(gb[name], ga[name]) < 0.05, name
