"""The curation config: the shipped defaults, a user's changes on top, every problem at once."""
from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .stage import stages

# Sections that are not stages: their defaults are in configs/curate/default.py.
CHOICES = {('output', 'format'): ('jsonl', 'parquet'), ('engine', 'type'): ('datasets', 'ray')}


def stage_names() -> tuple[str, ...]:
    """The stages in run order (from :data:`~.stage.CURATION_STAGES`)."""
    return tuple(s.name for s in stages())


def default_config_path() -> Path:
    """``configs/curate/default.py`` (output and engine; each stage declares its own
    options) of the checkout or of the installed package."""
    from ..config.recipes import configs_root
    return configs_root() / 'curate' / 'default.py'


def _read(path: Path | str) -> dict:
    from mmengine.config import Config
    if not Path(path).is_file():
        raise ConfigError(f'curate config {path} not found; give a .py file like '
                          f'{default_config_path()}')
    return {k: v for k, v in Config.fromfile(str(path)).to_dict().items()
            if not k.startswith('_')}


def _close(name: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.5)
    return f'did you mean {close[0]!r}?' if close else f'known: {", ".join(choices)}'


def merge(base: dict, changes: dict, where: str, problems: list[str]) -> None:
    """Put ``changes`` (``{'stage': {...}}`` or ``{'stage.key': value}``) into ``base``."""
    for key, value in changes.items():
        section, _, option = str(key).partition('.')
        if section not in base:
            problems.append(f'{where}: unknown stage or section {section!r}; '
                            f'{_close(section, list(base))}')
        elif option:
            if option not in base[section]:
                problems.append(f'{where}: {section} has no option {option!r}; '
                                f'{_close(option, base[section])}')
            else:
                base[section][option] = value
        elif not isinstance(value, dict):
            problems.append(f'{where}: {section} must be a dict of options, got {value!r}')
        else:
            merge(base, {f'{section}.{k}': v for k, v in value.items()}, where, problems)


def check(cfg: dict) -> list[str]:
    """Values outside their allowed set or range, every stage's and the other sections'."""
    problems = [p for stage in stages() for p in stage.problems(cfg[stage.name])]
    for (section, option), allowed in CHOICES.items():
        if cfg[section][option] not in allowed:
            problems.append(f'{section}.{option}={cfg[section][option]!r}; use one of {allowed}')
    return problems


def defaults() -> dict:
    """Every stage's options at their defaults, and the other sections (output, engine)
    from the default file."""
    found = {stage.name: stage.defaults() for stage in stages()}
    return {**found, **{k: v for k, v in _read(default_config_path()).items()
                        if k not in found}}


def load_curate_config(path: str | None = None, options: dict | None = None) -> dict:
    """The shipped defaults, then the file at ``path``, then ``options`` (``'a.b': value``)."""
    cfg = copy.deepcopy(defaults())
    problems: list[str] = []
    if path is not None:
        merge(cfg, _read(path), str(path), problems)
    merge(cfg, dict(options or {}), '--cfg-options', problems)
    if not problems:
        problems = check(cfg)
    if problems:
        raise ConfigError('curate config: ' + '; '.join(problems))
    return cfg
