#!/usr/bin/env python
"""Evaluation speed: our lm-eval backend against lm-eval's own `hf` backend, same tasks, one run.

Workload: SmolLM2-135M-Instruct (the embedded copy), fp32, raw-text prompts, two task files
built from Alpaca rows (``../shared/data/alpaca_en_demo.json``; generated rows without it):

- ``mc``: ``--mc-rows`` sentence completions in the shape of HellaSwag: the context is an
  instruction and the first part of its reply, the four choices are the rest of that reply
  (the last 10 words) and the endings of three other replies: log-likelihood requests, 4 per
  row, a long shared context and short continuations (as ARC, HellaSwag, PIQA, ...);
- ``gen``: ``--gen-rows`` QA rows (the instruction as question), ``--gen-tokens`` greedy new
  tokens at most, stopping at a blank line: generation requests.

Each (backend, batch size, task) runs in its own process (peak RSS is its own): lm-eval's
``hf`` backend at its default batch size (1) and at ``--batch-size``, and ours at
``--batch-size`` (for log-likelihoods ours packs ``--tokens-per-pass`` tokens a pass instead).
Prints a Markdown table: seconds of the harness call and, of those, seconds inside the
backend's request method (``loglikelihood`` / ``generate_until``: the rest, building the task
and scoring, is the harness's and the same for both), requests/s, speed-ups over each ``hf``
run (whole call, and backend only), peak RSS, and whether the metrics (and, for generation,
every generated text) equal the ``hf`` backend's at batch size 1. There are more generation
rows than the batch size by default, as in real tasks (GSM8K has 1,319): the ``hf`` backend
then runs batch after batch, each until its longest reply ends, while ours refills a slot as
soon as a reply ends.

    python tools/bench_eval.py --mc-rows 60 --gen-rows 64
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
from pathlib import Path

from bench_child import report, run_child  # tools/ is on sys.path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / 'shared' / 'data' / 'alpaca_en_demo.json'
MODEL = 'HuggingFaceTB/SmolLM2-135M-Instruct'


def alpaca_rows() -> list[dict]:
    if DATA.is_file():
        return [r for r in json.loads(DATA.read_text()) if r.get('output')]
    words = 'the a model answer question data train token fox dog river blue green'.split()
    rng = random.Random(0)
    return [{'instruction': ' '.join(rng.choices(words, k=10)) + '?',
             'output': ' '.join(rng.choices(words, k=rng.randint(12, 60)))} for _ in range(400)]


def write_tasks(out: Path, mc_rows: int, gen_rows: int) -> dict[str, Path]:
    rng = random.Random(0)
    rows = [r for r in alpaca_rows() if 12 <= len(r['output'].split()) <= 60]
    mc = []

    def split(text: str) -> tuple[str, str]:
        words = text.split()
        return ' '.join(words[:-10]), ' '.join(words[-10:])
    for row in rows[:mc_rows]:
        head, ending = split(row['output'])
        # three other endings, all distinct: equal choices would tie, and a tie's argmax
        # follows float rounding, not the model
        endings = list(dict.fromkeys(split(r['output'])[1] for r in rng.sample(rows, 8)))
        others = [e for e in endings if e != ending][:3]
        choices = [ending, *others]
        rng.shuffle(choices)
        mc.append({'question': f"{row['instruction']}\n{head}", 'choices': choices,
                   'answer': choices.index(ending)})
    gen = [{'question': r['instruction'], 'answer': r['output']}
           for r in rows[mc_rows:mc_rows + gen_rows]]
    paths = {'mc': out / 'bench_mc.jsonl', 'gen': out / 'bench_gen.jsonl'}
    for name, data in (('mc', mc), ('gen', gen)):
        paths[name].write_text(''.join(json.dumps(d) + '\n' for d in data))
    return paths


def worker(backend: str, batch: int, task: str, args: argparse.Namespace) -> dict:
    import torch
    torch.set_num_threads(int(os.environ.get('BENCH_THREADS', torch.get_num_threads())))
    from xtuner_like.eval.run import run_tasks
    from xtuner_like.model.load import load_causal_lm, load_tokenizer
    tokenizer = load_tokenizer(MODEL)
    model = load_causal_lm(MODEL).eval()
    if backend == 'ours':
        from xtuner_like.eval.backend import XtunerLM
        lm = XtunerLM(model, tokenizer, batch_size=batch, max_gen_toks=args.gen_tokens,
                      tokens_per_pass=args.tokens_per_pass)
    else:
        from lm_eval.models.huggingface import HFLM
        lm = HFLM(pretrained=model, tokenizer=tokenizer, device='cpu', batch_size=batch,
                  max_gen_toks=args.gen_tokens)
    spec = f"{args.files[task]}:{'mc' if task == 'mc' else 'qa'}"
    method = 'loglikelihood' if task == 'mc' else 'generate_until'
    inner, model_seconds = getattr(lm, method), [0.0]

    def timed(*a, **k):           # the backend's own share of the harness call
        begin = time.perf_counter()
        try:
            return inner(*a, **k)
        finally:
            model_seconds[0] += time.perf_counter() - begin
    setattr(lm, method, timed)
    start = time.perf_counter()
    results = run_tasks(lm, task_files=[spec], data_dir=Path(args.out) / backend)
    seconds = time.perf_counter() - start
    name = next(iter(results['results']))
    samples = results['samples'][name]
    return {'seconds': seconds, 'model_seconds': model_seconds[0], 'requests': sum(len(s['arguments']) for s in samples),
            'metrics': {k: v for k, v in results['results'][name].items() if ',' in k},
            'outputs': [s['filtered_resps'] for s in samples] if task == 'gen' else None,
            'peak_rss_gib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--mc-rows', type=int, default=60)
    parser.add_argument('--gen-rows', type=int, default=64)
    parser.add_argument('--gen-tokens', type=int, default=48)
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--tokens-per-pass', type=int, default=1024)
    parser.add_argument('--tasks', nargs='+', default=['mc', 'gen'], choices=['mc', 'gen'])
    parser.add_argument('--out', default='work_dirs/bench_eval')
    parser.add_argument('--worker', nargs=3, metavar=('BACKEND', 'BATCH', 'TASK'),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    args.files = {'mc': out / 'bench_mc.jsonl', 'gen': out / 'bench_gen.jsonl'}
    if args.worker:
        backend, batch, task = args.worker
        report(worker(backend, int(batch), task, args))
        return
    write_tasks(out, args.mc_rows, args.gen_rows)
    rows = []
    variants = (('hf', 1), ('hf', args.batch_size), ('ours', args.batch_size))
    for task in args.tasks:
        got = {}
        for backend, batch in variants:
            cmd = [sys.executable, __file__, *sys.argv[1:], '--worker', backend, str(batch), task]
            got[backend, batch] = run_child(cmd, f'{backend} {task}',
                                            env={**os.environ, 'HF_HUB_OFFLINE': '1'})
        ref = got['hf', 1]
        for (backend, batch), res in got.items():
            same = res['metrics'] == ref['metrics'] and res['outputs'] == ref['outputs']
            speed = ' / '.join(f"{got[key]['seconds'] / res['seconds']:.2f}x"
                               for key in (('hf', 1), ('hf', args.batch_size)))
            model_speed = ' / '.join(f"{got[key]['model_seconds'] / res['model_seconds']:.2f}x"
                                     for key in (('hf', 1), ('hf', args.batch_size)))
            name = 'lm-eval hf' if backend == 'hf' else 'xtuner_like'
            rows.append(f"| {task} | {name} | {batch} | {res['requests']} | "
                        f"{res['seconds']:.1f} | {res['model_seconds']:.1f} | "
                        f"{res['requests'] / res['seconds']:.1f} | {speed} | {model_speed} | "
                        f"{res['peak_rss_gib']:.2f} | {'yes' if same else 'NO'} |")
    print(f'{args.mc_rows} mc rows, {args.gen_rows} generation rows of <= {args.gen_tokens} '
          f'tokens; ours packs {args.tokens_per_pass} tokens a log-likelihood pass\n')
    print('| task | backend | batch size | requests | seconds | of which backend | requests/s | '
          f'vs hf at 1 / at {args.batch_size} | backend vs hf at 1 / at {args.batch_size} | '
          'peak RSS (GiB) | same results as hf at 1 |')
    print('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
    print('\n'.join(rows))


if __name__ == '__main__':
    main()
