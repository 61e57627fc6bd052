"""The visualizer that reports to the backends of ``report_to``, and the MLflow and W&B
backends it builds: mmengine's, with what they miss filled in.

mmengine's ``MLflowVisBackend`` logs the config unflattened for lists, no recipe or delta,
refuses non-numeric scalars, uploads every ``.json``/``.py`` under the work dir (the exported
tokenizer twice) and never the picture or the model; MLflow 3 refuses its default file store.
``WandbVisBackend`` logs scalars without their step, sends the config unflattened, uploads
the code folder, and always goes online. Here both get: the resolved config as flat
parameters, the recipe name and the config delta, every numeric scalar at its iteration,
``curves.png``, the evaluation results, and (MLflow) the exported ``hf/`` folder.
"""
from __future__ import annotations

import math
import netrc
import os
from pathlib import Path
from typing import Any, Sequence

from mmengine.visualization import MLflowVisBackend, Visualizer, WandbVisBackend

from .tracking import (TRACKING_BACKENDS, check_installed, default_mlflow_uri, flat_params,
                       format_delta, local_artifact_root, parse_report_to, run_info)
from .tracking_runs import eval_scores

# Files of a finished run worth keeping beside its metrics (names inside the work dir).
RUN_FILES = ('curves.png', 'run.json', 'eval_results.jsonl', 'eval_chat.jsonl',
             'val_loss.jsonl')


def numeric(scalars: dict) -> dict[str, float]:
    """The finite numbers of a scalar dict (the log also carries text such as ``eta``)."""
    out = {}
    for key, value in scalars.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            out[key] = number
    return out


def _work_dir(config: Any, save_dir: str | None) -> Path:
    """The run's work dir: the config's, or two levels above ``<work_dir>/<time>/vis_data``."""
    work_dir = config.get('work_dir') if config is not None else None
    return Path(work_dir) if work_dir else Path(save_dir or '.').parent.parent


class MLflowBackend(MLflowVisBackend):
    """MLflow: one run per training run, in the experiment named after the recipe.

    Args:
        save_dir: the visualizer's folder (``<work_dir>/<time>/vis_data``).
        exp_name: experiment name (default: ``$MLFLOW_EXPERIMENT_NAME`` or the recipe).
        run_name: run name (default: the work dir's name, e.g. a sweep point).
        tracking_uri: any MLflow tracking URI (default: ``$MLFLOW_TRACKING_URI`` or the local
            store ``mlruns/mlflow.db`` beside the work dir).
        log_model: False keeps the exported ``hf/`` folder out of the artifacts.
    """

    def __init__(self, save_dir: str, exp_name: str | None = None, run_name: str | None = None,
                 tracking_uri: str | None = None, log_model: bool = True, **kwargs: Any):
        super().__init__(save_dir, exp_name=exp_name, run_name=run_name,
                         tracking_uri=tracking_uri, **kwargs)
        self._log_model = log_model
        self.cfg = None

    def _init_env(self) -> None:
        """Set up the store and start the run (the first ``add_*`` call gets here)."""
        import mlflow
        self._mlflow = mlflow
        work_dir = _work_dir(self.cfg, self._save_dir)
        info = run_info(self.cfg) if self.cfg is not None else {}
        uri = self._tracking_uri or default_mlflow_uri(work_dir)
        if uri.startswith('sqlite:///'):
            Path(uri[len('sqlite:///'):]).parent.mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(uri)
        name = (self._exp_name or os.environ.get('MLFLOW_EXPERIMENT_NAME')
                or info.get('recipe') or 'xtuner_like')
        if mlflow.get_experiment_by_name(name) is None:
            mlflow.create_experiment(name, artifact_location=self._artifact_location
                                     or local_artifact_root(uri, name))
        mlflow.set_experiment(name)
        if mlflow.active_run() is not None:   # an earlier run of this process that failed
            mlflow.end_run('FAILED')
        mlflow.start_run(run_name=self._run_name or work_dir.resolve().name)
        tags = {'recipe': info.get('recipe') or '', 'work_dir': str(work_dir.resolve()),
                'config_delta': format_delta(info.get('delta', {}))[:5000],
                'cli_options': format_delta(info.get('options', {}))[:5000]}
        mlflow.set_tags({**tags, **(self._tags or {})})

    def add_config(self, config: Any, **kwargs: Any) -> None:
        """The resolved config as flat parameters, plus recipe and delta tags."""
        self.cfg = config
        if not getattr(self, '_env_initialized', False):
            self._init_env()
            self._env_initialized = True
        params = flat_params(config.to_dict())
        params.update({f'delta.{k}': str(v)[:500]
                       for k, v in run_info(config).get('delta', {}).items()})
        self._mlflow.log_params(params)
        try:
            self._mlflow.log_text(config.pretty_text, 'config.py')
        except Exception:  # noqa: BLE001 - a config mmengine cannot format: the dump instead
            self._mlflow.log_text(config.dump(), 'config.py')

    def add_scalars(self, scalar_dict: dict, step: int = 0, file_path: str | None = None,
                    **kwargs: Any) -> None:
        values = numeric(scalar_dict)
        if values:
            super().add_scalars(values, step)

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        self.add_scalars({name: value}, step)

    def close(self) -> None:
        """Evaluation scores, the picture, the run files and the model; then end the run."""
        if not hasattr(self, '_mlflow'):
            return
        work_dir = _work_dir(self.cfg, self._save_dir)
        scores = eval_scores(work_dir)
        if scores:
            self._mlflow.log_metrics(scores)
        for name in RUN_FILES:
            if (work_dir / name).is_file():
                self._mlflow.log_artifact(str(work_dir / name))
        log_dir = Path(self._save_dir).parent
        for path in sorted(log_dir.glob('*.log')) + sorted(log_dir.glob('vis_data/*.json')):
            self._mlflow.log_artifact(str(path), 'logs')
        hf_dir = work_dir / 'hf'
        if self._log_model and hf_dir.is_dir():
            self._mlflow.log_artifacts(str(hf_dir), 'hf')
        self._mlflow.end_run()


