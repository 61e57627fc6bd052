"""``--cfg-options KEY=VALUE ...``: the one parser every command uses.

Every command that takes a config (train, convert pth_to_hf, log-dataset,
check-custom-dataset) adds the option with :func:`add_cfg_options` and reads it with
:func:`parse_options`, so ``"system=Be brief, please."`` means the same text everywhere
(mmengine's ``DictAction`` would split it at the comma and drop the spaces).
"""
from __future__ import annotations

import argparse
import ast
import difflib
from typing import TYPE_CHECKING, Any

from ..compat import cfg_dict
from ..errors import ConfigError

if TYPE_CHECKING:
    from mmengine.config import Config


def add_cfg_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--cfg-options KEY=VALUE ...`` to ``parser``; read it with :func:`parse_options`."""
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='override config values, e.g. max_length=1024 "system=Be brief."')


def parse_options(items: list[str]) -> dict:
    """``['a.b=1', 'name=Tuna Fish', 'xs=[1, 2]']`` -> {'a.b': 1, 'name': 'Tuna Fish', ...}.

    Values are Python literals when they parse as one (numbers, None, lists, dicts; true/false
    too), otherwise the text as is, spaces kept (mmengine's DictAction strips them).
    """
    options = {}
    for item in items:
        key, sep, text = item.partition('=')
        if not sep or not key:
            raise ConfigError(f'--cfg-options {item!r}: write KEY=VALUE')
        lowered = text.strip().lower()
        if lowered in ('true', 'false'):
            options[key] = lowered == 'true'
            continue
        try:
            options[key] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            options[key] = text
    return options


def apply_options(cfg: Config, options: dict) -> None:
    """Set ``a.b.c=value`` overrides; every path must exist (close matches are suggested)."""
    problems = []
    for dotted in options:
        node: Any = cfg_dict(cfg)
        parts = dotted.split('.')
        for depth, part in enumerate(parts):
            keys = [str(k) for k in node] if isinstance(node, dict) else []
            if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
                continue
            if part not in keys:
                where = '.'.join(parts[:depth]) or 'the top level'
                close = difflib.get_close_matches(part, keys, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else ''
                problems.append(f'--cfg-options {dotted}: no key {part!r} at {where}{hint}')
                break
            node = dict.__getitem__(node, part) if isinstance(node, dict) else node[part]
        else:
            if isinstance(options[dotted], dict) and not isinstance(node, dict):
                # a dict where the base has None (quantization=...): replace, don't merge
                options[dotted] = {**options[dotted], '_delete_': True}
    if problems:
        raise ConfigError('\n'.join(problems))
    cfg.merge_from_dict(options)
