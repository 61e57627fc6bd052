"""A LoRA linear layer whose training step does the same math as peft's with fewer passes.

peft computes ``base(x) + lora_B(lora_A(dropout(x))) * scaling``: each adapted linear makes
a dropped-out float copy of its input, keeps that copy and the float noise for backward,
then scales and adds a full ``[tokens, out]`` tensor. :class:`FusedLoraLinear` draws the
very same dropout noise (same call, same random stream, so the same mask), keeps it as
bool, accumulates the low-rank product into the base output in place (``addmm`` with
``alpha=scaling``) and writes the backward by hand. Outputs and gradients equal peft's up
to float rounding (tested); only memory and time differ.

It is installed through peft's own custom-module hook (``LoraConfig._register_custom_module``),
so checkpoints, merging and ``save_pretrained`` are peft's. Anything the fast path does not
cover (several adapters, DoRA and other variants, merged weights, a trained or quantized
base, autocast) goes through peft's forward unchanged.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from peft.tuners.lora.layer import Linear as PeftLoraLinear


class _LoraLinearFunction(torch.autograd.Function):
    """y = x W^T + b + scaling * dropout(x) A^T B^T, frozen W and b."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                lora_a: torch.Tensor, lora_b: torch.Tensor, scaling: float,
                p: float) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        out = F.linear(flat, weight, bias)
        mask = None
        if p > 0:
            # The call peft's nn.Dropout makes on the CPU (same random numbers, same mask).
            noise = torch.empty_like(flat).bernoulli_(1 - p)
            dropped = flat * noise.div_(1 - p)
            mask = noise.bool()
        else:
            dropped = flat
        low = dropped @ lora_a.t()
        out.addmm_(low, lora_b.t(), alpha=scaling)
        ctx.save_for_backward(flat, weight, lora_a, lora_b, low, mask)
        ctx.scaling, ctx.p, ctx.shape = scaling, p, x.shape
        return out.view(*x.shape[:-1], out.shape[-1])

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor):
        flat, weight, lora_a, lora_b, low, mask = ctx.saved_tensors
        grad = grad_out.reshape(-1, grad_out.shape[-1])
        grad_low = (grad @ lora_b).mul_(ctx.scaling)
        grad_b = (grad.t() @ low).mul_(ctx.scaling) if lora_b.requires_grad else None
        keep = 1.0 / (1 - ctx.p)
        if mask is not None:
            dropped = flat * mask
            grad_a = (grad_low.t() @ dropped).mul_(keep) if lora_a.requires_grad else None
        else:
            grad_a = grad_low.t() @ flat if lora_a.requires_grad else None
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = grad @ weight
            if mask is not None:
                grad_x.add_((grad_low @ lora_a).mul_(mask), alpha=keep)
            else:
                grad_x.addmm_(grad_low, lora_a)
            grad_x = grad_x.view(ctx.shape)
        return grad_x, None, None, grad_a, grad_b, None, None


class FusedLoraLinear(PeftLoraLinear):
    """peft's LoRA ``Linear`` with a fused training path for the plain single-adapter case."""

    def _fast_path(self, x: torch.Tensor, args: tuple, kwargs: dict) -> str | None:
        """The active adapter when the fused path applies, else None."""
        if args or kwargs or self.disable_adapters or self.merged:
            return None
        active = [a for a in self.active_adapters if a in self.lora_A]
        if len(active) != 1 or active[0] in self.lora_variant or self.fan_in_fan_out:
            return None
        name = active[0]
        base = self.get_base_layer()
        if type(base) is not torch.nn.Linear or base.weight.requires_grad:
            return None
        if self.lora_B[name].bias is not None or torch.is_autocast_enabled(x.device.type):
            return None
        if not (x.dtype == base.weight.dtype == self.lora_A[name].weight.dtype):
            return None
        return name

    def forward(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        name = self._fast_path(x, args, kwargs)
        if name is None:
            return super().forward(x, *args, **kwargs)
        base = self.get_base_layer()
        dropout = self.lora_dropout[name]
        p = dropout.p if isinstance(dropout, torch.nn.Dropout) and dropout.training else 0.0
        return _LoraLinearFunction.apply(x, base.weight, base.bias, self.lora_A[name].weight,
                                         self.lora_B[name].weight, self.scaling[name], p)


def use_fused_lora(lora_config: Any) -> Any:
    """Make ``get_peft_model`` build :class:`FusedLoraLinear` for plain ``nn.Linear`` targets."""
    lora_config._register_custom_module({torch.nn.Linear: FusedLoraLinear})
    return lora_config
