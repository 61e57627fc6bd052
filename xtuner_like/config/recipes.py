"""Find shipped recipes and DeepSpeed presets by name, from a checkout or an installed package."""
from __future__ import annotations

import fnmatch
import importlib.util
from pathlib import Path
from typing import Iterable

from ..errors import ConfigError, UnknownNameError

PRESET_DIR = 'deepspeed'  # DeepSpeed presets: configs/deepspeed/*.json
CONFIG_SUFFIXES = ('.py', '.json', '.yml', '.yaml')  # what mmengine's Config reads


def configs_root() -> Path:
    """The folder of shipped configs: ``xtuner_like.configs`` when installed, else ./configs."""
    spec = importlib.util.find_spec('xtuner_like.configs')
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return Path(__file__).resolve().parents[2] / 'configs'


def recipe_paths() -> dict[str, Path]:
    """Every recipe name (file stem) -> its path; bases and presets are not recipes."""
    root = configs_root()
    found = {}
    for path in sorted(root.rglob('*.py')):
        rel = path.relative_to(root)
        # configs/curate holds `xtuner-like curate` configs, not training recipes.
        if rel.parts[0].startswith('_') or rel.parts[0] == 'curate' or path.name.startswith('_'):
            continue
        found[path.stem] = path
    return found


def filter_names(names: Iterable[str], pattern: str | None = None) -> list[str]:
    """Sorted ``names`` matching a substring or glob ``pattern`` (case-insensitive)."""
    names = sorted(names)
    if not pattern:
        return names
    glob = pattern if any(c in pattern for c in '*?[') else f'*{pattern}*'
    return [n for n in names if fnmatch.fnmatch(n.lower(), glob.lower())]


def list_recipes(pattern: str | None = None) -> list[str]:
    """Recipe names, optionally filtered by a substring or glob ``pattern``."""
    return filter_names(recipe_paths(), pattern)


def find_config(name_or_path: str) -> Path:
    """A config file path, or the path of the shipped recipe with that name.

    Raises:
        ConfigError: ``name_or_path`` is a file of another kind (``/etc/passwd``).
        UnknownNameError: no such file or recipe (close recipe names suggested).
    """
    path = Path(name_or_path)
    if path.is_file():
        if path.suffix.lower() not in CONFIG_SUFFIXES:
            raise ConfigError(f'{path} is not a config file: a config is a Python file (.py);'
                              ' give a recipe name (see `xtuner-like list-cfg`) or a copy '
                              'made by `xtuner-like copy-cfg RECIPE DIR`')
        return path
    recipes = recipe_paths()
    stem = path.stem if path.suffix == '.py' else str(name_or_path)
    if stem in recipes and (path.suffix != '.py' or len(path.parts) == 1):
        return recipes[stem]
    raise UnknownNameError('config file or recipe', name_or_path, recipes)


def preset_paths() -> dict[str, Path]:
    """Every shipped preset name (file stem) -> its JSON file."""
    return {p.stem: p for p in sorted((configs_root() / PRESET_DIR).glob('*.json'))}


def list_presets(pattern: str | None = None) -> list[str]:
    """Preset names, optionally filtered by a substring or glob ``pattern``."""
    return filter_names(preset_paths(), pattern)
