"""Choosing tracking backends, flat parameters, the recipe and its config delta."""
from __future__ import annotations

import importlib.util

import pytest
from mmengine.config import Config

from xtuner_like.config import find_config, load_config
from xtuner_like.engine import tracking
from xtuner_like.errors import ConfigError, UnknownNameError

RECIPE = 'smollm2_135m_instruct_lora_identity'


def test_report_to_names_are_checked_and_deduplicated():
    assert tracking.parse_report_to('tensorboard, mlflow,mlflow') == ['tensorboard', 'mlflow']
    assert tracking.parse_report_to(['wandb']) == ['wandb']
    assert tracking.parse_report_to('none') == [] and tracking.parse_report_to(None) == []
    with pytest.raises(UnknownNameError, match="did you mean 'mlflow'"):
        tracking.parse_report_to('mlfow')


def test_a_missing_package_is_one_line_saying_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: None if name == 'wandb' else real(name, *a))
    with pytest.raises(ConfigError) as err:
        tracking.check_installed(['tensorboard', 'wandb'])
    message = str(err.value)
    assert '\n' not in message and 'requirements/tracking.txt' in message and 'wandb' in message


def test_the_local_mlflow_store_sits_beside_the_work_dir(tmp_path, monkeypatch):
    monkeypatch.delenv('MLFLOW_TRACKING_URI', raising=False)
    uri = tracking.default_mlflow_uri(tmp_path / 'work_dirs' / 'run1')
    assert uri == f'sqlite:///{tmp_path.resolve()}/work_dirs/mlruns/mlflow.db'
    assert tracking.local_artifact_root(uri, 'exp') == str(
        tmp_path.resolve() / 'work_dirs' / 'mlruns' / 'artifacts' / 'exp')
    monkeypatch.setenv('MLFLOW_TRACKING_URI', 'http://host:5000')
    assert tracking.default_mlflow_uri(tmp_path) == 'http://host:5000'
    assert tracking.local_artifact_root('http://host:5000', 'exp') is None


def test_flat_params_number_lists_of_specs_and_cut_long_values():
    params = tracking.flat_params({
        'model': {'type': Config, 'lora': {'r': 8}}, 'hooks': [{'type': 'A'}, {'type': 'B'}],
        'inputs': ['a', 'b'], 'long': 'x' * 2000, '_knobs': ['lr']})
    assert params['model.type'] == 'mmengine.config.config.Config'
    assert params['model.lora.r'] == '8'
    assert params['hooks.1.type'] == 'B' and params['inputs'] == "['a', 'b']"
    assert len(params['long']) == tracking.PARAM_CHARS and params['long'].endswith('...')
    assert '_knobs' not in params


def test_run_info_holds_the_recipe_its_changes_and_the_command_line_changes():
    cfg = load_config(RECIPE, {'lr': 1e-4, 'max_iters': 2})
    tracking.record_run_info(cfg, {'lr': 1e-4, 'max_iters': 2, 'report_to': ['mlflow']},
                             {'lr': '1e-4'})
    info = tracking.run_info(cfg)
    assert info['recipe'] == RECIPE and info['sweep'] == {'lr': '1e-4'}
    assert info['options'] == {'lr': 1e-4, 'max_iters': 2}         # report_to is no change
    # what the recipe sets beside its bases, with the values this run resolved
    assert info['recipe_changes']['warmup_iters'] == 3
    assert 'evaluation_inputs' in info['recipe_changes']
    assert 'max_length' not in info['recipe_changes']              # a base's knob
    assert info['delta']['lr'] == 1e-4 and info['delta']['max_iters'] == 2
    assert tracking.format_delta({'lr': 1e-4, 'r': 8}) == 'lr=0.0001 r=8'


def test_a_file_without_bases_has_no_recipe_changes(tmp_path):
    plain = tmp_path / 'plain.py'
    plain.write_text('lr = 1\n')
    assert tracking.recipe_changes(plain, {'lr': 1}) == {}
    assert tracking.recipe_changes(tmp_path / 'missing.py', {}) == {}
    assert tracking.recipe_changes(find_config(RECIPE), {'lr': 3e-4})['lr'] == 3e-4
