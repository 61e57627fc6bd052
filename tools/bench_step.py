#!/usr/bin/env python
"""A/B of one change: two variants of the Alpaca LoRA recipe step in turn on the same batches.

Both models are built from the shipped recipe (the bench_train workload: SmolLM2-135M, LoRA
r64, 512-token packed rows of alpaca_5000.json) with their own ``--cfg-options``-style
overrides, then train alternately (A B, B A, ...) on the same batches, so machine noise hits
both alike. Prints seconds per step (mean and median after warm-up) and B's speed-up.

    python tools/bench_step.py "attn_implementation='sdpa'" "attn_implementation='sdpa_packed'"
    python tools/bench_step.py "use_gradient_checkpointing=True" "use_gradient_checkpointing=False"
    python tools/bench_step.py "lora_dropout=0.1" "lora_dropout=0.0" --profile 10

``--profile N`` then profiles one more step of each variant (torch.profiler, CPU) and prints
its top N ops by self CPU time, and the step's time by kind of op (matmul, attention, dropout
masks, loss, optimizer, copies, elementwise, other): where the time a matmul-bound MFU misses
goes.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / 'configs' / 'smollm2' / 'smollm2_135m_instruct_lora_alpaca.py'
DATA = ROOT.parent / 'shared' / 'data' / 'alpaca_5000.json'


def build_variant(overrides: list[str], data: str):
    """(model, optimizer, dataset) of the recipe with ``overrides`` applied."""
    import torch
    from mmengine.optim import build_optim_wrapper

    from xtuner_like.config import load_config, parse_options
    from xtuner_like.utils.build import build
    options = [f'data_files={data}', 'max_rows=2000', 'max_length=512',
               'pack_to_max_length=True', 'batch_size=1', 'accumulative_counts=1', *overrides]
    cfg = load_config(str(RECIPE), parse_options(options))
    dataset = build(cfg.train_dataloader['dataset'])
    torch.manual_seed(0)
    model = build(cfg.model).train()
    return model, build_optim_wrapper(model, cfg.optim_wrapper), dataset


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('a', help='overrides of variant A, space separated ("" for none)')
    p.add_argument('b', help='overrides of variant B')
    p.add_argument('--steps', type=int, default=12)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--data', default=str(DATA))
    p.add_argument('--profile', type=int, default=0, metavar='N',
                   help='print the top N ops (self CPU time) of one profiled step of each')
    args = p.parse_args()
    os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
    from xtuner_like.dataset import sft_collate_fn
    variants = [build_variant(v.split(), args.data) for v in (args.a, args.b)]
    dataset = variants[0][2]
    times: list[list[float]] = [[], []]
    for step in range(args.steps):
        batch = sft_collate_fn([dataset[step % len(dataset)]], packed=True)
        inputs = {k: batch[k] for k in ('input_ids', 'labels', 'position_ids')}
        for j in ((0, 1) if step % 2 == 0 else (1, 0)):
            model, wrapper, _ = variants[j]
            start = time.perf_counter()
            wrapper.update_params(model(**inputs)['loss'])
            times[j].append(time.perf_counter() - start)
    a, b = (t[args.warmup:] for t in times)
    for name, spec, t in (('A', args.a, a), ('B', args.b, b)):
        print(f'{name} {spec!r}: {statistics.mean(t):.3f} s/step '
              f'(median {statistics.median(t):.3f}, {len(t)} steps)')
    print(f'B is {statistics.mean(a) / statistics.mean(b):.2f}x as fast as A '
          f'(median {statistics.median(a) / statistics.median(b):.3f}x)')
    if args.profile:
        for name, spec, (model, wrapper, _) in zip('AB', (args.a, args.b), variants):
            print(f'\n{name} {spec!r}: top {args.profile} ops of one step, by self CPU time')
            print(profile_step(model, wrapper, inputs, args.profile))


# Where a step's time goes, by kind of op (the first pattern an op name contains wins).
KINDS = (('matmul', ('::mm', '::addmm', '::bmm', '::baddbmm', '::matmul', '::linear')),
         ('attention', ('scaled_dot_product', 'flash_attention')),
         ('dropout masks', ('::random_', '::bernoulli', '::ge')),
         ('loss (log-softmax, nll)', ('log_softmax', 'nll_loss', 'cross_entropy')),
         ('optimizer', ('adam', '_foreach')),
         ('copies and casts', ('::copy_', '::to', '::_to_copy', '::clone', '::contiguous')),
         ('elementwise (norm, activation, rope, scale, add)',
          ('::mul', '::add', '::div', '::silu', '::pow', '::rsqrt', '::mean', '::neg', '::cat',
           '::sub', '::fill_', '::sum', '::where', '::exp', '::sigmoid', '::masked', '::index',
           '::zero_', '::embedding')))


def by_kind(prof) -> str:
    """Self CPU time of one profiled step grouped by :data:`KINDS` (the rest: 'other')."""
    totals: dict[str, float] = {}
    for event in prof.key_averages():
        kind = next((k for k, pats in KINDS if any(p in event.key for p in pats)), 'other')
        totals[kind] = totals.get(kind, 0.0) + event.self_cpu_time_total
    whole = sum(totals.values()) or 1.0
    rows = sorted(totals.items(), key=lambda kv: -kv[1])
    return '\n'.join(f'  {k:<50} {v / 1e3:8.1f} ms  {v / whole:6.1%}' for k, v in rows)


def profile_step(model, wrapper, inputs: dict, top: int) -> str:
    """torch.profiler's table of one training step (the ``top`` ops by self CPU time) and
    the same time by kind of op."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        wrapper.update_params(model(**inputs)['loss'])
    return (prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=top)
            + '\nby kind of op (self CPU time):\n' + by_kind(prof))


if __name__ == '__main__':
    main()
