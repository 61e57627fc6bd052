"""Start -> end of the first training step of `xtuner-like train`, phase by phase.

Runs the real CLI (``python -m xtuner_like train RECIPE``) in a fresh interpreter for one
iteration, with the chat evaluation, HF export and checkpoint off, after one warm-up run that
fills the dataset cache and converts the embedded model. The child stamps each phase from the
moment its process was created:

    imports      the interpreter, the CLI and mmengine's runner (``quiet_imports``)
    config       loading the recipe, checks, resolving the model path
    model        building the runner: model + LoRA, optimizer wrapper, hooks
    data         the dataloader up to the first batch (dataset cache load, collate)
    first step   forward, backward and optimizer step of iteration 1

It also lists the heavy optional packages that were imported (a plain LoRA run should import
no bitsandbytes, deepspeed or torch._dynamo) and, with ``--importtime``, the slowest
top-level imports from ``python -X importtime``.

    python tools/bench_startup.py [RECIPE] [--repeat 3] [--importtime]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ('bitsandbytes', 'deepspeed', 'torch._dynamo', 'torch._inductor', 'triton')
ONE_STEP = ['train_cfg.max_iters=1', 'evaluation_inputs=[]', 'export_hf=False',
            'save_steps=1000000', 'default_hooks.checkpoint.save_last=False', 'log_interval=1']


def _since_start() -> float:
    import psutil
    return time.time() - psutil.Process().create_time()


def child(recipe: str, work_dir: str, out: str) -> None:
    """Run one iteration of ``recipe`` through the CLI, stamping phases into ``out``."""
    stamps: dict[str, float] = {}
    from xtuner_like.cli import main as cli_main
    cli_main.quiet_imports()
    stamps['imports'] = _since_start()
    from mmengine.hooks import Hook

    from xtuner_like.engine.runner import XRunner

    class Stamp(Hook):
        priority = 'VERY_LOW'

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            stamps.setdefault('data', _since_start())

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            stamps.setdefault('first step', _since_start())

    build = XRunner.from_cfg.__func__

    def from_cfg(cls, cfg):
        stamps['config'] = _since_start()
        runner = build(cls, cfg)
        runner.register_hook(Stamp())
        stamps['model'] = _since_start()
        return runner

    XRunner.from_cfg = classmethod(from_cfg)  # instrument this benchmark process only
    code = cli_main.main(['train', recipe, '--work-dir', work_dir, '--cfg-options', *ONE_STEP])
    stamps['exit'] = _since_start()
    heavy = [name for name in HEAVY if name in sys.modules]
    Path(out).write_text(json.dumps({'code': code, 'stamps': stamps, 'heavy': heavy}))


def run_child(recipe: str, extra: list[str] | None = None) -> dict:
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'TOKENIZERS_PARALLELISM': 'false'}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / 'stamps.json'
        cmd = [sys.executable, *(extra or []), __file__, '--child', recipe, str(Path(tmp) / 'wd'),
               str(out)]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
        if proc.returncode or not out.is_file():
            sys.exit(f'child failed ({proc.returncode}):\n{proc.stderr[-3000:]}')
        result = json.loads(out.read_text())
        result['stderr'] = proc.stderr
        return result


def importtime_top(stderr: str, n: int = 12) -> list[tuple[str, float]]:
    """The ``n`` slowest top-level imports (cumulative seconds) of an ``-X importtime`` log."""
    rows = []
    for line in stderr.splitlines():
        if line.startswith('import time:') and line.count('|') == 2:
            _, cumulative, name = line.split('|')
            if cumulative.strip().isdigit() and not name[1:].startswith(' '):
                rows.append((name.strip(), int(cumulative) / 1e6))
    return sorted(rows, key=lambda r: -r[1])[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('recipe', nargs='?', default='smollm2_135m_instruct_lora_identity')
    parser.add_argument('--repeat', type=int, default=3, help='measured runs (median shown)')
    parser.add_argument('--importtime', action='store_true', help='also one -X importtime run')
    parser.add_argument('--child', nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    run_child(args.recipe)  # warm-up: dataset cache, embedded model conversion, page cache
    runs = [run_child(args.recipe) for _ in range(args.repeat)]
    phases = ['imports', 'config', 'model', 'data', 'first step']
    print(f'{args.recipe}: start -> phase end, seconds from process start '
          f'({args.repeat} runs, median)')
    previous = 0.0
    for phase in phases:
        ends = sorted(r['stamps'][phase] for r in runs)
        end = ends[len(ends) // 2]
        print(f'  {phase:<11} {end - previous:6.2f}  (ends at {end:6.2f})')
        previous = end
    print(f'heavy optional modules imported: {runs[0]["heavy"] or "none"}')
    if args.importtime:
        timed = run_child(args.recipe, ['-X', 'importtime'])
        print('slowest top-level imports under -X importtime (cumulative s, inflated by it):')
        for name, seconds in importtime_top(timed['stderr']):
            print(f'  {seconds:6.2f}  {name}')


if __name__ == '__main__':
    main()
