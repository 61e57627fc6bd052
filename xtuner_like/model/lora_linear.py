"""A LoRA linear layer whose training step does the same math as peft's with fewer passes.

peft computes ``base(x) + lora_B(lora_A(dropout(x))) * scaling``: each adapted linear makes
a dropped-out float copy of its input, keeps that copy and the float noise for backward,
then scales and adds a full ``[tokens, out]`` tensor. :class:`FusedLoraLinear` keeps the
dropout mask as bool, accumulates the low-rank product into the base output in place
(``addmm`` with ``alpha=scaling``) and writes the backward by hand. Given the same dropout
mask, outputs and gradients equal peft's up to float rounding (tested); only memory and time
differ. On CUDA the mask is peft's own ``bernoulli_`` draw (the very same mask).

It is installed through peft's own custom-module hook (``compat.register_custom_lora_module``),
so checkpoints, merging and ``save_pretrained`` are peft's. Anything the fast path does not
cover (several adapters, DoRA and other variants, merged weights, a trained or quantized
base, autocast) goes through peft's forward unchanged. So does a base weight that DeepSpeed
ZeRO-3 partitions: ZeRO-3 gathers a module's weight only around that module's own forward,
which the fused path never calls (it reads ``base.weight`` directly and would see an empty
shard), while peft's forward calls the base layer and lets ZeRO-3 gather it.

On the CPU the mask comes from :func:`keep_mask` instead of ``bernoulli_`` (see there): the
same distribution with ``p`` rounded to 1/65536, at a tenth of the cost.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from peft.tuners.lora.layer import Linear as PeftLoraLinear

from ..compat import register_custom_lora_module
from ..utils.logging import log_once


def keep_mask(shape: torch.Size | tuple[int, ...], p: float,
              device: torch.device | str = 'cpu') -> tuple[torch.Tensor, float]:
    """A dropout keep-mask (bool) and its keep probability, from 16 random bits per element.

    torch's CPU ``bernoulli_`` draws element by element (2.6 ms for a 512x576 mask here, 14%
    of a LoRA training step in the profile); ``random_`` fills int64 words over their full
    range in one fast pass. Each word gives four uniform 16-bit numbers, and an element is
    dropped when its number falls in the lowest ``round(p * 65536)`` of the 65536 values. The
    returned keep probability is that exact value, so scaling by its inverse keeps
    ``E[dropout(x)] = x``.
    """
    n = math.prod(shape)
    drop = round(p * 65536)
    if drop >= 65536:
        return torch.zeros(shape, dtype=torch.bool, device=device), 0.0
    words = torch.empty(-(-n // 4), dtype=torch.int64, device=device)
    chunks = words.random_(-2 ** 63, 2 ** 63 - 1).view(torch.int16)[:n]
    # signed int16 is uniform on [-32768, 32767]: the lowest `drop` values are < drop - 32768
    return (chunks >= drop - 32768).view(shape), 1 - drop / 65536


def _dropout_mask(flat: torch.Tensor, p: float) -> tuple[torch.Tensor, float]:
    """(keep mask, keep probability): :func:`keep_mask` on the CPU, else peft's ``bernoulli_``."""
    if flat.device.type == 'cpu':
        return keep_mask(flat.shape, p, flat.device)
    return torch.empty_like(flat).bernoulli_(1 - p).bool(), 1 - p


class _LoraLinearFunction(torch.autograd.Function):
    """y = x W^T + b + scaling * dropout(x) A^T B^T, frozen W and b."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                lora_a: torch.Tensor, lora_b: torch.Tensor, scaling: float,
                p: float) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        ctx.adapter_dtype = lora_a.dtype
        lora_a, lora_b = lora_a.to(flat.dtype), lora_b.to(flat.dtype)
        out = F.linear(flat, weight, bias)
        mask, keep = None, 1.0
        if p > 0:
            mask, keep = _dropout_mask(flat, p)
            low = (flat * mask) @ lora_a.t()
            if keep > 0:
                low.mul_(1 / keep)  # all dropped (p = 1): the mask already made low zero
        else:
            low = flat @ lora_a.t()
        out.addmm_(low, lora_b.t(), alpha=scaling)
        ctx.save_for_backward(flat, weight, lora_a, lora_b, low, mask)
        ctx.scaling, ctx.keep, ctx.shape = scaling, keep, x.shape
        return out.view(*x.shape[:-1], out.shape[-1])

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor):
        flat, weight, lora_a, lora_b, low, mask = ctx.saved_tensors
        grad = grad_out.reshape(-1, grad_out.shape[-1])
        grad_low = (grad @ lora_b).mul_(ctx.scaling)
        grad_b = (grad.t() @ low).mul_(ctx.scaling) if ctx.needs_input_grad[4] else None
        keep = 1.0 / ctx.keep if ctx.keep > 0 else 0.0
        if mask is not None:
            dropped = flat * mask
            grad_a = (grad_low.t() @ dropped).mul_(keep) if ctx.needs_input_grad[3] else None
        else:
            grad_a = grad_low.t() @ flat if ctx.needs_input_grad[3] else None
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = grad @ weight
            if mask is not None:
                grad_x.add_((grad_low @ lora_a).mul_(mask), alpha=keep)
            else:
                grad_x.addmm_(grad_low, lora_a)
            grad_x = grad_x.view(ctx.shape)
        grad_a, grad_b = (g if g is None else g.to(ctx.adapter_dtype) for g in (grad_a, grad_b))
        return grad_x, None, None, grad_a, grad_b, None, None


def is_zero3_partitioned(param: torch.Tensor) -> bool:
    """True for a parameter that DeepSpeed ZeRO-3 manages (it tags them with ``ds_id``)."""
    return hasattr(param, 'ds_id')


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
        if is_zero3_partitioned(base.weight):
            log_once('fused LoRA: the base weights are partitioned by DeepSpeed ZeRO-3; '
                     "using peft's LoRA layer, which lets ZeRO-3 gather them")
            return None
        if self.lora_B[name].bias is not None or torch.is_autocast_enabled(x.device.type):
            return None
        if x.dtype != base.weight.dtype or self.lora_A[name].weight.dtype not in (
                x.dtype, torch.float32):
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
    register_custom_lora_module(lora_config, {torch.nn.Linear: FusedLoraLinear})
    return lora_config
