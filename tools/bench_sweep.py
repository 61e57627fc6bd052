"""How training cost grows: `bench_train.py --sweep` (xtuner_packed vs hf_flat).

Two sweeps, each point in fresh subprocesses through bench_train.py's workers:
  lengths  SmolLM2-135M-Instruct at max_length 512 ... 4096 (--lengths); hf_flat's batch
           grows with the length (4 rows at 512) so both train about as many tokens per step
  sizes    randomly initialised Llama-shaped models at 512 tokens (--sizes, SIZES below);
           '135m' is the length sweep's 512-token point (same shape, weights do not change
           the speed)
Per row: tokens/s, peak RSS, MFU, xtuner_packed ÷ hf_flat, and for xtuner_packed the memory
estimate the run logged at start (model/memory.py, the interpreter and libraries included)
against its measured peak RSS. ``--dtype bf16`` runs the pair in bf16 (xtuner_packed_bf16 vs
hf_flat_bf16; MFU against the bf16 matmul peak).

    python tools/bench_train.py --sweep --steps 6 --warmup 2
    python tools/bench_train.py --sweep --steps 6 --warmup 2 --dtype bf16
"""
from __future__ import annotations

import argparse
import json
import re
from copy import copy
from pathlib import Path

SIZES = {  # SmolLM2's shapes (vocabulary 49152, tied embeddings); '1b': SmolLM2-1.7B's width
    '135m': dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                 num_attention_heads=9, num_key_value_heads=3),
    '360m': dict(hidden_size=960, intermediate_size=2560, num_hidden_layers=32,
                 num_attention_heads=15, num_key_value_heads=5),
    '1b': dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=14,   # 1.04B
               num_attention_heads=32, num_key_value_heads=32),
}
PAIRS = {'fp32': ('xtuner_packed', 'hf_flat'), 'bf16': ('xtuner_packed_bf16', 'hf_flat_bf16')}
_ESTIMATE = re.compile(r'memory estimate: peak ([\d.]+) GiB')


def random_model(size: str, folder: Path, tokenizer_from: Path) -> Path:
    """A randomly initialised Llama of ``size`` with SmolLM2's tokenizer, saved once."""
    if (folder / 'config.json').is_file():
        return folder
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=49152, tie_word_embeddings=True,
                         max_position_embeddings=8192, **SIZES[size])
    LlamaForCausalLM(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(tokenizer_from).save_pretrained(folder)
    return folder


def logged_estimate(log: Path) -> float | None:
    """The GiB total of the estimate an xtuner_like run logged (None if absent)."""
    found = _ESTIMATE.search(log.read_text(errors='replace')) if log.is_file() else None
    return float(found.group(1)) if found else None


def run_point(args: argparse.Namespace, label: str, work_dir: Path) -> list[dict]:
    """The xtuner / HF pair of ``args.dtype`` at one (model, length) point."""
    import torch
    from bench_train import model_shape, prepare, run_configs, summarize

    from xtuner_like.utils.flops import matmul_peak
    work_dir.mkdir(parents=True, exist_ok=True)
    prepare(args)
    shape = model_shape(args)
    results = run_configs(args, list(PAIRS[args.dtype]), work_dir)
    peak = matmul_peak(dtype=torch.bfloat16 if args.dtype == 'bf16' else torch.float32)
    rows = []
    for name, (result, launch) in results.items():
        row = summarize(name, result, launch, args, shape, peak)
        row.update(model=label, max_length=args.max_length,
                   estimate_gib=logged_estimate(work_dir / f'{name}.log'))
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    lines = ['| model | max_length | config | tokens/s | peak RSS (GiB) | MFU | xtuner ÷ HF '
             '| logged estimate (GiB) | peak RSS ÷ estimate |', '|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        pair = [x for x in rows if (x['model'], x['max_length']) == (r['model'], r['max_length'])]
        ratio = (f"{pair[0]['tokens_per_s'] / pair[1]['tokens_per_s']:.2f}×"
                 if len(pair) == 2 and r is pair[0] else '')
        est = r.get('estimate_gib')
        versus = (f"{est:.2f} | {r['peak_rss_gib'] / est:.2f}" if est else ' | ')
        lines.append(f"| {r['model']} | {r['max_length']} | {r['config']} | "
                     f"{r['tokens_per_s']:.0f} | {r['peak_rss_gib']:.2f} | {r['mfu']:.0%} | {ratio} "
                     f"| {versus} |")
    return '\n'.join(lines) + '\n'


def sweep(args: argparse.Namespace) -> None:
    from xtuner_like.config import load_config
    from xtuner_like.model.resolve import resolve_model_path
    from bench_train import RECIPES
    root = Path(args.work_dir) / ('sweep' if args.dtype == 'fp32' else f'sweep_{args.dtype}')
    rows: list[dict] = []
    for length in args.lengths:
        point = copy(args)
        point.max_length = length
        label = Path(args.model).name if args.model else '135m (SmolLM2)'
        rows += run_point(point, label, root / f'135m_{length}')
        print(table(rows), flush=True)
    for size in (s for s in args.sizes if s != '135m'):
        recipe_model = resolve_model_path(
            load_config(RECIPES['lora']).pretrained_model_name_or_path)
        point = copy(args)
        point.max_length = 512
        point.model = str(random_model(size, root / f'random_{size}', recipe_model))
        rows += run_point(point, f'{size} (random)', root / f'{size}_512')
        print(table(rows), flush=True)
    (root / 'sweep.md').write_text(table(rows))
    (root / 'sweep.json').write_text(json.dumps(rows, indent=1))
    print(f'written: {root / "sweep.md"}, {root / "sweep.json"}')
