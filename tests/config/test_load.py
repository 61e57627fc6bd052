"""load_config: recipe lookup, --cfg-options, ${knob} references and key checks."""
import pytest

from xtuner_like.config import load_config, parse_options
from xtuner_like.config.dump import write_standalone
from xtuner_like.errors import ConfigError, UnknownNameError

RECIPE = 'smollm2_135m_instruct_lora_alpaca'


def test_references_follow_knobs_set_by_options():
    cfg = load_config(RECIPE, {'max_length': 1024, 'prompt_template': 'llama3_chat'})
    dataset = cfg.train_dataloader.dataset
    assert dataset.max_length == 1024
    assert dataset.prompt_template == 'llama3_chat'
    assert cfg.model.lora.r == 64            # nested knob inside a knob


def test_schedule_knobs_follow_options():
    cfg = load_config(RECIPE, {'max_epochs': 10, 'warmup_ratio': 0.1})
    [schedule] = cfg.param_scheduler
    assert schedule.warmup_ratio == pytest.approx(0.1) and cfg.train_cfg.max_epochs == 10


def test_unknown_option_key_suggests_close_match():
    with pytest.raises(ConfigError, match="no key 'max_lenght'.*did you mean 'max_length'"):
        load_config(RECIPE, {'max_lenght': 10})


def test_unknown_nested_option_key():
    with pytest.raises(ConfigError, match="model.*no key 'lorra'.*'lora'"):
        load_config(RECIPE, {'model.lorra': None})


def user_config(tmp_path, extra: str):
    """A user's own config: a standalone copy of the recipe plus ``extra`` lines."""
    path = write_standalone(RECIPE, tmp_path)
    path.write_text(path.read_text() + extra)
    return path


def test_unknown_top_level_key_in_a_user_config(tmp_path):
    path = user_config(tmp_path, 'max_lenght = 1024\n')
    with pytest.raises(ConfigError, match="unknown top-level key 'max_lenght'.*'max_length'"):
        load_config(str(path))


def test_unknown_argument_of_a_spec(tmp_path):
    path = user_config(tmp_path, 'lora = dict(type=LoraConfig, rank=8)\n')
    with pytest.raises(ConfigError, match="lora: unknown argument 'rank'"):
        load_config(str(path))


def test_reference_to_missing_knob(tmp_path):
    path = tmp_path / 'mine.py'
    path.write_text("model = dict(type='torch.nn.Linear', in_features='${width}', "
                    "out_features=2)\nwidht = 3\n")
    with pytest.raises(ConfigError, match=r"\$\{width\}.*line 2 defines 'widht', which "
                       "nothing uses: rename it to 'width'"):
        load_config(str(path))


def test_unknown_recipe_name_suggests():
    with pytest.raises(UnknownNameError, match='smollm2_135m_instruct_lora_alpaca'):
        load_config('smollm2_135m_instruct_lora_alpacca')


def test_parse_options_keeps_spaces_and_literals():
    opts = parse_options(['assistant_author=the xtuner_like team', 'max_iters=5', 'lora=None',
                          'xs=[1, 2]', 'flag=true', 'path=/tmp/a.json'])
    assert opts == {'assistant_author': 'the xtuner_like team', 'max_iters': 5, 'lora': None,
                    'xs': [1, 2], 'flag': True, 'path': '/tmp/a.json'}
    with pytest.raises(ConfigError, match='KEY=VALUE'):
        parse_options(['novalue'])


def test_a_runs_dumped_config_loads_again(tmp_path):
    cfg = load_config(RECIPE, {'max_length': 256})
    path = tmp_path / 'dumped.py'
    cfg.dump(str(path))
    again = load_config(str(path))
    assert again.train_dataloader.dataset.max_length == 256 and 'lora_r' in again._knobs


def test_paged_adamw_is_one_option_away():
    import torch
    from mmengine.optim import build_optim_wrapper
    cfg = load_config(RECIPE, {'optim_wrapper.optimizer.type': 'bitsandbytes.optim.PagedAdamW'})
    wrapper = build_optim_wrapper(torch.nn.Linear(4, 4), cfg.optim_wrapper)
    assert type(wrapper.optimizer).__name__ == 'PagedAdamW'


def test_runner_keys_match_the_runner_signature():
    """RUNNER_KEYS is written out (importing the Runner would load torch); keep it in step."""
    import inspect

    from mmengine.runner import Runner

    from xtuner_like.config.load import RUNNER_KEYS
    assert RUNNER_KEYS == set(inspect.signature(Runner.__init__).parameters) - {'self', 'cfg'}


@pytest.mark.parametrize('extra, message', [
    ("llm['attn_implementaton'] = 'eager'\n", "did you mean 'attn_implementation'"),
    ("llm['dtyp'] = 'fp32'\n", "did you mean 'dtype'"),
    ("llm['trust_remote_cod'] = False\n", "did you mean 'trust_remote_code'"),
    ("tokenizer['padding_sid'] = 'left'\n", "did you mean 'padding_side'"),
])
def test_typos_inside_the_model_loading_specs(tmp_path, extra, message):
    """Issue 16: the key checker skipped specs whose function takes **kwargs (the loaders)."""
    with pytest.raises(ConfigError, match=message):
        load_config(str(user_config(tmp_path, extra)))


def test_loader_options_that_are_passed_on_stay_allowed(tmp_path):
    cfg = load_config(str(user_config(tmp_path, "llm['revision'] = 'main'\n"
                                                "llm['rope_theta'] = 10000.0\n")))
    assert cfg.model.llm.revision == 'main'
