#!/usr/bin/env python
"""Training speed of xtuner_like against Hugging Face Trainer + peft, in one run.

Workload (issue 5): SmolLM2-135M-Instruct, LoRA r=64 alpha=16 on all linear layers
(lora_dropout as the recipe), the first 2,000 rows of alpaca_5000.json with the alpaca
system template, max_length 512, fp32 on the CPU (the _bf16 rows: bf16 weights),
``--steps`` optimizer steps (default 30) of which the first ``--warmup`` (3) are not timed,
seed 0.

Every configuration runs in its own subprocess (clean peak RSS and start-up time):
  xtuner_packed    `xtuner-like train` on the shipped recipe (cli.main in-process), packed rows
  xtuner_padded    the same, unpacked, batch 4 padded to the longest
  xtuner_qlora     the QLoRA recipe (4-bit base), packed — for its peak RSS
  hf_pad[_gc]      Trainer + peft, DataCollatorForSeq2Seq padding to the longest, batch 4
  hf_flat[_gc]     Trainer + peft, DataCollatorWithFlattening, batch 4
  xtuner_packed_bf16, hf_flat_bf16   the same in bf16 (bf16 base weights, fp32 adapters;
                   HF: Trainer(bf16=True)), for CPUs with AMX or GPUs
(_gc: gradient checkpointing on). The baselines train on the very token ids xtuner_like's
pipeline produced. A fp32 2048x2048 matmul peak is measured before and after the runs.

    python tools/bench_train.py                       # everything (~10 min on 2 idle cores)
    python tools/bench_train.py --steps 8 --warmup 2  # quick look
    python tools/bench_train.py --configs xtuner_packed hf_flat
    python tools/bench_train.py --configs xtuner_packed hf_flat --steps 8 --profile 20

``--profile N`` runs the timed steps under ``torch.profiler`` and writes each configuration's
top N operators by self CPU time to ``<work-dir>/<config>_profile.txt`` (profiling slows the
steps; its tokens/s are not comparable with an unprofiled run).

Writes ``<work-dir>/bench_train.json`` and ``bench_train.md``. Compare numbers only within one
run: absolute speed differs between machines, and other processes on a shared machine slow
every configuration differently.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / 'shared' / 'data' / 'alpaca_5000.json'
RECIPES = {'lora': 'configs/smollm2/smollm2_135m_instruct_lora_alpaca.py',
           'qlora': 'configs/smollm2/smollm2_135m_instruct_qlora_alpaca.py'}
CONFIGS = {
    'xtuner_packed': dict(kind='xtuner', packed=True, batch=1, recipe='lora'),
    'xtuner_padded': dict(kind='xtuner', packed=False, batch=4, recipe='lora'),
    'hf_pad_gc': dict(kind='hf', collator='pad', gc=True),
    'hf_pad': dict(kind='hf', collator='pad', gc=False),
    'hf_flat_gc': dict(kind='hf', collator='flat', gc=True),
    'hf_flat': dict(kind='hf', collator='flat', gc=False),
    'xtuner_qlora': dict(kind='xtuner', packed=True, batch=1, recipe='qlora'),
    'xtuner_packed_bf16': dict(kind='xtuner', packed=True, batch=1, recipe='lora', dtype='bf16'),
    'hf_flat_bf16': dict(kind='hf', collator='flat', gc=False, dtype='bf16'),
}
BASELINES = ('hf_pad_gc', 'hf_pad', 'hf_flat_gc', 'hf_flat', 'hf_flat_bf16')


def recipe_options(args: argparse.Namespace, packed: bool, batch: int,
                   dtype: str = 'fp32') -> list[str]:
    """--cfg-options that turn the shipped recipe into the benchmark workload."""
    model = [f'pretrained_model_name_or_path={args.model}'] if args.model else []
    return [*model, f"dtype='{dtype}'", f'data_files={args.data}', f'max_rows={args.rows}',
            f'max_length={args.max_length}',
            f'pack_to_max_length={packed}', f'batch_size={batch}', 'accumulative_counts=1',
            f"train_cfg={{'max_epochs': None, 'max_iters': {args.steps}}}",
            'evaluation_inputs=[]', 'export_hf=False', f'save_steps={10 ** 9}',
            'default_hooks.checkpoint.save_last=False', 'log_interval=5']


# --------------------------------------------------------------------------- workers
class StepProfiler:
    """torch.profiler over the steps after warm-up; ``step()`` is called at each step's end."""

    def __init__(self, args: argparse.Namespace, out: Path):
        import torch
        self.rows, self.path = args.profile, out.parent / f'{args.worker}_profile.txt'
        self.prof = None
        if self.rows:
            self.prof = torch.profiler.profile(
                activities=[torch.profiler.ProfilerActivity.CPU],
                schedule=torch.profiler.schedule(wait=args.warmup, warmup=0,
                                                 active=args.steps - args.warmup),
                on_trace_ready=self.write)
            self.prof.start()

    def step(self) -> None:
        if self.prof is not None:
            self.prof.step()

    def write(self, prof) -> None:
        self.path.write_text(prof.key_averages().table(sort_by='self_cpu_time_total',
                                                       row_limit=self.rows, max_name_column_width=60))

    def stop(self) -> None:
        if self.prof is not None:
            self.prof.stop()


