"""`xtuner-like log-dataset CONFIG [--show N]`: processed samples with trained text marked."""
from __future__ import annotations

import argparse
import sys

from ..config import add_cfg_options, dataset_spec, load_config, parse_options


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        'log-dataset', help='print processed samples; trained text in colour or [[...]]')
    p.add_argument('config', help='config path or shipped recipe name (see list-cfg)')
    p.add_argument('--show', type=int, default=3, metavar='N', help='samples to print')
    p.add_argument('--color', choices=('auto', 'always', 'never'), default='auto',
                   help="colour trained text (auto: when stdout is a terminal), else [[...]]")
    add_cfg_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: they load torch and transformers, and `--help` and the
    # other commands must start without them.
    from ..dataset.preview import trained_spans_text
    from ..utils.build import build
    from ..utils.labels import count_trained
    options = parse_options(args.cfg_options)
    if 'pack_to_max_length' in load_config(args.config, options, resolve=False):
        # one sample per row (a preference pair is one sample: both replies are shown)
        options = {'pack_to_max_length': False, **options}
    cfg = load_config(args.config, options)
    dataset = build(dataset_spec(cfg))
    color = args.color == 'always' or (args.color == 'auto' and sys.stdout.isatty())
    legend = 'trained text in green' if color else 'trained text in [[...]]'
    fmt = dataset.chat_format
    print(f'{len(dataset)} samples ({legend}); template {fmt.name if fmt else None}, '
          f'system {fmt.system if fmt else None!r}')
    for i in range(min(args.show, len(dataset))):
        row = dataset[i]
        print(f'--- sample {i}: {len(row["input_ids"])} tokens, '
              f'{count_trained(row["labels"])} trained')
        print(trained_spans_text(row['input_ids'], row['labels'], dataset.tokenizer,
                                 color=color))
    return 0