def wandb_logged_in() -> bool:
    """An API key in ``$WANDB_API_KEY`` or in ``~/.netrc`` (what ``wandb login`` writes)."""
    if os.environ.get('WANDB_API_KEY'):
        return True
    host = os.environ.get('WANDB_BASE_URL', 'https://api.wandb.ai').split('://')[-1]
    try:
        return netrc.netrc().authenticators(host.rstrip('/')) is not None
    except (OSError, netrc.NetrcParseError):
        return False


class WandbBackend(WandbVisBackend):
    """Weights & Biases: offline unless logged in (``$WANDB_MODE`` decides when set).

    Args:
        save_dir: the visualizer's folder; the run goes to ``<save_dir>/wandb/``.
        init_kwargs: more arguments of ``wandb.init`` (project, entity, tags ...); the
            project defaults to ``$WANDB_PROJECT`` or the recipe, the name to the work dir's.
    """

    def __init__(self, save_dir: str, init_kwargs: dict | None = None, **kwargs: Any):
        super().__init__(save_dir, init_kwargs=dict(init_kwargs or {}), **kwargs)
        self.cfg = None

    def _init_env(self) -> None:
        import wandb
        work_dir = _work_dir(self.cfg, self._save_dir)
        info = run_info(self.cfg) if self.cfg is not None else {}
        kwargs = self._init_kwargs
        kwargs.setdefault('dir', self._save_dir)
        Path(kwargs['dir']).mkdir(parents=True, exist_ok=True)
        kwargs.setdefault('mode', os.environ.get('WANDB_MODE')
                          or ('online' if wandb_logged_in() else 'offline'))
        kwargs.setdefault('project', os.environ.get('WANDB_PROJECT') or info.get('recipe')
                          or 'xtuner_like')
        kwargs.setdefault('name', work_dir.resolve().name)
        if self.cfg is not None:
            config = flat_params(self.cfg.to_dict())
            config.update(recipe=info.get('recipe') or '',
                          config_delta=format_delta(info.get('delta', {})),
                          cli_options=format_delta(info.get('options', {})))
            kwargs.setdefault('config', config)
        if wandb.run is not None:       # an earlier run of this process that failed
            wandb.finish(exit_code=1)
        self._run = wandb.init(**kwargs)
        self._wandb = wandb

    def add_config(self, config: Any, **kwargs: Any) -> None:
        """The resolved config as flat parameters (given to ``wandb.init``), no code upload."""
        self.cfg = config
        if not getattr(self, '_env_initialized', False):
            self._init_env()
            self._env_initialized = True

    def add_scalars(self, scalar_dict: dict, step: int = 0, file_path: str | None = None,
                    **kwargs: Any) -> None:
        values = numeric(scalar_dict)
        if not values:
            return
        if not getattr(self, '_env_initialized', False):
            self._init_env()
            self._env_initialized = True
        self._run.log(values, step=int(step))

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        self.add_scalars({name: value}, step)

    def close(self) -> None:
        """Evaluation scores into the summary, the picture and run files; then finish."""
        if not hasattr(self, '_run'):
            return
        work_dir = _work_dir(self.cfg, self._save_dir)
        self._run.summary.update(eval_scores(work_dir))
        if (work_dir / 'curves.png').is_file():
            self._run.log({'curves': self._wandb.Image(str(work_dir / 'curves.png'))})
        for name in RUN_FILES:
            if (work_dir / name).is_file():
                self._run.save(str(work_dir / name), base_path=str(work_dir), policy='now')
        self._run.finish()


def backend_specs(names: Sequence[str], backend_args: dict | None = None) -> list[dict]:
    """``vis_backends`` for the named backends: the local scalars file first, then each."""
    specs = [dict(type='mmengine.visualization.LocalVisBackend')]
    for name in names:
        specs.append(dict(type=TRACKING_BACKENDS[name][0], **(backend_args or {}).get(name, {})))
    return specs


class TrackingVisualizer(Visualizer):
    """mmengine's Visualizer with its backends chosen by name (``report_to``).

    Args:
        report_to: backend names (``'tensorboard,mlflow'`` or a list); the local
            ``scalars.json`` is always written.
        backend_args: more arguments per backend, e.g.
            ``{'mlflow': {'tracking_uri': 'http://host:5000'}, 'wandb': {'init_kwargs':
            {'project': 'p'}}}``.
        vis_backends: explicit mmengine backend dicts (then ``report_to`` is ignored).
    """

    def __init__(self, name: str = 'visualizer', report_to: Sequence[str] | str = ('tensorboard',),
                 backend_args: dict | None = None, vis_backends: list | None = None,
                 **kwargs: Any):
        if vis_backends is None:
            names = parse_report_to(report_to)
            check_installed(names)
            vis_backends = backend_specs(names, backend_args)
        super().__init__(name=name, vis_backends=vis_backends, **kwargs)


def end_active_runs(failed: bool) -> None:
    """Close a tracking run that an exception left open (status FAILED or KILLED)."""
    import sys
    mlflow = sys.modules.get('mlflow')
    if mlflow is not None and mlflow.active_run() is not None:
        mlflow.end_run('FAILED' if failed else 'KILLED')
    wandb = sys.modules.get('wandb')
    if wandb is not None and getattr(wandb, 'run', None) is not None:
        wandb.finish(exit_code=1)