def run_xtuner(args: argparse.Namespace, spec: dict, out: Path) -> dict:
    """`xtuner-like train` in this process; per-step times come from ThroughputHook."""
    from xtuner_like.cli.main import main
    from xtuner_like.engine.hooks import ThroughputHook
    work_dir = out.parent / f'{args.worker}_run'
    argv = ['train', RECIPES[spec['recipe']], '--work-dir', str(work_dir), '--seed', '0',
            '--cfg-options', *recipe_options(args, spec['packed'], spec['batch'],
                                              spec.get('dtype', 'fp32'))]
    profiler = StepProfiler(args, out)
    record_step = ThroughputHook.after_train_iter

    def after_train_iter(self, *a, **kw):
        record_step(self, *a, **kw)
        profiler.step()

    ThroughputHook.after_train_iter = after_train_iter
    if main(argv) != 0:
        raise SystemExit(f'xtuner-like train failed: {argv}')
    profiler.stop()
    record = max(work_dir.glob('*/throughput.json'), key=lambda p: p.stat().st_mtime)
    return {'steps': json.loads(record.read_text())['iterations']}


def run_hf(args: argparse.Namespace, spec: dict, out: Path) -> dict:
    """Trainer + peft on the token ids of xtuner_like's (unpacked) pipeline."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import (AutoModelForCausalLM, DataCollatorForSeq2Seq,
                              DataCollatorWithFlattening, Trainer, TrainerCallback,
                              TrainingArguments)

    from xtuner_like.config import load_config
    from xtuner_like.engine.hooks.throughput_hook import batch_counts, sample_lengths
    from xtuner_like.model.resolve import resolve_model_path
    from xtuner_like.utils.build import build

    cfg = load_config(RECIPES['lora'], parse(recipe_options(args, False, hf_batch(args))))
    dataset = build(cfg.train_dataloader['dataset'])
    rows = [{'input_ids': dataset[i]['input_ids'].tolist(),
             'labels': dataset[i]['labels'].tolist()} for i in range(len(dataset))]
    tokenizer = dataset.tokenizer
    path = args.model or resolve_model_path(cfg.pretrained_model_name_or_path)
    bf16 = spec.get('dtype') == 'bf16'  # as an HF user does: bf16 weights, Trainer(bf16=True)
    model = AutoModelForCausalLM.from_pretrained(path, attn_implementation='sdpa',
                                                 dtype=torch.bfloat16 if bf16 else torch.float32)
    model = get_peft_model(model, LoraConfig(
        r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
        target_modules='all-linear', bias='none', task_type='CAUSAL_LM'))
    inner = (DataCollatorForSeq2Seq(tokenizer, padding='longest', label_pad_token_id=-100)
             if spec['collator'] == 'pad' else DataCollatorWithFlattening())
    counts: list[dict] = []

    def collate(features):
        batch = inner(features)
        real, trained, _ = batch_counts(batch)
        counts.append({'real': real, 'trained': trained, 'slots': int(batch['labels'].numel()),
                       'squares': sum(n * n for n in sample_lengths(batch))})
        return batch

    ends: list[float] = []
    profiler = StepProfiler(args, out)

    class StepTimes(TrainerCallback):
        def on_step_end(self, *_, **__):
            ends.append(time.time())
            profiler.step()

    targs = TrainingArguments(
        output_dir=str(out.parent / f'{args.worker}_run'),
        per_device_train_batch_size=hf_batch(args),
        max_steps=args.steps, learning_rate=cfg.lr, weight_decay=0.0, max_grad_norm=1.0,
        lr_scheduler_type='cosine', warmup_steps=1, seed=0, logging_steps=10 ** 6,
        save_strategy='no', report_to=[], use_cpu=True, dataloader_num_workers=0,
        remove_unused_columns=False, disable_tqdm=True, gradient_checkpointing=spec['gc'],
        bf16=bf16,
        gradient_checkpointing_kwargs={'use_reentrant': False})
    Trainer(model=model, args=targs, train_dataset=rows, data_collator=collate,
            callbacks=[StepTimes()]).train()
    profiler.stop()
    return {'steps': [{**c, 'end': e} for c, e in zip(counts, ends)]}


def parse(options: list[str]) -> dict:
    from xtuner_like.config import parse_options
    return parse_options(options)


def worker(args: argparse.Namespace) -> None:
    out = Path(args.result)
    spec = CONFIGS[args.worker]
    result = (run_xtuner if spec['kind'] == 'xtuner' else run_hf)(args, spec, out)
    result['peak_rss'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out.write_text(json.dumps(result))


# --------------------------------------------------------------------------- driver
def model_shape(args: argparse.Namespace) -> dict:
    """Matmul parameters (frozen, LoRA) and attention sizes, from a meta-device model."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM

    from xtuner_like.config import load_config
    from xtuner_like.model.resolve import resolve_model_path
    from xtuner_like.utils.flops import matmul_params

    cfg = load_config(RECIPES['lora'], parse(recipe_options(args, True, 1)))
    config = AutoConfig.from_pretrained(args.model or
                                        resolve_model_path(cfg.pretrained_model_name_or_path))
    with torch.device('meta'):
        model = AutoModelForCausalLM.from_config(config)
    model = get_peft_model(model, LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha,
                                             target_modules='all-linear'))
    head_dim = getattr(config, 'head_dim', None) or config.hidden_size // config.num_attention_heads
    return {**matmul_params(model), 'layers': config.num_hidden_layers,
            'attn_width': config.num_attention_heads * head_dim}


