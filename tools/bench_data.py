#!/usr/bin/env python
"""Speed of the SFT data pipeline on a 52,002-row Alpaca set, against a tokenize-only floor.

The 52,002 rows (the size of tatsu-lab/alpaca) are built by cycling the rows of
../shared/data/alpaca_5000.json, so the text is real Alpaca text, repeated ~10.4 times.

For num_proc 1 and 2, each in its own subprocess (clean peak RSS):
  pipeline cold   build_sft_dataset: load -> alpaca map_fn -> chatml + alpaca system
                  template -> tokenize -> labels -> pack to 512 -> save (empty cache)
  pipeline warm   the same call again: the cache reloads (memory mapped)
  floor           one batched datasets.map with the fast tokenizer and the same num_proc
                  over the same rendered text (rendered beforehand, untimed): no labels,
                  no packing, no saving

    python tools/bench_data.py                  # ~4 min on 2 idle cores (3 runs of each)
    python tools/bench_data.py --rows 10000 --repeat 1   # quicker

Writes ``<work-dir>/bench_data.json`` and ``bench_data.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / 'shared' / 'data' / 'alpaca_5000.json'
MODEL = 'HuggingFaceTB/SmolLM2-135M-Instruct'
MAX_LENGTH = 512


def peak_rss() -> int:
    """Peak RSS of this process or its largest worker process, in bytes."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) * 1024


def pipeline(data: Path, cache_dir: Path, num_proc: int) -> dict:
    from xtuner_like.dataset import build_sft_dataset
    from xtuner_like.model import load_tokenizer
    tokenizer = load_tokenizer(MODEL)
    start = time.perf_counter()
    ds = build_sft_dataset(tokenizer, data_files=str(data), dataset_map_fn='alpaca',
                           prompt_template='chatml', system='alpaca', max_length=MAX_LENGTH,
                           num_proc=num_proc, cache_dir=str(cache_dir))
    seconds = time.perf_counter() - start
    return {'seconds': seconds, 'rows': ds.stats['rows'], 'tokens': ds.stats['tokens'],
            'pack_efficiency': ds.stats.get('pack_efficiency')}


def rendered_texts(data: Path, tokenizer) -> list[str]:
    """Each row as the pipeline renders it (map_fn + template), joined into one text."""
    from xtuner_like.dataset.map_fns import get_map_fn
    from xtuner_like.dataset.template import template_map_fn
    map_fn = get_map_fn('alpaca')
    rows = json.loads(data.read_text())
    return [''.join(s['text'] for s in template_map_fn(map_fn(r), 'chatml', 'alpaca',
                                                         tokenizer.eos_token)['segments'])
            for r in rows]


def floor(data: Path, num_proc: int) -> dict:
    import datasets
    from xtuner_like.model import load_tokenizer
    tokenizer = load_tokenizer(MODEL)
    texts = datasets.Dataset.from_dict({'text': rendered_texts(data, tokenizer)})
    start = time.perf_counter()
    out = texts.map(lambda b: tokenizer(b['text'], add_special_tokens=False), batched=True,
                    num_proc=num_proc if num_proc > 1 else None, remove_columns=['text'],
                    load_from_cache_file=False)
    seconds = time.perf_counter() - start
    tokens = sum(len(ids) for ids in out['input_ids'])
    return {'seconds': seconds, 'rows': len(out), 'tokens': tokens, 'pack_efficiency': None}


def worker(args: argparse.Namespace) -> None:
    data, cache = Path(args.data_file), Path(args.cache_dir)
    result = (floor(data, args.num_proc) if args.worker == 'floor'
              else pipeline(data, cache, args.num_proc))
    result['peak_rss'] = peak_rss()
    Path(args.result).write_text(json.dumps(result))


def make_data(rows: int, work_dir: Path) -> Path:
    source = json.loads(SOURCE.read_text())
    data = [source[i % len(source)] for i in range(rows)]
    path = work_dir / f'alpaca_cycled_{rows}.json'
    path.write_text(json.dumps(data))
    return path


