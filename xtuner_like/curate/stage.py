"""Curation stages as registered objects: each declares its options and its runner here, once.

A stage is an object in :data:`CURATION_STAGES` with a ``name``, an ``order`` (stages run by
ascending order), its ``options`` (:class:`Option`: default, allowed values, check) and a
``run(run, data, opts)`` method that returns ``(data, drop)``: row-by-row stages mark the
rows they remove in ``_reason``/``_detail`` and return ``drop=None``; global stages return
the ids to remove as a :class:`Drop`. The pipeline counts, samples and filters either kind.

How to add a stage: write ``curate/<name>.py`` with its batch functions and a ``Stage``
subclass registered with ``CURATION_STAGES.register('<name>', MyStage())``, and
``tests/curate/test_<name>.py``. The config (defaults, checks, ``--cfg-options``), the run
order and the report pick it up from the registry; every module of this package is imported
by :func:`stages`, so nothing else lists it.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..registry import Registry


@dataclass(frozen=True)
class Option:
    """One option of a stage: its default, and what values it may take.

    Attributes:
        default: the value when the config does not set it.
        choices: the allowed values (None: any).
        fraction: the value must be a number in [0, 1] (None allowed when the default is).
        check: value -> a problem ('' when fine), for anything else.
        help: one line for the docs.
    """

    default: Any
    choices: tuple | None = None
    fraction: bool = False
    check: Callable[[Any], str] | None = None
    help: str = ''

    def problem(self, value: Any) -> str:
        """What is wrong with ``value`` ('' when nothing)."""
        if self.choices is not None and value not in self.choices:
            return f'{value!r}; use one of {self.choices}'
        if self.fraction and not (value is None and self.default is None) and (
                isinstance(value, bool) or not isinstance(value, (int, float))
                or not 0 <= value <= 1):
            return f'{value!r}; give a number between 0 and 1'
        return self.check(value) if self.check is not None else ''


@dataclass
class Drop:
    """Rows a global stage removes: sorted ``ids``, the row each one duplicates (``reps``)."""

    ids: np.ndarray
    reps: np.ndarray
    reason: str


ENABLED = Option(True, choices=(True, False), help='run this stage')


class Stage:
    """Base of the curation stages (see the module docstring)."""

    name: str = ''
    order: int = 0
    options: dict[str, Option] = {}

    def defaults(self) -> dict:
        """The stage's config section with every option at its default."""
        return {key: opt.default for key, opt in self.options.items()}

    def problems(self, opts: dict) -> list[str]:
        """Values of ``opts`` outside what the options allow."""
        found = []
        for key, opt in self.options.items():
            problem = opt.problem(opts[key])
            if problem:
                found.append(f'{self.name}.{key}={problem}')
        return found

    def run(self, run: Any, data: Any, opts: dict) -> tuple[Any, Drop | None]:
        """Mark or pick the rows to remove (see the module docstring)."""
        raise NotImplementedError


CURATION_STAGES: Registry[Stage] = Registry('curation stage')
_NOT_STAGES = ('config', 'dataset', 'engine', 'pipeline', 'ray_engine', 'report', 'stage')


def stages() -> list[Stage]:
    """Every registered stage, in run order (imports this package's modules once)."""
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if not info.name.startswith('_') and info.name not in _NOT_STAGES:
            importlib.import_module(f'{__package__}.{info.name}')
    return sorted((s for _, s in CURATION_STAGES.items()), key=lambda s: (s.order, s.name))
