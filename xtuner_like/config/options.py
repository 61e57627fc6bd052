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
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

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


def defined_at(filename: str | None, key: str) -> str:
    """``'<file>, line N'`` where the config file assigns ``key`` at the top level, else the
    file name alone (the key may come from a base)."""
    if not filename:
        return 'the config'
    try:
        lines = Path(filename).read_text(encoding='utf-8').splitlines()
    except (OSError, UnicodeDecodeError):
        return filename
    pattern = re.compile(rf'{re.escape(key)}\s*(:[^=]*)?=(?!=)')
    for number, line in enumerate(lines, 1):
        if pattern.match(line):
            return f'{filename}, line {number}'
    return filename


def undefined_knob_hint(cfg: Config, name: str, known: Iterable[str]) -> str:
    """For a knob the config uses as ``${name}`` but does not define: the key it defines
    instead that no value uses (a typo such as ``max_lenght``), with its file and line."""
    known = set(known)
    unused = [k for k in dict.keys(cfg_dict(cfg)) if isinstance(k, str) and k not in known]
    close = difflib.get_close_matches(name, unused, n=1, cutoff=0.6)
    if not close:
        return ''
    return (f'; {defined_at(cfg.filename, close[0])} defines {close[0]!r}, which nothing uses:'
            f' rename it to {name!r}')


def _missing_key(cfg: Config, dotted: str, parts: list[str], depth: int, keys: list[str],
                 known: set[str] | None) -> str:
    part = parts[depth]
    where = '.'.join(parts[:depth]) or 'the top level'
    if depth == 0 and known is not None:
        if part in known:   # the config uses ${part} but defines it under another name
            return (f'--cfg-options {dotted}: the config uses ${{{part}}} but does not define '
                    f'{part!r}{undefined_knob_hint(cfg, part, known)}')
        keys = [k for k in keys if k in known]   # suggest only keys that something reads
    close = difflib.get_close_matches(part, keys, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ''
    return f'--cfg-options {dotted}: no key {part!r} at {where}{hint}'


def apply_options(cfg: Config, options: dict, known: Iterable[str] | None = None) -> None:
    """Set ``a.b.c=value`` overrides; every path must exist (close matches are suggested).

    A path through a value that is a whole ``'${knob}'`` reference sets the knob:
    ``model.llm.dtype=fp32`` sets ``llm.dtype`` where the model base has ``llm='${llm}'``.
    ``known``: the top-level keys something reads (the Runner's and every ``${knob}``); a
    top-level miss then suggests only those, never a typo in the file (which it points at).
    """
    known = set(known) if known is not None else None
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
                problems.append(_missing_key(cfg, dotted, parts, depth, keys, known))
                break
            node = dict.__getitem__(node, part) if isinstance(node, dict) else node[part]
        else:
            knob = _KNOB_REF.fullmatch(node) if isinstance(node, str) else None
            if knob and knob.group(1) in cfg_dict(cfg) and isinstance(options[dotted], dict):
                # a dict set on a whole '${knob}' value merges into the knob's dict
                node, target = dict.__getitem__(cfg_dict(cfg), knob.group(1)), [knob.group(1)]
            targets['.'.join(target)] = options[dotted]
            if isinstance(options[dotted], dict) and not isinstance(node, dict):
                # a dict where the base has None (quantization=...): replace, don't merge
                targets['.'.join(target)] = {**options[dotted], '_delete_': True}
    if problems:
        raise ConfigError('\n'.join(problems))
    cfg.merge_from_dict(targets)
