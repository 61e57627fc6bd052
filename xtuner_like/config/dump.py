"""Flatten a recipe and its bases into one readable, standalone lazy-import config file.

mmengine's ``Config.dump`` sorts keys and turns every type into a dotted string. Here the
knobs stay on top in the order the bases declare them, ``${knob}`` references stay (so a knob
still changes every place that uses it), and types are real imports.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mmengine.config.lazy import LazyAttr, LazyObject

from ..compat import lazy_dict
from .load import read_config, referenced_knobs
from .recipes import find_config

WIDTH = 96


class _Imports:
    """Collects ``from module import Name`` lines for the lazy objects met while formatting."""

    def __init__(self):
        self.lines: dict[str, set[str]] = {}

    def use(self, obj: LazyObject | LazyAttr) -> str:
        text = str(obj)
        root = text.split('.')[0]
        module = obj.module if isinstance(obj, LazyObject) else _attr_module(obj)
        self.lines.setdefault(module, set()).add(root)
        return text

    def render(self) -> str:
        return '\n'.join(f'from {m} import {", ".join(sorted(names))}'
                         for m, names in sorted(self.lines.items()))


def _attr_module(attr: LazyAttr) -> str:
    source = attr.source
    while isinstance(source, LazyAttr):
        source = source.source
    return source.module


def _fmt(value: Any, imports: _Imports, indent: int) -> str:
    pad = ' ' * (indent + 4)
    if isinstance(value, (LazyObject, LazyAttr)):
        return imports.use(value)
    if isinstance(value, dict):
        if not value:
            return 'dict()'
        items = [f'{k}={_fmt(v, imports, indent + 4)}' if str(k).isidentifier()
                 else f'**{{{k!r}: {_fmt(v, imports, indent + 4)}}}' for k, v in value.items()]
        one_line = f'dict({", ".join(items)})'
        if len(one_line) + indent <= WIDTH and '\n' not in one_line:
            return one_line
        return 'dict(\n' + ',\n'.join(pad + i for i in items) + ')'
    if isinstance(value, (list, tuple)):
        items = [_fmt(v, imports, indent + 4) for v in value]
        open_, close = ('[', ']') if isinstance(value, list) else ('(', ',)' if len(items) == 1
                                                                    else ')')
        one_line = open_ + ', '.join(items) + close
        if len(one_line) + indent <= WIDTH and '\n' not in one_line:
            return one_line
        return open_ + '\n' + ',\n'.join(pad + i for i in items) + close
    return repr(value)


def standalone_text(name_or_path: str) -> str:
    """The whole config, inheritance flattened, as the text of one lazy-import file."""
    path = find_config(name_or_path)
    cfg = read_config(name_or_path)
    data = lazy_dict(cfg)
    knobs = referenced_knobs(data)
    ordered = [k for k in data if k in knobs] + [k for k in data if k not in knobs]
    imports = _Imports()
    body = []
    for key in ordered:
        if key == ordered[len([k for k in data if k in knobs])] and body:
            body.append('\n# ---- structure (uses the knobs above as ${name}) ----')
        body.append(f'{key} = {_fmt(data[key], imports, 0)}')
    header = (f'# Standalone copy of {path.name}, made by `xtuner-like copy-cfg`.\n'
              '# Knobs first: change one and every ${knob} reference below follows it.\n')
    return header + imports.render() + '\n\n# ---- knobs ----\n' + '\n'.join(body) + '\n'


def write_standalone(name_or_path: str, dest_dir: Path) -> Path:
    """Write ``<name>_copy.py`` into ``dest_dir`` and return its path."""
    out = Path(dest_dir) / f'{find_config(name_or_path).stem}_copy.py'
    text = standalone_text(name_or_path)   # a config that does not load leaves no folder
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding='utf-8')
    return out
