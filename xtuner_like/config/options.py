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
import re
from typing import TYPE_CHECKING, Any

from ..compat import cfg_dict
from ..errors import ConfigError

# A value that is one whole knob reference, '${name}' (config/load.py resolves them).
_KNOB_REF = re.compile(r'\$\{\s*([A-Za-z_]\w*)\s*\}')

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
    """Set ``a.b.c=value`` overrides; every path must exist (close matches are suggested).

    A path through a value that is a whole ``'${knob}'`` reference sets the knob:
    ``model.llm.dtype=fp32`` sets ``llm.dtype`` where the model base has ``llm='${llm}'``.
    """
    problems, targets = [], {}
    for dotted in options:
        node: Any = cfg_dict(cfg)
        parts = dotted.split('.')
        target = list(parts)
        for depth, part in enumerate(parts):
            knob = _KNOB_REF.fullmatch(node) if isinstance(node, str) else None
            if knob and knob.group(1) in cfg_dict(cfg):
                node, target = dict.__getitem__(cfg_dict(cfg), knob.group(1)), \
                    [knob.group(1), *parts[depth:]]
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
            targets['.'.join(target)] = options[dotted]
            if isinstance(options[dotted], dict) and not isinstance(node, dict):
                # a dict where the base has None (quantization=...): replace, don't merge
                targets['.'.join(target)] = {**options[dotted], '_delete_': True}
    if problems:
        raise ConfigError('\n'.join(problems))
    cfg.merge_from_dict(targets)
