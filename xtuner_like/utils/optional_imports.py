"""Start a command without the optional packages it does not use.

mmengine's runner imports bitsandbytes and DeepSpeed whenever they are installed, only to
register their optimizers, and importing bitsandbytes pulls in ``torch._dynamo`` and
``torch._inductor``: together about half of a plain LoRA run's start-up (measured with
``tools/bench_startup.py``); peft imports bitsandbytes again when it builds LoRA layers.
:func:`without` makes those imports fail, as if the packages were not installed, for the
whole command; mmengine, transformers and peft then skip what they would do with them.

What these libraries learn at import ("bitsandbytes is not installed") stays for the life of
the process, so this is decided once, by the CLI's own process, from its command line and
config (``needed_by_config``); code that calls ``main(argv)`` in a longer-lived process (a
notebook, the tests) imports everything as before. Importing this module imports no torch.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Any, Iterable, Iterator

OPTIONAL = ('bitsandbytes', 'deepspeed')
# Words in a config that mean the run uses bitsandbytes (4/8-bit weights, its optimizers).
# ('bnb', '8bit' and 'paged' catch the names mmengine registers its optimizers under.)
_BITSANDBYTES_WORDS = ('bitsandbytes', 'load_in_4bit', 'load_in_8bit', 'bnb', '8bit', 'paged')


@contextlib.contextmanager
def without(names: Iterable[str]) -> Iterator[list[str]]:
    """Within the block, ``import NAME`` raises ImportError for each of ``names`` that is not
    imported yet; yields the names actually hidden."""
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # the import system's "absent"
    try:
        yield hidden
    finally:
        for name in hidden:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]


def needed_by_config(cfg: Any) -> set[str]:
    """The optional packages a loaded config refers to (by type or quantization setting)."""
    text = repr(cfg).lower()
    needed = {'bitsandbytes'} if any(word in text for word in _BITSANDBYTES_WORDS) else set()
    if 'deepspeed' in text:   # a config that names a DeepSpeed strategy or optimizer itself
        needed.add('deepspeed')
    return needed
