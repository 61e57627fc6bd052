"""`xtuner-like eval MODEL --tasks T1,T2 --task-file FILE [--baseline MODEL]`: evaluate on
lm-evaluation-harness tasks and your own files; base vs tuned in one table.

MODEL: a work dir, a checkpoint with --config, a PEFT adapter folder, a merged folder, a hub
id or the embedded model. Results go to ``--output-dir`` (default ``<work dir>/eval`` or
``eval_results/``): ``results.json`` (the harness's format), ``eval.md`` (the table) and,
with ``--log-samples``, per-sample outputs.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ConfigError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('eval', help='evaluate a model on lm-eval tasks and your own files')
    p.add_argument('model', nargs='?', help='work dir, checkpoint (+ --config), adapter or '
                   'model folder, hub id, or the embedded model id')
    p.add_argument('--tasks', default='', help='comma-separated lm-eval tasks/groups, e.g. '
                   'mmlu,arc_easy,gsm8k')
    p.add_argument('--task-file', action='append', default=[], metavar='FILE[:KIND]',
                   help='your own rows as a task (kind mc, qa, chat or loss; told from the '
                   'columns when left out); repeatable')
    p.add_argument('--baseline', help='a second model evaluated on the same requests; the '
                   'table shows both, the difference and its 95%% bootstrap interval')
    p.add_argument('--config', help='the training config of a checkpoint MODEL')
    p.add_argument('--base', help='base model of an adapter folder (default: its '
                   'adapter_config.json)')
    p.add_argument('--bits', type=int, choices=(4, 8), help='load the model(s) in 4 or 8 bits')
    p.add_argument('--limit', type=float, help='samples per task (N, or a share below 1)')
    p.add_argument('--batch-size', default='auto', help="contexts per forward pass ('auto' = 16)")
    p.add_argument('--num-fewshot', type=int)
    prompting = p.add_mutually_exclusive_group()
    prompting.add_argument('--chat', dest='chat', action='store_true', default=None,
                           help="prompt through the model's chat template (default when it "
                           'has one)')
    prompting.add_argument('--no-chat', dest='chat', action='store_false',
                           help='raw text prompts (base models)')
    p.add_argument('--prompt-template', help='template of a loss task file when MODEL is not a '
                   'work dir')
    p.add_argument('--output-dir', help='where results go')
    p.add_argument('--log-samples', action='store_true', help='write per-sample outputs')
    p.add_argument('--list-tasks', nargs='?', const='*', metavar='PATTERN',
                   help='list the harness tasks matching PATTERN and exit')
    p.add_argument('--compare', nargs='+', metavar='DIR', help='tabulate saved results and exit')
    p.set_defaults(run=run)


def _limit(value: float | None) -> int | float | None:
    return None if value is None else int(value) if value >= 1 else value


def _evaluate(name: str, args: argparse.Namespace, out: Path, tasks: list[str],
              like: dict | None = None) -> tuple[dict, dict]:
    """Results of ``name``, and how it was prompted (``like`` makes a baseline prompted the
    same way: its requests are then the model's, text for text)."""
    from ..eval.backend import XtunerLM
    from ..eval.run import run_tasks
    from ..templates.chat_format import ChatFormat
    from ..utils.logging import log
    from ._eval_model import load_for_eval
    loaded = load_for_eval(name, args.bits, args.config, args.base)
    tokenizer = loaded.tokenizer
    if like is None:
        chat = args.chat if args.chat is not None else bool(tokenizer.chat_template)
        if chat and not tokenizer.chat_template:
            raise ConfigError(f'{name}: --chat, but its tokenizer has no chat_template')
        chat_format = ChatFormat.build(args.prompt_template) if args.prompt_template \
            else loaded.chat_format
        like = {'chat': chat, 'template': tokenizer.chat_template, 'chat_format': chat_format}
        how = ('its chat template (the training template for an exported run)' if chat
               else 'raw text (base model)')
    else:
        tokenizer.chat_template = like['template']
        how = "the evaluated model's chat template" if like['chat'] else 'raw text'
    log(f'{name}: prompted with {how}')
    lm = XtunerLM(loaded.model, tokenizer, batch_size=args.batch_size)
    results = run_tasks(lm, tasks, args.task_file, out / 'task_data', _limit(args.limit),
                        like['chat'], like['chat_format'], args.num_fewshot)
    return results, like


def run(args: argparse.Namespace) -> int:
    from ..eval.compare import compare, compare_saved, markdown_table, scores_table
    from ..eval.run import list_tasks, save_results
    from ..utils.io import atomic_write_text
    if args.list_tasks is not None:
        print('\n'.join(list_tasks(None if args.list_tasks == '*' else args.list_tasks)))
        return 0
    if args.compare:
        print(compare_saved(args.compare))
        return 0
    if not args.model:
        raise ConfigError('eval: give a MODEL (or --list-tasks / --compare)')
    tasks = [t for t in args.tasks.split(',') if t]
    model_dir = Path(args.model)
    out = Path(args.output_dir) if args.output_dir else (
        model_dir / 'eval' if model_dir.is_dir() else Path('eval_results'))
    tuned, prompting = _evaluate(args.model, args, out, tasks)
    save_results(tuned, out, args.log_samples)
    if args.baseline:
        base, _ = _evaluate(args.baseline, args, out / 'baseline', tasks, like=prompting)
        save_results(base, out / 'baseline', args.log_samples)
        table = markdown_table(compare(tuned, base), 'model', 'baseline')
    else:
        table = scores_table(tuned)
    header = f'model: {args.model}' + (f'\nbaseline: {args.baseline}' if args.baseline else '')
    atomic_write_text(out / 'eval.md', f'{header}\n\n{table}\n')
    print(f'{header}\n\n{table}\n\nresults: {out}')
    return 0
