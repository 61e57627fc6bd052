"""Training FLOPs of a decoder LM and the matmul peak they are compared against (MFU).

Per token, a frozen weight costs 2 FLOPs per parameter forward and 2 for the input gradient
in backward (no weight gradient): 4N. A trained weight also needs its weight gradient: 6N.
Attention adds, per layer and per causal (query, key) pair inside one sample, 2·d for
QK^T and 2·d for AV forward, twice that backward: 12·d, d = heads x head_dim. Pairs are
counted within each sample only: packed samples do not attend to each other. The LM head
counts only at positions that have a loss: logits elsewhere are work the objective does not
need, so computing them (as the Hugging Face path does) earns no FLOPs.
"""
from __future__ import annotations

import time

import torch


def matmul_params(model: torch.nn.Module) -> dict[str, int]:
    """Parameters of the matmuls a token goes through: ``{'frozen', 'trainable', 'head'}``.

    Every ``nn.Linear`` weight of the decoder counts (LoRA's A and B as trainable); the LM
    head apart (``head``). An input embedding is a lookup, not a matmul.
    """
    head = getattr(model, 'get_output_embeddings', lambda: None)()
    head_weight = getattr(head, 'weight', None)
    counts = {'frozen': 0, 'trainable': 0,
              'head': head_weight.numel() if head_weight is not None else 0}
    seen = {id(head_weight)}
    for module in model.modules():
        weight = getattr(module, 'weight', None)
        if not isinstance(module, torch.nn.Linear) or id(weight) in seen:
            continue
        seen.add(id(weight))
        counts['trainable' if weight.requires_grad else 'frozen'] += weight.numel()
    return counts


def training_flops(tokens: int, loss_tokens: int, squared_lengths: int, frozen: int,
                   trainable: int, head: int, layers: int, attn_width: int) -> float:
    """FLOPs of one training pass over ``tokens`` tokens.

    Args:
        tokens: real (non-padding) tokens.
        loss_tokens: tokens with a loss (the LM head counts only there; it is frozen).
        squared_lengths: sum over samples of length**2 (with ``tokens`` it gives the
            causal pairs, ``(sum L**2 + sum L) / 2``).
        frozen: frozen matmul parameters (4 FLOPs per token each).
        trainable: trained matmul parameters (6 FLOPs per token each).
        head: LM head parameters.
        layers: decoder layers.
        attn_width: heads x head_dim of the queries.
    """
    pairs = (squared_lengths + tokens) / 2
    return (4.0 * frozen * tokens + 6.0 * trainable * tokens + 4.0 * head * loss_tokens
            + 12.0 * layers * attn_width * pairs)


def matmul_peak(size: int = 2048, seconds: float = 2.0, dtype: torch.dtype = torch.float32,
                device: str = 'cpu') -> float:
    """Best FLOP/s of a ``size`` x ``size`` matmul, repeated for about ``seconds``."""
    a = torch.randn(size, size, dtype=dtype, device=device)
    b = torch.randn(size, size, dtype=dtype, device=device)
    out = torch.empty(size, size, dtype=dtype, device=device)
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    torch.mm(a, b, out=out)  # warm-up
    sync()
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        sync()
        best = max(best, 2.0 * size ** 3 / (time.perf_counter() - start))
    return best
