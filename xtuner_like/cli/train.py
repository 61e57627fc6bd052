"""`xtuner-like train CONFIG`: train with mmengine's Runner."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import ConfigError
from ._args import add_cfg_options


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('train', help='train from a config file or recipe name')
    p.add_argument('config', help='config path or shipped recipe name (see list-cfg)')
    p.add_argument('--work-dir', help='where logs, checkpoints and TensorBoard files go '
                   '(default: ./work_dirs/<config name>)')
    p.add_argument('--resume', metavar='auto|PATH',
                   help="'auto' continues from the work dir's latest checkpoint")
    p.add_argument('--seed', type=int, help='random seed (overrides the config)')
    p.add_argument('--deterministic', action='store_true',
                   help='deterministic algorithms (slower)')
    add_cfg_options(p)
    p.set_defaults(run=run)


def prepare_config(args: argparse.Namespace):
    """Load the config and apply the command-line settings to it."""
    from ..engine.config import load_config, parse_options
    options = parse_options(args.cfg_options)
    if args.seed is not None:
        options['seed'] = args.seed
    if args.deterministic:
        options['deterministic'] = True
    cfg = load_config(args.config, options)
    cfg.work_dir = args.work_dir or str(Path('work_dirs') / Path(cfg.filename).stem)
    if args.resume:
        if args.resume != 'auto':
            if not Path(args.resume).is_file():
                raise ConfigError(f'--resume {args.resume}: no such checkpoint file')
            cfg.load_from = args.resume
        cfg.resume = True
    return cfg


def run(args: argparse.Namespace) -> int:
    from ..dataset.build import build_sft_dataset, check_dataset_spec
    from ..engine.runner import XRunner
    os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
    cfg = prepare_config(args)
    dataset = cfg.get('train_dataloader', {}).get('dataset')
    if isinstance(dataset, dict) and dataset.get('type') is build_sft_dataset:
        check_dataset_spec(dataset)
    runner = XRunner.from_cfg(cfg)
    runner.train()
    return 0
