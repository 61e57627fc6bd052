import pytest

from xtuner_like.curate.config import default_config_path, load_curate_config, stage_names
from xtuner_like.errors import ConfigError


def test_shipped_defaults_hold_every_stage():
    cfg = load_curate_config()
    assert default_config_path().is_file()
    assert set(stage_names()) | {'output', 'engine'} == set(cfg)
    assert stage_names()[0] == 'format'
    assert all('enabled' in cfg[s] for s in stage_names() if s != 'format')


def test_a_user_config_holds_only_changes(tmp_path):
    path = tmp_path / 'mine.py'
    path.write_text("near_dedup = dict(threshold=0.85)\nsplit = dict(enabled=False)\n")
    cfg = load_curate_config(str(path), {'near_dedup.shingle_size': 5})
    assert cfg['near_dedup']['threshold'] == 0.85 and cfg['near_dedup']['shingle_size'] == 5
    assert cfg['near_dedup']['num_perm'] == 128 and cfg['split']['enabled'] is False


@pytest.mark.parametrize('options, message', [
    ({'near_dedupe.threshold': 0.8}, "unknown stage or section 'near_dedupe'; did you mean "
                                     "'near_dedup'"),
    ({'near_dedup.treshold': 0.8}, "near_dedup has no option 'treshold'; did you mean "
                                   "'threshold'"),
    ({'near_dedup.threshold': 1.5}, 'near_dedup.threshold=1.5; give a number between 0 and 1'),
    ({'safe.action': 'mask'}, "safe.action='mask'; use one of"),
    ({'safe.kinds': ['emails']}, "safe.kinds=unknown ['emails']; did you mean 'email'"),
    ({'format.on_bad_row': 'ignore'}, "format.on_bad_row='ignore'; use one of"),
    ({'near_dedup.by': 'replies'}, "near_dedup.by='replies'; use one of"),
    ({'engine.type': 'spark'}, "engine.type='spark'"),
])
def test_bad_options_are_named_with_a_fix(options, message):
    with pytest.raises(ConfigError, match=message.replace('[', r'\[').replace(']', r'\]')):
        load_curate_config(None, options)


def test_every_problem_of_a_config_file_is_reported_at_once(tmp_path):
    path = tmp_path / 'bad.py'
    path.write_text("clean = dict(min_reply_char=3)\ndedup = dict(by='prompt')\n")
    with pytest.raises(ConfigError) as err:
        load_curate_config(str(path))
    assert "'min_reply_char'; did you mean 'min_reply_chars'" in str(err.value)
    assert "unknown stage or section 'dedup'" in str(err.value)


def test_missing_config_file():
    with pytest.raises(ConfigError, match='nope.py not found'):
        load_curate_config('nope.py')
