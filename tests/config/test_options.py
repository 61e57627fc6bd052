import argparse

from xtuner_like.config import add_cfg_options


def test_cfg_options_argument():
    parser = argparse.ArgumentParser()
    add_cfg_options(parser)
    assert parser.parse_args(['--cfg-options', 'a=1', 'b=x y']).cfg_options == ['a=1', 'b=x y']
    assert parser.parse_args([]).cfg_options == []


def test_parse_options_keeps_text_and_reads_literals():
    from xtuner_like.config import parse_options
    assert parse_options(['system=Be brief, please.', 'a.b=1', 'xs=[1, 2]', 'f=false',
                          'n=None']) == {'system': 'Be brief, please.', 'a.b': 1,
                                         'xs': [1, 2], 'f': False, 'n': None}


class Captured(Exception):
    """Raised by the fake load_config once it has seen the options."""


COMMANDS = {  # command -> (argv before the options, module whose load_config it calls)
    'train': (['train', 'RECIPE'], 'xtuner_like.cli.train'),
    'log-dataset': (['log-dataset', 'RECIPE'], 'xtuner_like.cli.log_dataset'),
    'check-custom-dataset': (['check-custom-dataset', 'RECIPE'],
                             'xtuner_like.cli.check_custom_dataset'),
    'convert pth_to_hf': (['convert', 'pth_to_hf', 'RECIPE', 'ckpt.pth', 'out'],
                          'xtuner_like.convert.pth_to_hf'),
}


def test_every_command_parses_cfg_options_the_same(monkeypatch, capsys):
    """``"system=Be brief, please."`` reaches the config as that text from every command
    (mmengine's DictAction, used by two commands before, gave ['Bebrief', 'please.'])."""
    import importlib

    from xtuner_like.cli.main import main
    seen = {}
    for command, (argv, module) in COMMANDS.items():
        def fake_load_config(name, options=None, *args, _command=command, **kwargs):
            seen[_command] = dict(options or {})
            raise Captured
        monkeypatch.setattr(importlib.import_module(module), 'load_config', fake_load_config)
        assert main([*argv, '--cfg-options', 'system=Be brief, please.', 'max_length=64']) == 1
    capsys.readouterr()
    assert set(seen) == set(COMMANDS)
    for command, options in seen.items():
        assert options['system'] == 'Be brief, please.', command
        assert options['max_length'] == 64, command


TYPO_CONFIG = '''# a user's copy with one knob misspelt
max_lenght = 256
lora_r = 8
model = dict(max_length='${max_length}', r='${lora_r}')
'''


def test_a_typo_in_the_file_is_pointed_at_not_suggested_back(tmp_path):
    """Issue 23, item 16: ``--cfg-options max_length=256`` on a file holding ``max_lenght``
    said "did you mean 'max_lenght'?", the typo itself."""
    import pytest

    from xtuner_like.config import load_config
    from xtuner_like.errors import ConfigError
    path = tmp_path / 'mine.py'
    path.write_text(TYPO_CONFIG)
    with pytest.raises(ConfigError) as err:
        load_config(str(path), {'max_length': 256})
    text = str(err.value)
    assert "did you mean 'max_lenght'" not in text and len(text.splitlines()) == 1
    assert f"{path}, line 2 defines 'max_lenght', which nothing uses: rename it to " \
        "'max_length'" in text
    with pytest.raises(ConfigError) as err:      # no option: the reference names it too
        load_config(str(path))
    assert "line 2 defines 'max_lenght'" in str(err.value)
    assert "did you mean 'max_lenght'" not in str(err.value)


def test_only_keys_something_reads_are_suggested(tmp_path):
    import pytest

    from xtuner_like.config import load_config
    from xtuner_like.errors import ConfigError
    path = tmp_path / 'mine.py'
    path.write_text(TYPO_CONFIG)
    with pytest.raises(ConfigError) as err:
        load_config(str(path), {'max_lenghth': 1, 'lora_rr': 4})
    assert "'max_lenght'" not in str(err.value)
    assert "no key 'lora_rr' at the top level; did you mean 'lora_r'?" in str(err.value)


def test_a_path_through_a_knob_reference_sets_the_knob(tmp_path):
    """model.llm is '${llm}' in the model bases: model.llm.dtype=... sets llm.dtype."""
    import pytest

    from xtuner_like.config import load_config
    from xtuner_like.errors import ConfigError
    cfg = load_config('smollm2_135m_instruct_lora_identity',
                      {'model.llm.dtype': 'fp32', 'model.lora.r': 8})
    assert cfg.model.llm.dtype == 'fp32' and cfg.llm.dtype == 'fp32'
    assert cfg.model.lora.r == 8
    with pytest.raises(ConfigError, match="no key 'dtyp' at model.llm; did you mean 'dtype'"):
        load_config('smollm2_135m_instruct_lora_identity', {'model.llm.dtyp': 'fp32'})