def summarize(name: str, result: dict, launch: float, args: argparse.Namespace,
              shape: dict, peak: float) -> dict:
    from xtuner_like.utils.flops import training_flops
    steps = result['steps']
    if len(steps) <= args.warmup:
        raise SystemExit(f'{name}: only {len(steps)} steps recorded')
    timed = steps[args.warmup:]
    seconds = steps[-1]['end'] - steps[args.warmup - 1]['end'] if args.warmup else None
    real = sum(s['real'] for s in timed)
    trained = sum(s['trained'] for s in timed)
    flops = sum(training_flops(s['real'], s['trained'], s['squares'], **shape) for s in timed)
    return {'config': name, 'tokens_per_s': real / seconds, 'loss_tokens_per_s': trained / seconds,
            'first_step_s': steps[0]['end'] - launch, 'peak_rss_gib': result['peak_rss'] / 2 ** 30,
            'mfu': flops / seconds / peak, 'pad_fraction': 1 - real / sum(s['slots'] for s in timed),
            'steps': len(steps), 'timed_tokens': real}


def markdown(rows: list[dict], meta: dict) -> str:
    ref = {r['config']: r for r in rows}
    lines = [f"{meta['steps']} steps ({meta['warmup']} warm-up), matmul peak "
             f"{meta['peak_start'] / 1e9:.1f} / {meta['peak_end'] / 1e9:.1f} GFLOP/s fp32 "
             '(start/end)'
             + (f", {meta['peak_bf16'] / 1e9:.0f} bf16" if meta.get('peak_bf16') else '') + '; '
             f"torch threads {meta['threads']}, {meta['cpus']} CPUs", '',
             '| config | tokens/s | loss tokens/s | start → 1st step (s) | peak RSS (GiB) | '
             'MFU | padding | xtuner_packed ÷ this | xtuner_padded ÷ this | '
             'xtuner_packed_bf16 ÷ this |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        ratios = [f"{ref[x]['tokens_per_s'] / r['tokens_per_s']:.2f}×" if x in ref else '–'
                  for x in ('xtuner_packed', 'xtuner_padded', 'xtuner_packed_bf16')]
        lines.append(f"| {r['config']} | {r['tokens_per_s']:.0f} | {r['loss_tokens_per_s']:.0f} | "
                     f"{r['first_step_s']:.1f} | {r['peak_rss_gib']:.2f} | {r['mfu']:.0%} | "
                     f"{r['pad_fraction']:.0%} | {' | '.join(ratios)} |")
    return '\n'.join(lines) + '\n'


def hf_batch(args: argparse.Namespace) -> int:
    """Rows per unpacked batch: 4 at 512 tokens, scaled so a step holds as many tokens as
    one packed row of ``max_length``."""
    return max(1, round(4 * args.max_length / 512))


def prepare(args: argparse.Namespace) -> None:
    """Convert the model and build both dataset caches once, so no config pays for it."""
    from xtuner_like.config import load_config
    from xtuner_like.utils.build import build
    for packed, batch in ((True, 1), (False, hf_batch(args))):
        cfg = load_config(RECIPES['lora'], parse(recipe_options(args, packed, batch)))
        build(cfg.train_dataloader['dataset'])


