"""Every registered loss is reachable from a shipped recipe and has trl parity coverage;
build_loss builds a loss from a name, a dict or a class."""
from __future__ import annotations

import pytest

from xtuner_like.config import load_config, parse_options
from xtuner_like.errors import ConfigError, UnknownNameError
from xtuner_like.model import PreferenceFinetune, RewardModel
from xtuner_like.model.losses import Loss, build_loss
from xtuner_like.model.losses.base import MODEL_FOR_INPUTS
from xtuner_like.model.losses.preference import DPOLoss, SimPOLoss
from xtuner_like.model.rl import GRPOFinetune
from xtuner_like.registry import LOSSES

from . import test_policy_gradient, test_preference

DPO = 'smollm2_135m_instruct_lora_dpo'
GRPO = 'smollm2_135m_instruct_lora_grpo'
# registered loss -> a shipped recipe that trains with it, and the --cfg-options that select it
RECIPES = {
    'DPOLoss': (DPO, []),
    'RobustDPOLoss': (DPO, ['loss.type=RobustDPOLoss', 'loss.label_smoothing=0.1']),
    'HingeLoss': (DPO, ['loss.type=HingeLoss']),
    'IPOLoss': (DPO, ['loss.type=IPOLoss']),
    'SimPOLoss': ('smollm2_135m_instruct_lora_simpo', []),
    'ORPOLoss': ('smollm2_135m_instruct_lora_orpo', []),
    'KTOLoss': ('smollm2_135m_instruct_lora_kto', []),
    'BradleyTerryLoss': ('smollm2_135m_instruct_lora_reward', []),
    'GRPOLoss': (GRPO, []),
    'DrGRPOLoss': ('smollm2_135m_instruct_lora_dr_grpo', []),
    'DAPOLoss': (GRPO, ['loss.type=DAPOLoss']),
    'BNPOLoss': (GRPO, ['loss.type=BNPOLoss']),
    'RLOOLoss': (GRPO, ['loss.type=RLOOLoss']),
}
MODEL_OF = {'logps': PreferenceFinetune, 'scores': RewardModel, 'rollouts': GRPOFinetune}
PARITY = {**test_preference.PARITY, **test_policy_gradient.PARITY}


def test_every_registered_loss_has_a_recipe_and_parity_coverage():
    assert sorted(RECIPES) == list(LOSSES), 'add the new loss to RECIPES (and a recipe)'
    assert sorted(PARITY) == list(LOSSES), 'add a parity test marked @covers(<name>)'


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_each_registered_loss_is_built_from_a_shipped_recipe(name):
    recipe, options = RECIPES[name]
    cfg = load_config(recipe, parse_options(options))
    loss = build_loss(cfg.model.loss)
    assert type(loss) is LOSSES.get(name)
    model_type = cfg.model.type
    model_type = model_type.build() if hasattr(model_type, 'build') else model_type
    assert model_type is MODEL_OF[loss.inputs]


def test_build_loss_takes_a_name_a_dict_a_class_or_a_loss():
    assert isinstance(build_loss('DPOLoss'), DPOLoss)
    simpo = build_loss(dict(type='SimPOLoss', beta=2.5, gamma=0.3))
    assert (simpo.beta, simpo.gamma) == (2.5, 0.3)
    assert isinstance(build_loss(dict(type=SimPOLoss)), SimPOLoss)
    dotted = build_loss(dict(type='xtuner_like.model.losses.preference.IPOLoss', beta=0.2))
    assert type(dotted).__name__ == 'IPOLoss' and build_loss(simpo) is simpo
    assert repr(simpo) == 'SimPOLoss(beta=2.5, rpo_alpha=None, gamma=0.3, label_smoothing=0.0)'


def test_build_loss_errors_name_the_fix():
    with pytest.raises(UnknownNameError, match="no loss 'KTO'; did you mean 'KTOLoss'"):
        build_loss('KTO')
    with pytest.raises(ConfigError, match="unknown argument.*'gama'; did you mean 'gamma'"):
        build_loss(dict(type='SimPOLoss', gama=0.3))
    with pytest.raises(ConfigError, match="write loss=dict"):
        build_loss(dict(beta=0.1))
    with pytest.raises(ConfigError, match='not a Loss'):
        build_loss(dict(type='builtins.dict'))


def test_every_registered_loss_declares_what_it_needs():
    for name, cls in LOSSES.items():
        assert issubclass(cls, Loss), name
        assert cls.inputs in MODEL_FOR_INPUTS
        assert cls.reduction in ('sum', 'mean', 'score', 'token')
        assert isinstance(build_loss(name).needs_reference, bool)
