"""Arguments several commands share."""
from __future__ import annotations

import argparse


def add_cfg_options(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options KEY=VALUE ...``; parse with engine.config.parse_options."""
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='override config values, e.g. max_length=1024 "system=Be brief."')
