"""What `eval MODEL` names, resolved and loaded: a work dir (its export, or its last checkpoint
converted with its config), an adapter folder, a model folder; clear errors otherwise."""
from __future__ import annotations

import shutil

import pytest

from xtuner_like.cli._eval_model import load_for_eval
from xtuner_like.errors import ConfigError


def test_a_work_dir_loads_its_export_with_the_runs_chat_format(tiny_run):
    loaded = load_for_eval(str(tiny_run))
    assert loaded.chat_format is not None and loaded.chat_format.name       # from its config
    assert hasattr(loaded.model, 'peft_config')                             # adapter on base
    assert loaded.tokenizer.chat_template == loaded.chat_format.chat_template


def test_a_work_dir_without_export_converts_its_last_checkpoint(tiny_run, tmp_path):
    work = tmp_path / 'work'
    shutil.copytree(tiny_run, work, ignore=shutil.ignore_patterns('hf'))
    loaded = load_for_eval(str(work))
    exported = load_for_eval(str(tiny_run / 'hf'))
    for (name, a), (_, b) in zip(loaded.model.named_parameters(),
                                 exported.model.named_parameters()):
        assert (a == b).all(), name
    assert loaded.chat_format is not None and exported.chat_format is None


def test_model_folders_and_errors(tiny_model_dir, tmp_path):
    assert load_for_eval(str(tiny_model_dir)).chat_format is None
    with pytest.raises(ConfigError, match='not a model folder'):
        load_for_eval(str(tmp_path))
    (tmp_path / 'iter_4.pth').write_bytes(b'')
    with pytest.raises(ConfigError, match='needs --config'):
        load_for_eval(str(tmp_path / 'iter_4.pth'))
