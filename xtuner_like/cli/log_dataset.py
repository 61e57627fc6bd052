"""`xtuner-like log-dataset CONFIG [--show N]`: processed samples with trained text marked."""
from __future__ import annotations

import argparse
import sys

from mmengine.config import DictAction


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        'log-dataset', help='print processed samples; trained text in colour or [[...]]')
    p.add_argument('config', help='config path or shipped recipe name (see list-cfg)')
    p.add_argument('--show', type=int, default=3, metavar='N', help='samples to print')
    p.add_argument('--color', choices=('auto', 'always', 'never'), default='auto',
                   help="colour trained text (auto: when stdout is a terminal), else [[...]]")
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                   metavar='KEY=VALUE', help='override config values, e.g. data_files=my.jsonl')
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..dataset.preview import trained_spans_text
    from ..engine.config import load_config
    from ..utils.build import build
    options = {'pack_to_max_length': False, **dict(args.cfg_options or {})}
    cfg = load_config(args.config, options)
    dataset = build(cfg.to_dict()['train_dataloader']['dataset'])
    color = args.color == 'always' or (args.color == 'auto' and sys.stdout.isatty())
    legend = 'trained text in green' if color else 'trained text in [[...]]'
    print(f'{len(dataset)} samples ({legend})')
    for i in range(min(args.show, len(dataset))):
        row = dataset[i]
        print(f'--- sample {i}: {len(row["input_ids"])} tokens, '
              f'{int((row["labels"] != -100).sum())} trained')
        print(trained_spans_text(row['input_ids'], row['labels'], dataset.tokenizer,
                                 color=color))
    return 0
