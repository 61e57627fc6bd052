"""Every use of another library's private API, fenced in one place.

Each function below wraps one private access (an underscore attribute or module) of mmengine,
peft, datasets, torch, transformers, numpy or the standard library, and
``tests/test_compat.py`` has one test per function that fails loudly when an upgrade changes
it. The versions we rely on are bounded in
``requirements/runtime.txt``. Code elsewhere in the package calls these functions instead of
touching the private names.

Subclass hooks that override or read protected members of mmengine's classes (listed in
``SUBCLASS_HOOKS``) cannot be wrapped; the test checks that each still exists.

This module imports no heavy library at import time (``xtuner_like.config`` uses it and must
not import torch); the functions that need one import it when called.
"""
from __future__ import annotations

from typing import Any

# (owner, member) pairs our subclasses override or read; tests assert that each exists.
SUBCLASS_HOOKS: tuple[tuple[str, str], ...] = (
    ('mmengine.runner.Runner', '_init_model_weights'),      # XRunner: keep pretrained weights
    ('mmengine.runner.Runner', '_has_loaded'),               # XRunner.load_checkpoint
    ('mmengine._strategy.BaseStrategy', '_init_model_weights'),  # XDeepSpeedStrategy
    ('mmengine.runner.IterBasedTrainLoop', '_iter'),         # TrainLoop: the position
    ('mmengine.runner.IterBasedTrainLoop', '_max_iters'),
    ('mmengine.runner.IterBasedTrainLoop', '_max_epochs'),
    ('mmengine._strategy.BaseStrategy', '_set_randomness'),  # XDeepSpeedStrategy.build_model
    ('mmengine._strategy.BaseStrategy', '_randomness'),
    ('mmengine._strategy.DeepSpeedStrategy', '_inputs_to_half'),
    # CheckpointHook: writes the new checkpoint before rotating the oldest out
    ('mmengine.hooks.CheckpointHook', '_save_checkpoint_with_step'),
    # WarmupCosineLR (engine/schedule.py, a subclass of param_scheduler_base())
    ('mmengine.optim.scheduler.param_scheduler._ParamScheduler', '_get_value'),
    ('mmengine.optim.scheduler.param_scheduler._ParamScheduler', '_last_value'),
)


# ---- mmengine -----------------------------------------------------------------------------

def cfg_dict(cfg: Any) -> dict:
    """The raw dict under an mmengine ``Config`` (``Config._cfg_dict``).

    Lazy-import configs keep ``LazyObject`` types unbuilt only when read through the plain
    dict; ``Config.__getitem__`` would build them. Anything else is returned as is.
    """
    return getattr(cfg, '_cfg_dict', cfg)


def imported_names(cfg: Any) -> set[str]:
    """Names a lazy-import config imported (``Config._imported_names``): not config keys."""
    return set(getattr(cfg, '_imported_names', ()) or ())


def lazy_dict(cfg: Any) -> dict:
    """A lazy-import config as a dict with its imports still lazy (``Config._to_lazy_dict``)."""
    return cfg._to_lazy_dict()


def lazy_object_path(obj: Any) -> str | None:
    """'torch.optim.AdamW' for an mmengine ``LazyObject`` (``_module``/``_imported``), else None."""
    if hasattr(obj, '_module') and hasattr(obj, '_imported'):
        return f'{obj._module}.{obj._imported}'
    return None


def accumulative_counts(optim_wrapper: Any) -> int:
    """Gradient accumulation of an mmengine ``OptimWrapper`` (``_accumulative_counts``).

    DeepSpeed's wrapper (ours) defines it as a property; a plain one sets the attribute.
    """
    return int(getattr(optim_wrapper, '_accumulative_counts', 1))


def strategy_classes() -> tuple[type, type, type]:
    """(BaseStrategy, DeepSpeedStrategy, DeepSpeedOptimWrapper) from mmengine's private
    ``_strategy`` package (the only place mmengine 0.10 defines them)."""
    # Imported when called: they import torch, and this module must stay light.
    from mmengine._strategy.base import BaseStrategy
    from mmengine._strategy.deepspeed import DeepSpeedOptimWrapper, DeepSpeedStrategy
    return BaseStrategy, DeepSpeedStrategy, DeepSpeedOptimWrapper