def driver(args: argparse.Namespace) -> None:
    work_dir = Path(args.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    data = make_data(args.rows, work_dir)
    print(f'data: {args.rows} rows built by cycling the {SOURCE.name} rows ({data})', flush=True)
    rows = []
    for num_proc in args.num_proc:
        cache = work_dir / f'cache_np{num_proc}'
        for repeat in range(args.repeat):  # floor and pipeline alternate: noise hits both
            shutil.rmtree(cache, ignore_errors=True)
            for mode in ('floor', 'cold', 'warm'):
                out = work_dir / f'{mode}_np{num_proc}.json'
                cmd = [sys.executable, __file__, '--worker', mode, '--num-proc', str(num_proc),
                       '--data-file', str(data), '--cache-dir', str(cache), '--result', str(out)]
                with open(work_dir / f'{mode}_np{num_proc}.log', 'w') as log:
                    code = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
                if code:
                    raise SystemExit(f'{mode} num_proc={num_proc} failed; see {log.name}')
                rows.append({'mode': mode, 'num_proc': num_proc, 'repeat': repeat,
                             **json.loads(out.read_text())})
                print(f"  {mode:5} num_proc={num_proc} run {repeat + 1}: "
                      f"{rows[-1]['seconds']:.2f} s", flush=True)
    table = markdown(rows, args.rows)
    print(table)
    (work_dir / 'bench_data.md').write_text(table)
    (work_dir / 'bench_data.json').write_text(json.dumps(rows, indent=1))
    print(f'written: {work_dir / "bench_data.md"}, {work_dir / "bench_data.json"}')


def median_rows(rows: list[dict]) -> list[dict]:
    """One row per (mode, num_proc): the median seconds of its repeats, the largest RSS."""
    out = []
    for key in dict.fromkeys((r['mode'], r['num_proc']) for r in rows):
        runs = [r for r in rows if (r['mode'], r['num_proc']) == key]
        out.append({**runs[0], 'seconds': statistics.median(r['seconds'] for r in runs),
                    'peak_rss': max(r['peak_rss'] for r in runs), 'runs': len(runs)})
    return out


def markdown(rows: list[dict], n: int) -> str:
    rows = median_rows(rows)
    floors = {r['num_proc']: r['seconds'] for r in rows if r['mode'] == 'floor'}
    names = {'floor': 'floor: batched tokenize only', 'cold': 'pipeline, cold cache',
             'warm': 'pipeline, warm cache (reload)'}
    lines = [f'{n} Alpaca rows (alpaca_5000.json cycled), max_length {MAX_LENGTH}, packed; '
             f'median of {rows[0]["runs"]} runs each', '',
             '| run | num_proc | seconds | rows/s | tokens/s | ÷ floor | peak RSS (GiB) | '
             'pack efficiency |', '|---|---|---|---|---|---|---|---|']
    for r in rows:
        eff = f"{r['pack_efficiency']:.1%}" if r['pack_efficiency'] else '–'
        lines.append(f"| {names[r['mode']]} | {r['num_proc']} | {r['seconds']:.2f} | "
                     f"{r['rows'] / r['seconds']:,.0f} | {r['tokens'] / r['seconds']:,.0f} | "
                     f"{r['seconds'] / floors[r['num_proc']]:.2f} | "
                     f"{r['peak_rss'] / 2 ** 30:.2f} | {eff} |")
    return '\n'.join(lines) + '\n'


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--rows', type=int, default=52002, help='rows to build by cycling')
    p.add_argument('--num-proc', type=int, nargs='+', default=[1, 2])
    p.add_argument('--repeat', type=int, default=3,
                   help='runs of each (floor, pipeline) pair; the table shows medians')
    p.add_argument('--work-dir', default=str(ROOT / 'work_dirs' / 'bench_data'))
    p.add_argument('--worker', choices=['floor', 'cold', 'warm'], help=argparse.SUPPRESS)
    p.add_argument('--data-file', help=argparse.SUPPRESS)
    p.add_argument('--cache-dir', help=argparse.SUPPRESS)
    p.add_argument('--result', help=argparse.SUPPRESS)
    args = p.parse_args()
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    os.environ.setdefault('HF_DATASETS_OFFLINE', '1')
    os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
    if args.worker:
        args.num_proc = args.num_proc[0]
        worker(args)
    else:
        driver(args)


if __name__ == '__main__':
    main()
