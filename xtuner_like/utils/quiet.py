"""Quiet by default: the terminal shows what a user acts on; the log file keeps everything.

Each filter below names one known-harmless third-party message and why it is harmless.
Filters match message text, so a reworded upstream message shows again (never hides more).
Importing this module imports only ``logging``, ``os`` and ``warnings`` (no torch).
"""
from __future__ import annotations

import logging
import os
import warnings

VERBOSE_ENV = 'XTUNER_LIKE_VERBOSE'  # set by `train --verbose`; inherited by torchrun ranks

# Long blocks that belong in <work_dir>/<time>/<time>.log, not on the terminal.
FILE_ONLY_PREFIXES = (
    '\n' + '-' * 60 + '\nSystem environment:',   # mmengine's environment block (~40 lines)
    'Config:\n',                                  # mmengine's config dump (~220 lines)
    'Hooks will be executed in the following',    # mmengine's hook table (~90 lines)
    'a training sample (trained text',            # DatasetInfoHook's decoded sample
    # mmengine's note about SyncBatchNorm: causal LMs have no BatchNorm layers.
    'Distributed training is not used, all SyncBatchNorm',
)

# Messages of mmengine's own logger that are harmless here.
MMENGINE_NOISE = (
    # Iteration-based training restarts the dataloader on purpose: the recipes' sampler
    # shuffles per epoch, and an InfiniteSampler would change the data order.
    'Reach the end of the dataloader',
    # mmengine's own checkpoint code asks for its deprecated alias; nothing for users to do.
    '"HardDiskBackend" is the alias of',
    '"FileClient" will be deprecated',               # the same, logged by CheckpointHook
)


def verbose() -> bool:
    """Whether the user asked for everything on the terminal (``--verbose``)."""
    return os.environ.get(VERBOSE_ENV, '') not in ('', '0')


class DropMessages(logging.Filter):
    """Drops records whose message starts with (or, ``anywhere=True``, contains) any text."""

    def __init__(self, texts: tuple[str, ...], anywhere: bool = False):
        super().__init__()
        self.texts = texts
        self.anywhere = anywhere

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if self.anywhere:
            return not any(t in msg for t in self.texts)
        return not msg.startswith(self.texts)


class OnceFilter(logging.Filter):
    """Lets the first record starting with ``prefix`` through and drops the repeats."""

    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix
        self.seen = False

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.getMessage().startswith(self.prefix):
            return True
        seen, self.seen = self.seen, True
        return not seen


def quiet_runner_logger(logger: logging.Logger) -> logging.Logger:
    """Drop mmengine's harmless warnings, and keep long blocks off the terminal handlers
    (the file handler still gets them) unless ``--verbose``."""
    logger.addFilter(DropMessages(MMENGINE_NOISE, anywhere=True))
    if not verbose():
        for handler in logger.handlers:
            if not isinstance(handler, logging.FileHandler):
                handler.addFilter(DropMessages(FILE_ONLY_PREFIXES))
    return logger


def _add_once(logger: logging.Logger, new: logging.Filter) -> None:
    if not any(type(f) is type(new) for f in logger.filters):
        logger.addFilter(new)


def filter_known_warnings() -> None:
    """Install the process-wide filters (the CLI calls it first; calling again is harmless)."""
    # We run on the CPU on purpose; DeepSpeed warns about it on import, i.e. on every command.
    _add_once(logging.getLogger('DeepSpeed'), DropMessages(('Setting accelerator to CPU',)))
    # bitsandbytes' 8-bit matmul logs this on every call (~10,000 lines per chat); once is news.
    _add_once(logging.getLogger('bitsandbytes.autograd._functions'),
              OnceFilter('MatMul8bitLt: inputs will be cast'))
    # peft calls transformers' deprecated alias; the rename is peft's to make, not the user's.
    warnings.filterwarnings('ignore', message='`is_gradient_checkpointing` is deprecated',
                            category=FutureWarning)
    # mmengine's checkpoint code uses its own deprecated FileClient; nothing for users to do.
    warnings.filterwarnings('ignore', message='"FileClient" will be deprecated')
    # mmengine sets OMP/MKL_NUM_THREADS=1 for each process of a distributed run and says so in
    # a UserWarning from every rank; one thread per rank is what a CPU run wants anyway.
    warnings.filterwarnings('ignore', message='Setting (OMP|MKL)_NUM_THREADS environment',
                            category=UserWarning)
    # DeepSpeed's ZeRO code calls torch's deprecated all_gather_into_tensor alias (every rank,
    # every run); the rename is DeepSpeed's to make.
    warnings.filterwarnings('ignore', message='`torch.distributed.all_gather_into_tensor` is '
                            'deprecated', category=FutureWarning)
