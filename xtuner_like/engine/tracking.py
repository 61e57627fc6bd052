"""Tracking backends: which ones a run reports to, and what they are told about the run.

``report_to`` (a config knob, or ``train --report-to tensorboard,mlflow,wandb``) names the
backends; each is one entry of :data:`TRACKING_BACKENDS`, built as an mmengine visualizer
backend by ``TrackingVisualizer`` (``engine/tracking_backends.py``, which also fixes what
mmengine's MLflow and W&B backends miss). The local ``scalars.json`` backend is always kept:
``xtuner-like runs`` reads it.

Every backend receives the resolved config as flat parameters (:func:`flat_params`), the
recipe name and the config delta (:func:`run_info`: what the recipe changed against its
bases, and what ``--cfg-options`` or a sweep changed against the recipe).

No torch here: ``train`` checks ``--report-to`` before loading anything heavy.
"""
from __future__ import annotations

import ast
import importlib.util
import os
from pathlib import Path
from typing import Any, Mapping

from ..errors import ConfigError, UnknownNameError

# name -> (visualizer backend type, the module it needs, what to install for it)
TRACKING_BACKENDS: dict[str, tuple[str, str | None, str | None]] = {
    'tensorboard': ('mmengine.visualization.TensorboardVisBackend', 'tensorboard',
                    'pip install tensorboard'),
    'mlflow': ('xtuner_like.engine.tracking_backends.MLflowBackend', 'mlflow',
               'pip install -r requirements/tracking.txt'),
    'wandb': ('xtuner_like.engine.tracking_backends.WandbBackend', 'wandb',
              'pip install -r requirements/tracking.txt'),
}
RUN_INFO_KEY = '_run_info'      # a '_' key: check_config lets it through, the Runner ignores it
NOT_DELTA = {'report_to'}        # options that change where a run reports, not the run
PARAM_CHARS = 500               # a longer value is cut (MLflow refuses params over 6000 chars)


def parse_report_to(value: str | list | tuple | None) -> list[str]:
    """``'tensorboard,mlflow'`` or ``['mlflow']`` -> checked backend names, in order.

    Raises:
        UnknownNameError: a name that is no backend (close names suggested).
    """
    if value is None:
        return []
    names = [n.strip() for n in (value.split(',') if isinstance(value, str) else value)]
    out = []
    for name in filter(None, names):
        if name == 'none':
            continue
        if name not in TRACKING_BACKENDS:
            raise UnknownNameError('tracking backend', name, [*TRACKING_BACKENDS, 'none'])
        if name not in out:
            out.append(name)
    return out


def check_installed(names: list[str]) -> None:
    """Raise one line per missing package, saying what to install."""
    for name in names:
        _, module, install = TRACKING_BACKENDS[name]
        if module and importlib.util.find_spec(module) is None:
            raise ConfigError(f'report_to {name!r}: the {module} package is not installed; '
                              f'{install}')


def default_mlflow_uri(work_dir: str | Path) -> str:
    """``$MLFLOW_TRACKING_URI``, or the local store ``mlruns/mlflow.db`` beside the work dir.

    MLflow 3 refuses its plain file store (maintenance mode), so the local store is an
    SQLite file; the artifacts go to ``mlruns/artifacts/`` next to it.
    """
    env = os.environ.get('MLFLOW_TRACKING_URI')
    if env:
        return env
    return 'sqlite:///' + str(Path(work_dir).resolve().parent / 'mlruns' / 'mlflow.db')


def local_artifact_root(uri: str, experiment: str) -> str | None:
    """Where a new experiment of a local SQLite store keeps its artifacts (beside the
    store); None for other stores (their server decides)."""
    if not uri.startswith('sqlite:///'):
        return None
    return str(Path(uri[len('sqlite:///'):]).parent / 'artifacts' / experiment)


# ---- what every backend is told about the run ---------------------------------------------

def _plain(value: Any) -> Any:
    """Lazy types and classes as dotted names; everything else as is."""
    if isinstance(value, type):
        return f'{value.__module__}.{value.__qualname__}'
    if type(value).__name__ in ('LazyObject', 'LazyAttr'):
        return str(value)
    return value


def flat_params(data: Mapping, prefix: str = '') -> dict[str, str]:
    """A nested config as ``{'model.lora.r': '16', 'custom_hooks.0.type': '...'}``.

    Lists of dicts are numbered, other values become text (cut to ``PARAM_CHARS``);
    keys starting with ``_`` (bookkeeping) are left out.
    """
    out: dict[str, str] = {}
    for key, value in data.items():
        if str(key).startswith('_'):
            continue
        name = f'{prefix}{key}'
        if isinstance(value, Mapping):
            out.update(flat_params(value, f'{name}.'))
        elif isinstance(value, (list, tuple)) and any(isinstance(v, Mapping) for v in value):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    out.update(flat_params(item, f'{name}.{i}.'))
                else:
                    out[f'{name}.{i}'] = _text(item)
        else:
            out[name] = _text(value)
    return out


def _text(value: Any) -> str:
    text = str(_plain(value)) if not isinstance(value, (list, tuple)) else \
        str([_plain(v) for v in value])
    return text if len(text) <= PARAM_CHARS else text[:PARAM_CHARS - 3] + '...'


def recipe_changes(path: str | Path, values: Mapping) -> dict[str, Any]:
    """What a recipe sets itself, beside ``read_base()``: ``{knob: resolved value}``.

    A file without ``read_base()`` (a dumped or hand-written config) has no bases: {}.
    Values that are not plain data (hooks, specs) are shown as their source text.
    """
    try:
        source = Path(path).read_text(encoding='utf-8')
        tree = ast.parse(source)
    except (OSError, SyntaxError, ValueError):
        return {}
    if 'read_base' not in source:
        return {}
    changes: dict[str, Any] = {}
    for node in tree.body:
        if not isinstance(node, (ast.Assign, ast.AnnAssign)):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if isinstance(target, ast.Name) and not target.id.startswith('_'):
                value = values.get(target.id)
                plain = isinstance(value, (int, float, str, bool, type(None), list, tuple))
                changes[target.id] = value if plain else _text(ast.get_source_segment(
                    source, node.value))
    return changes


def record_run_info(cfg: Any, options: Mapping, sweep: Mapping | None = None) -> None:
    """Keep the recipe name and the command-line changes in the config (``_run_info``), for
    the tracking backends and ``run.json``."""
    filename = getattr(cfg, 'filename', None) or ''
    cfg[RUN_INFO_KEY] = {'recipe': Path(filename).stem if filename else None,
                         'config_file': str(filename),
                         'options': {k: _plain(v) for k, v in options.items()
                                     if k not in NOT_DELTA},
                         'sweep': dict(sweep or {})}


def run_info(cfg: Any) -> dict:
    """``{'recipe', 'options', 'recipe_changes', 'delta'}`` of a config (see module doc)."""
    info = dict(cfg.get(RUN_INFO_KEY) or {})
    filename = info.get('config_file') or getattr(cfg, 'filename', None) or ''
    info.setdefault('recipe', Path(filename).stem if filename else None)
    info.setdefault('options', {})
    values = {k: cfg.get(k) for k in cfg.keys()} if hasattr(cfg, 'keys') else {}
    info['recipe_changes'] = recipe_changes(filename, values) if filename else {}
    info['delta'] = {**info['recipe_changes'], **info['options']}
    return info


def format_delta(options: Mapping) -> str:
    """``{'lr': 0.0001, 'lora_r': 8}`` -> ``'lr=0.0001 lora_r=8'``."""
    return ' '.join(f'{k}={v}' for k, v in options.items())
