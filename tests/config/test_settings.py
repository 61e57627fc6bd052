"""check_numeric_settings: every numeric knob out of range is named, all at once."""
import pytest

from xtuner_like.config import load_config
from xtuner_like.config.settings import RULES, check_numeric_settings
from xtuner_like.errors import ConfigError

RECIPE = 'smollm2_135m_instruct_lora_identity'
BAD = {'batch_size': 0, 'max_length': 'abc', 'lr': -1.0, 'weight_decay': -0.1,
       'accumulative_counts': 0, 'max_norm': 0, 'lora_r': 0, 'lora_alpha': -2,
       'lora_dropout': 1.0, 'max_iters': 2.5, 'save_steps': 0, 'log_interval': True}


def test_every_rule_has_a_bad_value_here():
    assert {knob for _, knob, _ in RULES} - {'max_epochs'} == set(BAD)


def test_all_bad_values_are_reported_in_one_line():
    with pytest.raises(ConfigError) as info:
        load_config(RECIPE, BAD)
    message = str(info.value)
    assert '\n' not in message
    for knob, value in BAD.items():
        assert f'{knob}={value!r}' in message


def test_shipped_values_pass():
    check_numeric_settings(load_config(RECIPE))     # (load_config checks them too)


@pytest.mark.parametrize('value', [0, -1, 1.5, float('nan')])
def test_warmup_settings(value):
    cfg = {'param_scheduler': [{'warmup_ratio': value}]}
    if value == 0:
        check_numeric_settings(cfg)
    else:
        with pytest.raises(ConfigError, match='warmup_ratio'):
            check_numeric_settings(cfg)
