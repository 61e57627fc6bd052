"""Log-likelihood of continuations, in packed rows, each shared context run once.

Multiple-choice evaluation asks for ``log p(continuation | context)`` of several continuations
of one context. A causal LM's states over the context do not depend on what follows it, so
one *group* lays a context out once, followed by each of its continuations:

    tokens      c0 c1 c2 | a0 a1 | b0 b1 b2
    positions    0  1  2 |  3  4 |  3  4  5
    a1 sees     c0 c1 c2   a0 a1            (its context and itself, never b)

Groups are packed whole into rows of ``tokens_per_pass`` tokens (no padding), each with a
4-D mask that lets a token see the earlier tokens of its own group's context and of its own
continuation. The LM head runs only where a prediction is scored (the context's last token and
each continuation but its last token). So a model reads every context token once, however
many choices follow it, and never a padding token; the numbers equal a plain forward of
``context + continuation`` up to float rounding (tested).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Sequence

import torch

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


def _group_length(context: tuple[int, ...], continuations: list[tuple[int, ...]]) -> int:
    """Tokens a group feeds the model: the context, then each continuation but its last."""
    return len(context) + sum(len(c) - 1 for c in continuations)


@torch.no_grad()
def score_continuations(model: Any, requests: Sequence[Request], max_length: int,
                        tokens_per_pass: int = 1024) -> list[tuple[float, bool]]:
    """``(log p(continuation | context), continuation is the greedy one)`` per request.

    Args:
        model: a causal LM (eval mode is the caller's choice).
        requests: (context ids, continuation ids); a context must hold at least one token.
        max_length: the most tokens the model sees for one request; longer requests lose
            context on the left.
        tokens_per_pass: tokens packed into one forward pass (a larger group gets its own).
    """
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    cut = [truncate_left(ctx, cont, max_length) for ctx, cont in requests]
    for i, (ctx, _) in enumerate(cut):
        groups[ctx].append(i)
    results: list[tuple[float, bool] | None] = [None] * len(requests)
    row: list[tuple[int, ...]] = []
    used = 0
    # longest first, so groups of similar sizes share a row (best-fit is not worth it here)
    for ctx in sorted(groups, key=lambda c: -_group_length(c, [cut[i][1] for i in groups[c]])):
        size = _group_length(ctx, [cut[i][1] for i in groups[ctx]])
        if row and used + size > tokens_per_pass:
            _score_row(model, row, groups, cut, results)
            row, used = [], 0
        row.append(ctx)
        used += size
    if row:
        _score_row(model, row, groups, cut, results)
    return results  # type: ignore[return-value]


def _score_row(model: Any, contexts: list[tuple[int, ...]], groups: dict, cut: list,
               results: list) -> None:
    """One forward pass over the packed groups of ``contexts``; fills their requests' results."""
    device = next(model.parameters()).device
    ids, positions, owner, part = [], [], [], []      # owner: group index; part: 0 = context
    kept = []            # (request, [input index predicting each continuation token])
    for g, ctx in enumerate(contexts):
        start = len(ids)
        ids += ctx
        positions += range(len(ctx))
        owner += [g] * len(ctx)
        part += [0] * len(ctx)
        last_context = start + len(ctx) - 1
        for k, request in enumerate(groups[ctx], start=1):
            cont = cut[request][1]
            first = len(ids)
            ids += cont[:-1]
            positions += range(len(ctx), len(ctx) + len(cont) - 1)
            owner += [g] * (len(cont) - 1)
            part += [k] * (len(cont) - 1)
            kept.append((request, [last_context, *range(first, first + len(cont) - 1)]))
    n = len(ids)
    owner_t, part_t = torch.tensor(owner, device=device), torch.tensor(part, device=device)
    index = torch.arange(n, device=device)
    visible = ((owner_t[:, None] == owner_t[None, :]) & (index[None, :] <= index[:, None])
               & ((part_t[None, :] == 0) | (part_t[None, :] == part_t[:, None])))
    needed = sorted({i for _, where in kept for i in where})
    keep = torch.zeros(1, n, dtype=torch.bool, device=device)
    keep[0, needed] = True
    logits = model(input_ids=torch.tensor([ids], device=device),
                   attention_mask=visible[None, None],
                   position_ids=torch.tensor([positions], device=device),
                   use_cache=False, logits_to_keep=keep).logits
    logits = logits.reshape(-1, logits.shape[-1])     # one row per kept position, in order
    row_of = {pos: r for r, pos in enumerate(needed)}
    for request, where in kept:
        target = torch.tensor(cut[request][1], device=device)
        picked_logits = logits[[row_of[w] for w in where]].float()
        # log p = logit - logsumexp: no vocabulary-sized log-softmax copy is kept
        logp = picked_logits.gather(1, target[:, None]).squeeze(1) \
            - picked_logits.logsumexp(-1)
        greedy = bool((picked_logits.argmax(-1) == target).all())
        results[request] = (float(logp.double().sum()), greedy)