def run_configs(args: argparse.Namespace, configs: list[str], work_dir: Path) -> dict:
    """Each configuration in its own subprocess: name -> (result, launch time)."""
    results = {}
    for name in configs:
        out = work_dir / f'{name}.json'
        out.unlink(missing_ok=True)
        cmd = [sys.executable, __file__, '--worker', name, '--result', str(out),
               '--steps', str(args.steps), '--warmup', str(args.warmup), '--rows', str(args.rows),
               '--data', str(args.data), '--profile', str(args.profile),
               '--max-length', str(args.max_length), *(['--model', args.model] if args.model else [])]
        print(f'--- {name}', flush=True)
        launch = time.time()
        with open(work_dir / f'{name}.log', 'w') as log:
            code = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        if code != 0 or not out.exists():
            print(f'{name} failed (exit {code}); see {work_dir / (name + ".log")}', flush=True)
            continue
        results[name] = (json.loads(out.read_text()), launch)
    return results


def bf16_peak(configs: list[str]) -> float | None:
    """The bf16 matmul peak when a bf16 configuration runs, else None."""
    import torch
    from xtuner_like.utils.flops import matmul_peak
    if not any(CONFIGS[n].get('dtype') == 'bf16' for n in configs):
        return None
    return matmul_peak(dtype=torch.bfloat16)


def driver(args: argparse.Namespace) -> None:
    import torch
    from xtuner_like.utils.flops import matmul_peak
    work_dir = Path(args.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    peak_start = matmul_peak()
    print(f'matmul peak (fp32 2048x2048): {peak_start / 1e9:.1f} GFLOP/s', flush=True)
    prepare(args)
    shape = model_shape(args)
    results = run_configs(args, args.configs, work_dir)
    peak_end = matmul_peak()
    # a bf16 row's MFU is against the bf16 peak (AMX on recent Xeons: several times fp32's)
    peaks = {'fp32': max(peak_start, peak_end), 'bf16': bf16_peak(args.configs)}
    rows = [summarize(n, r, t, args, shape, peaks[CONFIGS[n].get('dtype', 'fp32')])
            for n, (r, t) in results.items()]
    meta = {'steps': args.steps, 'warmup': args.warmup, 'peak_start': peak_start,
            'peak_end': peak_end, 'peak_bf16': peaks['bf16'], 'threads': torch.get_num_threads(),
            'cpus': os.cpu_count(), 'shape': shape, 'rows': args.rows, 'data': str(args.data)}
    table = markdown(rows, meta)
    print(table)
    (work_dir / 'bench_train.md').write_text(table)
    (work_dir / 'bench_train.json').write_text(json.dumps({'meta': meta, 'rows': rows}, indent=1))
    print(f'written: {work_dir / "bench_train.md"}, {work_dir / "bench_train.json"}')


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--steps', type=int, default=30, help='optimizer steps per config')
    p.add_argument('--warmup', type=int, default=3, help='first steps left out of the timing')
    p.add_argument('--rows', type=int, default=2000, help='first N rows of the data file')
    p.add_argument('--data', default=str(DATA), help='Alpaca-format json file')
    p.add_argument('--configs', nargs='+', default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument('--work-dir', default=str(ROOT / 'work_dirs' / 'bench_train'))
    p.add_argument('--profile', type=int, default=0, metavar='N',
                   help='profile the timed steps; write the top N operators per config')
    p.add_argument('--max-length', type=int, default=512, help='packed row length')
    p.add_argument('--model', help='model folder (default: the recipe\'s SmolLM2-135M)')
    p.add_argument('--sweep', action='store_true',
                   help='xtuner_packed vs hf_flat over --lengths and --sizes (tools/bench_sweep.py)')
    p.add_argument('--lengths', type=int, nargs='+', default=[512, 1024, 2048, 4096])
    p.add_argument('--sizes', nargs='+', default=['135m', '360m', '1b'],
                   help='random Llama-shaped models at 512 tokens (see bench_sweep.SIZES)')
    p.add_argument('--dtype', choices=['fp32', 'bf16'], default='fp32',
                   help='precision of the --sweep pair (bf16: xtuner_packed_bf16 vs hf_flat_bf16)')
    p.add_argument('--worker', choices=list(CONFIGS), help=argparse.SUPPRESS)
    p.add_argument('--result', help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.warmup < 1 or args.steps <= args.warmup:
        p.error('need 1 <= --warmup < --steps')
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    os.environ.setdefault('HF_DATASETS_OFFLINE', '1')
    os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
    args.data = str(Path(args.data).resolve())
    if args.worker:
        worker(args)
    elif args.sweep:
        from bench_sweep import sweep
        sweep(args)
    else:
        driver(args)


if __name__ == '__main__':
    main()
