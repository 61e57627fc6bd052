"""Load a config: recipe lookup, ``--cfg-options``, ``${knob}`` references and key checks.

Bases refer to the recipe's top-level knobs as ``'${max_length}'``. mmengine configs have no
late binding (a base's ``train_dataset`` is evaluated before the recipe sets ``max_length``),
so references are resolved here, after the recipe and ``--cfg-options`` are applied. A recipe
then really holds only its changes: ``max_length = 1024`` reaches every place that uses it.
"""
from __future__ import annotations

import ast
import difflib
import operator
import re
from pathlib import Path
from typing import Any, Callable

from mmengine.config import Config
from mmengine.config.lazy import LazyAttr, LazyObject

from ..compat import cfg_dict, imported_names
from ..errors import ConfigError, UnknownNameError
from ..registry import named_type
from ..utils import fast_paths
from ..utils.build import locate, unknown_kwargs
from .options import apply_options, undefined_knob_hint
from .recipes import find_config
from .settings import check_numeric_settings

_REF = re.compile(r'\$\{([^}]+)\}')
_NAME = re.compile(r'[A-Za-z_][A-Za-z0-9_]*')
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.USub: operator.neg}
# Keys mmengine's Runner takes (written out, not read from its signature: importing the runner
# loads torch, and this package must not; tests/config/test_load.py checks they match).
# Anything else at the top level must be a knob some value refers to.
RUNNER_KEYS = frozenset({
    'auto_scale_lr', 'custom_hooks', 'data_preprocessor', 'default_hooks', 'default_scope',
    'env_cfg', 'experiment_name', 'launcher', 'load_from', 'log_level', 'log_processor',
    'model', 'optim_wrapper', 'param_scheduler', 'randomness', 'resume', 'test_cfg',
    'test_dataloader', 'test_evaluator', 'train_cfg', 'train_dataloader', 'val_cfg',
    'val_dataloader', 'val_evaluator', 'visualizer', 'work_dir'})
EXTRA_KEYS = frozenset({'deepspeed', 'strategy', 'gpu_ids', fast_paths.CONFIG_KEY})
KNOBS_KEY = '_knobs'


def load_config(name_or_path: str, cfg_options: dict | None = None,
                resolve: bool = True) -> Config:
    """Load a recipe by path or name, apply overrides, resolve references and check keys."""
    cfg = read_config(name_or_path)
    # Knobs the recipe declares stay known even when an option replaces the value using them
    # (e.g. ``lora=None`` leaves ``lora_r`` unused).
    knobs = referenced_knobs(cfg_dict(cfg))
    if cfg_options:
        apply_options(cfg, cfg_options, knobs | RUNNER_KEYS | EXTRA_KEYS)
    if resolve:
        # A run's dumped config has its references filled in; it lists the knobs instead.
        knobs |= referenced_knobs(cfg_dict(cfg)) | set(cfg_dict(cfg).get(KNOBS_KEY, ()))
        resolve_references(cfg)
        check_config(cfg, knobs)
        check_numeric_settings(cfg)
        dict.__setitem__(cfg_dict(cfg), KNOBS_KEY, sorted(knobs))
    # The fast paths of this run (utils/fast_paths.py): every one on unless the config says.
    fast_paths.set_disabled(cfg_dict(cfg).get(fast_paths.CONFIG_KEY))
    return cfg


def read_config(name_or_path: str) -> Config:
    """``Config.fromfile`` of a recipe name or config path; a file that does not load (a
    syntax error, a failed import, not a config) is one ConfigError naming it."""
    path = find_config(name_or_path)
    try:
        return Config.fromfile(str(path))
    except Exception as exc:  # syntax errors, failed imports: name the file
        first = (str(exc).strip().splitlines() or [''])[0]
        raise ConfigError(f'{path}: cannot load config: {type(exc).__name__}: {first}') \
            from exc


def _substitute(value: Any, knobs: dict, where: str, problems: list[str],
                hint: Callable[[str], str] = lambda name: '') -> Any:
    if isinstance(value, str) and '${' in value:
        names = {n for expr in _REF.findall(value) for n in _NAME.findall(expr)}
        for name in sorted(names):
            if name not in knobs:
                problems.append(f'{where} refers to ${{{name}}} but the config has no '
                                f'top-level {name!r}{hint(name)}')
        if problems:
            return value
        full = _REF.fullmatch(value)
        if full:  # the whole value is one reference: keep the knob's type
            return _substitute(_evaluate(full.group(1), knobs, where), knobs, where, problems,
                               hint)
        return _REF.sub(lambda m: str(_evaluate(m.group(1), knobs, where)), value)
    if isinstance(value, dict):  # dict's own methods: ConfigDict's would build lazy imports
        for key, item in list(dict.items(value)):
            dict.__setitem__(value, key, _substitute(item, knobs, f'{where}.{key}', problems,
                                                     hint))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            value[i] = _substitute(item, knobs, f'{where}[{i}]', problems, hint)
    elif isinstance(value, tuple):
        value = tuple(_substitute(v, knobs, f'{where}[{i}]', problems, hint)
                      for i, v in enumerate(value))
    return value


