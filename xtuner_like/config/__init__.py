"""Configs: recipe lookup, loading, ``${knob}`` resolution, checking, dumping, ``--cfg-options``.

This package sits at the bottom of the import graph (with ``utils``, ``errors`` and
``compat``): it imports mmengine's config machinery but never torch, transformers or
mmengine's runner, so listing recipes and parsing options stay fast
(``tests/config/test_import_cost.py``).
"""
from .load import config_dir, dataset_spec, load_config, referenced_knobs, resolve_references
from .options import add_cfg_options, apply_options, parse_options
from .recipes import configs_root, filter_names, find_config, list_recipes, recipe_paths

__all__ = ['add_cfg_options', 'apply_options', 'config_dir', 'configs_root', 'dataset_spec',
           'filter_names', 'find_config', 'list_recipes', 'load_config', 'parse_options',
           'recipe_paths', 'referenced_knobs', 'resolve_references']