# ---- deepspeed ----------------------------------------------------------------------------

def skip_deepspeed_shm_comm() -> bool:
    """Keep DeepSpeed from JIT-compiling its shared-memory all-reduce op on the CPU.

    Every DeepSpeed process group (``comm.torch.TorchBackend``) builds ``deepspeed_shm_comm``
    when ``deepspeed.ops.__compatible_ops__`` says the CPU can: ~4 minutes of silent C++
    compilation on a machine's first run (issue 23, item 15). Only ``inference_all_reduce``
    (AutoTP inference) uses it; ZeRO training reduces through torch.distributed. Marking it
    incompatible in that dict (probed once per process, then read by DeepSpeed) skips the
    build. Returns True when the op would have been built.
    """
    import deepspeed.ops
    ops = deepspeed.ops.__compatible_ops__
    would_build = bool(ops.get('deepspeed_shm_comm', False))
    ops['deepspeed_shm_comm'] = False
    return would_build


def param_scheduler_base() -> type:
    """mmengine's base class of parameter schedulers (``_ParamScheduler``): a scheduler the
    Runner steps must derive from it, and mmengine exports no public name for it."""
    from mmengine.optim.scheduler.param_scheduler import _ParamScheduler
    return _ParamScheduler


# ---- peft ---------------------------------------------------------------------------------

def register_custom_lora_module(lora_config: Any, mapping: dict) -> None:
    """Make peft build ``mapping[base_layer_type]`` as the LoRA layer of that base type
    (``LoraConfig._register_custom_module``, peft's hook for custom LoRA layers)."""
    lora_config._register_custom_module(mapping)


# ---- datasets -----------------------------------------------------------------------------

def dataset_fingerprint(ds: Any) -> str:
    """The content fingerprint datasets keeps for a ``Dataset`` (``Dataset._fingerprint``)."""
    return ds._fingerprint


def dataset_row_mapping(ds: Any) -> Any:
    """The table row of each of a ``Dataset``'s rows after ``filter``/``select`` (an Arrow
    table, ``Dataset._indices``), or None when they are the table's rows in order: the only
    way to a filtered dataset's rows that does not copy the table."""
    return ds._indices


# ---- torch --------------------------------------------------------------------------------

def register_state_dict_hook(module: Any, hook: Any) -> Any:
    """Call ``hook(module, state_dict, prefix, local_metadata)`` each time ``module.state_dict()``
    has filled its entries; the hook edits them in place and returns None.

    torch's public ``register_state_dict_post_hook`` (torch 2.5+) where it exists, else the
    private ``Module._register_state_dict_hook`` that it wraps (torch 2.4).
    """
    public = getattr(module, 'register_state_dict_post_hook', None)
    return public(hook) if public is not None else module._register_state_dict_hook(hook)


# ---- transformers -------------------------------------------------------------------------

def config_name_or_path(config: Any) -> str:
    """The folder or hub id a transformers config was loaded from (``_name_or_path``, also
    readable as ``name_or_path``); '' when it was built in memory or ``config`` is None."""
    value = getattr(config, 'name_or_path', None)
    if value is None:
        value = getattr(config, '_name_or_path', '')
    return str(value or '')


# ---- the standard library -----------------------------------------------------------------

def run_exit_handlers() -> None:
    """Run (and clear) the functions registered with ``atexit`` (``atexit._run_exitfuncs``):
    what a normal exit runs first, for a process that then leaves with ``os._exit``."""
    import atexit
    atexit._run_exitfuncs()


# ---- numpy --------------------------------------------------------------------------------

def numpy_reconstruct() -> Any:
    """numpy's array unpickling helper (``numpy._core.multiarray._reconstruct``), which
    ``torch.load(weights_only=True)`` must allow for checkpoints holding numpy arrays."""
    import numpy as np
    core = getattr(np, '_core', None) or np.core
    return core.multiarray._reconstruct
