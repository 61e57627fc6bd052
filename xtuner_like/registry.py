"""Small name -> object registries whose failed lookups suggest close matches."""
from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from .errors import UnknownNameError

T = TypeVar('T')


class Registry(Generic[T]):
    """A dict of named objects of one kind (templates, map_fns, ...)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, obj: T | None = None):
        """Register ``obj`` under ``name``; without ``obj``, work as a decorator."""
        def add(item: T) -> T:
            if name in self._items:
                raise ValueError(f'{self.kind} {name!r} is registered twice')
            self._items[name] = item
            return item
        return add if obj is None else add(obj)

    def get(self, name: str) -> T:
        """Return the object named ``name`` or raise UnknownNameError."""
        try:
            return self._items[name]
        except (KeyError, TypeError):
            raise UnknownNameError(self.kind, name, self._items) from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._items.items())


MAP_FNS: Registry[Callable[[dict], dict]] = Registry('dataset_map_fn')
