"""The package layout: imports point one way (docs/layout.md), and no package imports one at
its own level or above (engine and convert, model and dataset never import each other)."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / 'xtuner_like'
# Higher imports lower; equal levels are separate packages that must not import each other.
LEVELS = {
    '__main__': 7, 'cli': 6,
    'engine': 5, 'convert': 5, 'chat': 5, 'eval': 5,
    'launch': 4, 'curate': 4,
    'model': 3, 'dataset': 3,
    'templates': 2,
    'config': 1,
    'utils': 0, 'registry': 0, '__init__': 0,
    'compat': -1,
    'errors': -2,
}


def top_package(module: str) -> str:
    return module.split('.')[1] if module.count('.') else '__init__'


def imported_packages(path: Path) -> set[str]:
    """Packages of xtuner_like that the module at ``path`` imports (anywhere in the file)."""
    package = list(path.relative_to(PACKAGE.parent).parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = '.'.join(base + ([node.module] if node.module else []))
            names = [module] if node.module else [f'{module}.{a.name}' for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {top_package(n) for n in names if n.startswith('xtuner_like')}
    return found


def test_imports_point_one_way():
    problems = []
    for path in sorted(PACKAGE.rglob('*.py')):
        rel = path.relative_to(PACKAGE)
        own = rel.parts[0].removesuffix('.py')
        for target in imported_packages(path) - {own}:
            if LEVELS[target] >= LEVELS[own]:
                problems.append(f'{rel} imports xtuner_like.{target}')
    assert problems == []
