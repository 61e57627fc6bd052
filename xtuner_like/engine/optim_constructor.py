"""FusedOptimWrapperConstructor: mmengine's constructor, with torch's fused Adam(W) kernel."""
from __future__ import annotations

import torch
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from mmengine.registry import OPTIMIZERS

from ..model.base import unwrap_model

_FUSABLE = (torch.optim.AdamW, torch.optim.Adam)


class FusedOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Builds the optimizer as mmengine does, asking for ``fused=True`` when it can.

    torch's Adam(W) uses its fused kernel only on request, and on the CPU its default is the
    per-tensor loop (no ``foreach``): 64 ms against 12 ms per step for SmolLM2's 420 LoRA
    tensors here. The config's own ``fused``/``foreach`` choice is kept, other optimizers
    (e.g. bitsandbytes' PagedAdamW) are built unchanged, and so is any model whose trained
    weights are not all floating point on the CPU or CUDA.
    """

    def __call__(self, model: torch.nn.Module) -> OptimWrapper:
        cfg = self.optimizer_cfg
        cls = cfg['type']
        if isinstance(cls, str):
            with OPTIMIZERS.switch_scope_and_registry(None) as registry:
                cls = registry.get(cls)
        trained = [p for p in unwrap_model(model).parameters() if p.requires_grad]
        if (cls in _FUSABLE and 'fused' not in cfg and 'foreach' not in cfg and trained
                and all(p.is_floating_point() and p.device.type in ('cpu', 'cuda')
                        for p in trained)):
            self.optimizer_cfg = {**cfg, 'fused': True}
        try:
            return super().__call__(model)
        finally:
            self.optimizer_cfg = cfg
