"""What the online-RL loop needs to run on several processes (DDP, DeepSpeed ZeRO-2/3).

Each rank generates for its own prompts (the sampler shards them; a prompt's whole group stays
on one rank, so rewards and advantages need no communication). What crosses ranks:

- the gradients, through the wrapper: the policy-loss forward is called on ``runner.model``
  (DDP's ``forward``, DeepSpeed's engine), never on the unwrapped module;
  :func:`accumulation` keeps DDP from reducing before an update's last micro-batch and tells
  DeepSpeed where the update ends;
- under ZeRO-3 the parameters are partitioned: :func:`whole_parameters` gathers them once for
  a rollout (generation, old and reference log-probs) instead of once per generated token;
- DAPO's divisor, the completion tokens of the whole generation batch of all ranks
  (:func:`global_token_count`);
- the logged metrics (:func:`combine_metrics`: mean over ranks, max of maxima, sum of
  throughputs), the sampled completions and the sampling generators' states (gathered, so
  rank 0's checkpoint holds every rank's and ``--resume auto`` stays exact).
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

import torch
import torch.distributed as dist

# mmengine's own: (rank, world size), and every rank's value on every rank; (0, 1) and
# [value] without a process group.
from mmengine.dist import all_gather_object as gather_objects  # noqa: F401 (re-exported)
from mmengine.dist import get_dist_info as rank_and_world

from .hooks.ema_hook import gathered


def combine_metrics(per_rank: Sequence[dict[str, float]]) -> dict[str, float]:
    """One rank's logged metrics from every rank's: the mean over the ranks that have a key,
    except maxima (``.../max_length``, ``.../abs_max``: the max) and throughputs
    (``..._per_s``: the sum, the run's tokens per second). A ``std`` is the mean of the
    ranks' stds (every rank scores the same number of completions)."""
    keys = dict.fromkeys(k for metrics in per_rank for k in metrics)
    out = {}
    for key in keys:
        values = [float(m[key]) for m in per_rank if key in m]
        if key.endswith('_per_s'):
            out[key] = sum(values)
        elif 'max' in key.rsplit('/', 1)[-1]:
            out[key] = max(values)
        else:
            out[key] = sum(values) / len(values)
    return out


def global_token_count(micro_batches: Sequence[dict]) -> None:
    """Set every micro-batch's ``num_items_in_batch`` (the completion tokens of this rank's
    generation batch) to the count of all ranks' batches, as DAPO divides by."""
    if rank_and_world()[1] == 1 or not micro_batches:
        return
    local = micro_batches[0].get('num_items_in_batch')
    if local is None:
        return
    total = torch.tensor(float(local), dtype=torch.float64)
    if dist.get_backend() == 'nccl':
        total = total.cuda()
    dist.all_reduce(total)
    for batch in micro_batches:
        batch['num_items_in_batch'] = int(total.item())


@contextlib.contextmanager
def whole_parameters(model: torch.nn.Module) -> Iterator[None]:
    """The whole weights of every parameter inside the block (read-only): a no-op unless
    DeepSpeed ZeRO-3 partitions them. One all-gather serves a whole rollout."""
    with gathered(list(model.parameters())):
        yield


def is_deepspeed(wrapped: Any) -> bool:
    """True for mmengine's wrapper of a DeepSpeed engine."""
    return hasattr(wrapped, 'set_gradient_accumulation_boundary')


@contextlib.contextmanager
def accumulation(wrapped: Any, last: bool) -> Iterator[None]:
    """One micro-batch's forward/backward of an update that ends at the ``last`` one.

    DDP reduces the gradients only at the last (``no_sync`` before); DeepSpeed is told whether
    this backward is the accumulation boundary, so one ``engine.step()`` after the last updates
    from all of them. One process: nothing to do.
    """
    if is_deepspeed(wrapped):
        wrapped.set_gradient_accumulation_boundary(last)
        yield
    elif not last and hasattr(wrapped, 'no_sync'):
        with wrapped.no_sync():
            yield
    else:
        yield