def _evaluate(expr: str, knobs: dict, where: str) -> Any:
    """A knob name, or simple arithmetic over knobs (``warmup_ratio * max_epochs``)."""
    expr = expr.strip()
    if _NAME.fullmatch(expr):
        return knobs[expr]

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.Name):
            return knobs[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.operand))
        raise ConfigError(f'{where}: ${{{expr}}} may hold only knob names, numbers and '
                          '+ - * / //')
    try:
        return ev(ast.parse(expr, mode='eval'))
    except SyntaxError:
        raise ConfigError(f'{where}: cannot read ${{{expr}}}') from None


def referenced_knobs(value: Any) -> set[str]:
    """Names that ``value`` (a config dict, list or string) refers to as ``${name}``."""
    if isinstance(value, str):
        return {n for expr in _REF.findall(value) for n in _NAME.findall(expr)}
    if isinstance(value, dict):
        value = list(dict.values(value))
    if isinstance(value, (list, tuple)):
        return set().union(*(referenced_knobs(v) for v in value)) if value else set()
    return set()


def resolve_references(cfg: Config) -> None:
    """Replace every ``${knob}`` with the top-level value of that name, in place."""
    knobs = dict(dict.items(cfg_dict(cfg)))
    used = referenced_knobs(cfg_dict(cfg)) | RUNNER_KEYS | EXTRA_KEYS

    def hint(name: str) -> str:   # a typo in the file's key, never the typo suggested back
        return undefined_knob_hint(cfg, name, used)
    problems: list[str] = []
    for key, value in knobs.items():
        dict.__setitem__(cfg_dict(cfg), key, _substitute(value, knobs, key, problems, hint))
    if problems:
        raise ConfigError(f'{cfg.filename}:\n  ' + '\n  '.join(problems))


# Keys mmengine's builder takes out of a spec before calling its type.
_BUILDER_KEYS = {'optim_wrapper': {'constructor', 'paramwise_cfg'}}
# Keys the reward builder (model/rewards.py) takes out of each ``rewards=[...]`` entry.
_REWARD_KEYS = {'weight', 'name'}


def _spec_problems(value: Any, where: str, problems: list[str]) -> None:
    if isinstance(value, dict):
        if 'type' in value:
            try:
                type_ = dict.__getitem__(value, 'type')
                # A registered name (loss=dict(type='DPOLoss')), or a class / dotted path.
                fn = named_type(type_) or locate(
                    type_.build() if isinstance(type_, (LazyObject, LazyAttr)) else type_)
            except (ConfigError, UnknownNameError) as exc:
                problems.append(f'{where}: {exc}')
                fn = None
            if fn is not None:
                skip = {'type', *_BUILDER_KEYS.get(where, ()),
                        *(_REWARD_KEYS if where.split('.')[-1].startswith('rewards[') else ())}
                kwargs = {k: v for k, v in dict.items(value) if k not in skip}
                problems.extend(f'{where}: unknown argument {p}'
                                for p in unknown_kwargs(fn, kwargs))
        for key, item in dict.items(value):
            if key != 'type':
                _spec_problems(item, f'{where}.{key}', problems)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _spec_problems(item, f'{where}[{i}]', problems)


def check_config(cfg: Config, knobs: set[str]) -> None:
    """Report every unknown top-level key and every unknown argument of a spec, at once.

    A top-level key is known when the Runner takes it or some value refers to it as a knob.
    """
    problems: list[str] = []
    allowed = RUNNER_KEYS | EXTRA_KEYS | knobs
    imported = imported_names(cfg)
    for key, value in dict.items(cfg_dict(cfg)):
        if key in imported or isinstance(value, (LazyObject, LazyAttr)) or callable(value):
            continue
        if key not in allowed and not key.startswith('_'):
            close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.7)
            hint = f"; did you mean {close[0]!r}?" if close else (
                '; a top-level value must be a Runner argument or be used as ${name}')
            problems.append(f'unknown top-level key {key!r}{hint}')
    for key, value in dict.items(cfg_dict(cfg)):
        if key not in imported:
            _spec_problems(value, key, problems)
    if problems:
        raise ConfigError(f'{cfg.filename}:\n  ' + '\n  '.join(problems))


def config_dir(cfg: Config) -> Path:
    """The folder of the config file (for paths written relative to it)."""
    return Path(cfg.filename).resolve().parent


def dataset_spec(cfg: Config) -> dict:
    """``cfg.train_dataloader.dataset`` as plain data (lazy types become dotted strings).

    The one place commands read the dataset spec from a config (log-dataset,
    check-custom-dataset, the chat format of an export).
    """
    loader = cfg_dict(cfg).get('train_dataloader')
    if not isinstance(loader, dict) or not isinstance(loader.get('dataset'), dict):
        raise ConfigError(f'{cfg.filename}: no train_dataloader.dataset in this config')
    return cfg.to_dict()['train_dataloader']['dataset']
