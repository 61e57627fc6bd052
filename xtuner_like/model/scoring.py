"""Log-likelihood of continuations, each shared context run once.

Multiple-choice evaluation asks for ``log p(continuation | context)`` of several continuations
of one context. A causal LM's states over the context do not depend on what follows it, so
the context is run once with a KV cache and only the continuations are run after it, as one
right-padded batch (right padding needs no mask: a causal token never sees what comes after
it). Contexts of one batch are right-padded too, and their caches are sliced per context.
The numbers equal a full forward of ``context + continuation`` up to float rounding.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Sequence

import torch

from .kv_cache import cache_of, with_cache

Request = tuple[Sequence[int], Sequence[int]]   # (context ids, continuation ids)


def truncate_left(context: Sequence[int], continuation: Sequence[int],
                  max_length: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Drop context tokens from the left so that the model sees at most ``max_length`` tokens
    (the last continuation token is predicted, never input), as lm-eval's ``hf`` backend does."""
    over = len(context) + len(continuation) - 1 - max_length
    if over > 0:
        context = context[over:]
    if not context:
        raise ValueError(f'a continuation of {len(continuation)} tokens does not fit in '
                         f'max_length={max_length}')
    return tuple(context), tuple(continuation)


@torch.no_grad()
def score_continuations(model: Any, requests: Sequence[Request], max_length: int,
                        batch_size: int = 8) -> list[tuple[float, bool]]:
    """``(log p(continuation | context), continuation is the greedy one)`` per request.

    Args:
        model: a causal LM (eval mode is the caller's choice).
        requests: (context ids, continuation ids); a context must hold at least one token.
        max_length: the most tokens the model sees; longer requests lose context on the left.
        batch_size: contexts per forward pass (their continuations follow in one more pass).
    """
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    cut = [truncate_left(ctx, cont, max_length) for ctx, cont in requests]
    for i, (ctx, _) in enumerate(cut):
        groups[ctx].append(i)
    # longest first: the slowest batches run first and similar lengths share a batch
    contexts = sorted(groups, key=len, reverse=True)
    results: list[tuple[float, bool] | None] = [None] * len(requests)
    device = next(model.parameters()).device
    for start in range(0, len(contexts), batch_size):
        batch = contexts[start:start + batch_size]
        members = [(c, i) for c, ctx in enumerate(batch) for i in groups[ctx]]
        _score_batch(model, batch, [(c, cut[i][1]) for c, i in members], device,
                     out=results, where=[i for _, i in members])
    return results  # type: ignore[return-value]


def _score_batch(model: Any, contexts: list[tuple[int, ...]],
                 continuations: list[tuple[int, tuple[int, ...]]], device: torch.device,
                 out: list, where: list[int]) -> None:
    """Score ``continuations`` ((index of its context, ids)) of one batch of ``contexts``."""
    lengths = torch.tensor([len(c) for c in contexts], device=device)
    width = int(lengths.max())
    ids = torch.zeros(len(contexts), width, dtype=torch.long, device=device)
    for row, ctx in enumerate(contexts):
        ids[row, :len(ctx)] = torch.tensor(ctx, device=device)
    longest = max(len(cont) for _, cont in continuations)
    need_cache = longest > 1
    mask = (torch.arange(width, device=device)[None] < lengths[:, None]).long()
    # the LM head runs only where a context ends (the whole-vocabulary logits of every
    # position would be batch x width x vocab floats)
    first = model(input_ids=ids, attention_mask=mask, use_cache=need_cache,
                  logits_to_keep=(lengths - 1)[:, None])
    last = first.logits[:, 0]
    first_logp = torch.log_softmax(last.float(), dim=-1)          # predicts token 0
    rest_logp = None
    if need_cache:
        rows = torch.tensor([c for c, _ in continuations], device=device)
        cont_ids = torch.zeros(len(continuations), longest - 1, dtype=torch.long, device=device)
        for r, (_, cont) in enumerate(continuations):
            cont_ids[r, :len(cont) - 1] = torch.tensor(cont[:-1], device=device)
        past_mask = mask.index_select(0, rows)
        new_mask = torch.ones_like(cont_ids)
        positions = lengths.index_select(0, rows)[:, None] + torch.arange(longest - 1,
                                                                          device=device)
        cache = cache_of(first)
        cache.reorder_cache(rows)          # one cache row per continuation (rows repeat)
        second = model(input_ids=cont_ids, **with_cache(model, cache),
                       attention_mask=torch.cat([past_mask, new_mask], dim=1),
                       position_ids=positions, use_cache=False)
        rest_logp = torch.log_softmax(second.logits.float(), dim=-1)
    for r, ((c, cont), index) in enumerate(zip(continuations, where)):
        target = torch.tensor(cont, device=device)
        logp = first_logp[c:c + 1]
        if len(cont) > 1:
            logp = torch.cat([logp, rest_logp[r, :len(cont) - 1]])
        picked = logp.gather(1, target[:, None]).squeeze(1)
        greedy = bool((logp.argmax(-1) == target).all())
        out[index] = (float(picked.double().sum()), greedy)
