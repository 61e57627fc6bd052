"""Small name -> object registries whose failed lookups suggest close matches."""
from __future__ import annotations

import difflib
import importlib
from typing import Any, Callable, Generic, Iterator, TypeVar

from .errors import UnknownNameError

T = TypeVar('T')


class Registry(Generic[T]):
    """A dict of named objects of one kind (templates, map_fns, losses, ...).

    Args:
        kind: what the entries are, for error messages ("no loss 'DPOLos'; did you mean ...").
        home: the module whose import registers the entries; imported on the first lookup,
            so a config can name an entry before anything imported that module.
    """

    def __init__(self, kind: str, home: str | None = None):
        self.kind = kind
        self.home = home
        self._items: dict[str, T] = {}

    def register(self, name: str, obj: T | None = None):
        """Register ``obj`` under ``name``; without ``obj``, work as a decorator."""
        def add(item: T) -> T:
            if name in self._items:
                raise ValueError(f'{self.kind} {name!r} is registered twice')
            self._items[name] = item
            return item
        return add if obj is None else add(obj)

    def _load(self) -> None:
        if self.home is not None:
            importlib.import_module(self.home)  # a no-op once imported

    def get(self, name: str) -> T:
        """Return the object named ``name`` or raise UnknownNameError."""
        self._load()
        try:
            return self._items[name]
        except (KeyError, TypeError):
            raise UnknownNameError(self.kind, name, self._items) from None

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        self._load()
        return iter(sorted(self._items))

    def items(self) -> list[tuple[str, T]]:
        self._load()
        return sorted(self._items.items())


MAP_FNS: Registry[Callable[[dict], dict]] = Registry('dataset_map_fn')
# Preference, reward (and policy-gradient) losses, as ``loss=dict(type='DPOLoss', ...)``.
LOSSES: Registry[type] = Registry('loss', home='xtuner_like.model.losses')
# Reward functions of online RL, as ``rewards=[dict(type='exact_answer', weight=1.0)]``.
REWARDS: Registry[type] = Registry('reward', home='xtuner_like.model.rewards')

# Registries whose entries a config names as ``dict(type='Name', ...)`` (no dotted path).
NAMED_TYPES: tuple[Registry, ...] = (LOSSES, REWARDS)


def named_type(name: Any) -> Any | None:
    """The class a config names as ``type='Name'`` in one of :data:`NAMED_TYPES`, or None
    (``name`` is a class or a dotted path, or no registry holds it).

    A plain name close to a registered one (a typo: 'DPOLos') raises UnknownNameError with
    the close names, rather than falling through to "not importable".
    """
    if not isinstance(name, str) or '.' in name:
        return None
    for registry in NAMED_TYPES:
        if name in registry:
            return registry.get(name)
    for registry in NAMED_TYPES:
        if difflib.get_close_matches(name, list(registry), n=1, cutoff=0.75):
            raise UnknownNameError(registry.kind, name, list(registry))
    return None
