"""Every shipped recipe loads, resolves its references and passes the key checks."""
import pytest

from xtuner_like.config import load_config
from xtuner_like.config.recipes import list_recipes


@pytest.mark.parametrize('name', list_recipes())
def test_recipe_loads(name):
    cfg = load_config(name)
    assert '${' not in cfg.pretty_text
    assert cfg.model.type is not None and cfg.train_dataloader.dataset is not None


def test_loss_fields_are_reached_by_cfg_options():
    from xtuner_like.config import parse_options
    from xtuner_like.errors import ConfigError
    name = 'smollm2_135m_instruct_lora_dpo'
    cfg = load_config(name, parse_options(['loss.beta=0.2', 'loss.type=IPOLoss']))
    assert dict(cfg.model.loss) == {'type': 'IPOLoss', 'beta': 0.2, 'label_smoothing': 0.0,
                                    'rpo_alpha': 1.0}
    swapped = load_config(name, parse_options(
        ["loss={'_delete_': True, 'type': 'SimPOLoss', 'gamma': 0.3}"]))
    assert dict(swapped.model.loss) == {'type': 'SimPOLoss', 'gamma': 0.3}
    with pytest.raises(ConfigError, match="no loss 'IPOLos'; did you mean 'IPOLoss'"):
        load_config(name, parse_options(['loss.type=IPOLos']))
    with pytest.raises(ConfigError, match="loss: unknown argument 'gama'; did you mean 'gamma'"):
        load_config('smollm2_135m_instruct_lora_simpo', parse_options(['loss.type=SimPOLoss']) |
                    {'loss': {'_delete_': True, 'type': 'SimPOLoss', 'gama': 0.3}})
