"""Start -> end of the first training step of `xtuner-like train`, phase by phase.

Runs the real CLI (``xtuner-like train RECIPE``, as its own process) in a fresh interpreter
for two iterations, with the chat evaluation, HF export and checkpoint off, after one warm-up run that
fills the dataset cache and converts the embedded model. The child stamps each phase from the
moment its process was created:

    imports      the interpreter, the CLI and mmengine's runner (``quiet_imports``)
    config       loading the recipe, checks, resolving the model path
    model        building the runner: model + LoRA, optimizer wrapper, hooks
    data         the dataloader up to the first batch (dataset cache load, collate)
    first step   forward, backward and optimizer step of iteration 1
    second step  iteration 2, the steady state to compare the first step with

It also lists the heavy optional packages that were imported (a plain LoRA run should import
no bitsandbytes, deepspeed or torch._dynamo) and, with ``--importtime``, the slowest
top-level imports from ``python -X importtime``.

    python tools/bench_startup.py [RECIPE] [--repeat 3] [--importtime]

'all' imports every optional package (what ``main(argv)`` called from Python does, and what
the CLI did before), 'used' only those the run uses (the ``xtuner-like`` program now).
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
ONE_STEP = ['train_cfg.max_iters=2', 'evaluation_inputs=[]', 'export_hf=False',
            'save_steps=1000000', 'default_hooks.checkpoint.save_last=False', 'log_interval=1']


def _since_start() -> float:
    import psutil
    return time.time() - psutil.Process().create_time()


def _cpu() -> float:
    """CPU seconds this process has used (all threads): on a loaded machine a steadier
    measure than wall time for the single-threaded phases (imports, config)."""
    import psutil
    times = psutil.Process().cpu_times()
    return times.user + times.system


def child(recipe: str, work_dir: str, out: str, mode: str) -> None:
    """Run ``recipe`` through the CLI, stamping phases into ``out``; ``mode`` 'all' imports
    every optional package (as ``main(argv)`` does), 'used' only those the run uses."""
    stamps: dict[str, float] = {}
    cpu: dict[str, float] = {}
    from xtuner_like.cli import main as cli_main
    quiet_imports = cli_main.quiet_imports

    def stamped_imports(*args, **kwargs):
        quiet_imports(*args, **kwargs)
        stamps['imports'] = _since_start()
        cpu['imports'] = _cpu()
        instrument(stamps, cpu)

    cli_main.quiet_imports = stamped_imports  # instrument this benchmark process only
    # As the `xtuner-like` program: main() reads sys.argv (which lets it skip unused packages).
    sys.argv = ['xtuner-like', 'train', recipe, '--work-dir', work_dir, '--cfg-options',
                *ONE_STEP]
    code = cli_main.main() if mode == 'used' else cli_main.main(sys.argv[1:])
    stamps['exit'] = _since_start()
    heavy = [name for name in HEAVY if name in sys.modules]
    Path(out).write_text(json.dumps({'code': code, 'stamps': stamps, 'cpu': cpu,
                                     'heavy': heavy}))


def instrument(stamps: dict[str, float], cpu: dict[str, float]) -> None:
    """Stamp the end of the runner's build and of its first two iterations."""

    def stamp(phase: str) -> None:
        if phase not in stamps:
            stamps[phase], cpu[phase] = _since_start(), _cpu()
    from mmengine.hooks import Hook

    from xtuner_like.engine.runner import XRunner

    class Stamp(Hook):
        priority = 'VERY_LOW'

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            stamp('data')

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            stamp('second step' if 'first step' in stamps else 'first step')

    build = XRunner.from_cfg.__func__

    def from_cfg(cls, cfg):
        stamp('config')
        runner = build(cls, cfg)
        runner.register_hook(Stamp())
        stamp('model')
        return runner

    XRunner.from_cfg = classmethod(from_cfg)


def run_child(recipe: str, mode: str, extra: list[str] | None = None) -> dict:
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'TOKENIZERS_PARALLELISM': 'false'}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / 'stamps.json'
        cmd = [sys.executable, *(extra or []), __file__, '--child', recipe, str(Path(tmp) / 'wd'),
               str(out), mode]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
        if proc.returncode or not out.is_file():
            sys.exit(f'child failed ({proc.returncode}):\n{proc.stderr[-3000:]}')
        result = json.loads(out.read_text())
        result['stderr'] = proc.stderr
        return result


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


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
    parser.add_argument('--child', nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    run_child(args.recipe, 'used')  # warm-up: dataset cache, embedded model, page cache
    modes = {'all': 'every optional package imported (before)',
             'used': 'only the packages the run uses (after)'}
    runs: dict[str, list[dict]] = {mode: [] for mode in modes}
    for _ in range(args.repeat):  # interleaved, so load changes hit both alike
        for mode in modes:
            runs[mode].append(run_child(args.recipe, mode))
    phases = ['imports', 'config', 'model', 'data', 'first step', 'second step']
    for key, unit in (('stamps', 'wall'), ('cpu', 'CPU')):
        print(f'{args.recipe}: {unit} seconds per phase, median of {args.repeat} runs each')
        print(f'{"phase":<14}' + ''.join(f'{mode:>10}' for mode in modes) + '  used/all')
        ends = {mode: {phase: median([r[key][phase] for r in runs[mode]]) for phase in phases}
                for mode in modes}
        for i, phase in enumerate(phases):
            cells = [ends[m][phase] - (ends[m][phases[i - 1]] if i else 0.0) for m in modes]
            print(f'{phase:<14}' + ''.join(f'{c:10.2f}' for c in cells) +
                  f'{cells[1] / cells[0]:10.2f}')
        first = [ends[m]['first step'] for m in modes]
        print(f'{"start->step 1":<14}' + ''.join(f'{c:10.2f}' for c in first) +
              f'{first[1] / first[0]:10.2f}')
    for mode, text in modes.items():
        print(f'{mode}: {text}; optional modules imported: {runs[mode][0]["heavy"] or "none"}')
    if args.importtime:
        timed = run_child(args.recipe, 'used', ['-X', 'importtime'])
        print('slowest top-level imports under -X importtime (cumulative s, inflated by it):')
        for name, seconds in importtime_top(timed['stderr']):
            print(f'  {seconds:6.2f}  {name}')


if __name__ == '__main__':
    main()
