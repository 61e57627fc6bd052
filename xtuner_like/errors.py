"""Errors a user can act on. Each message says what was wrong and how to fix it."""
from __future__ import annotations

import difflib
from typing import Iterable


class XtunerLikeError(Exception):
    """Base class of every error this package raises on bad user input."""


class ConfigError(XtunerLikeError):
    """A config file or a command-line option is wrong."""


class DatasetFormatError(XtunerLikeError):
    """A dataset row or file does not have the expected shape."""


class CheckpointError(XtunerLikeError):
    """A checkpoint is missing or does not match the config."""


class UnknownNameError(XtunerLikeError, KeyError):
    """A name (template, map_fn, recipe, preset ...) is not registered."""

    def __init__(self, kind: str, name: str, choices: Iterable[str]):
        self.kind, self.name = kind, name
        self.choices = sorted(choices)
        close = difflib.get_close_matches(str(name), self.choices, n=3, cutoff=0.5)
        hint = (f"did you mean {' or '.join(repr(c) for c in close)}?" if close
                else f"known: {', '.join(self.choices) or '(none)'}")
        super().__init__(f"no {kind} {name!r}; {hint}")

    def __str__(self) -> str:  # KeyError would quote the whole message
        return self.args[0]


class RewardError(XtunerLikeError):
    """A reward function raised or returned something other than one number per completion."""


class TrainingDivergedError(XtunerLikeError):
    """The loss or the gradients became non-finite (NaN or inf) during training."""


class PeerLostError(XtunerLikeError):
    """Another process of a multi-process (or multi-node) run stopped or became unreachable."""
