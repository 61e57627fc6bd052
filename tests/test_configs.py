"""Every shipped recipe loads, resolves its references and passes the key checks."""
import pytest

from xtuner_like.config import load_config
from xtuner_like.config.recipes import list_recipes


@pytest.mark.parametrize('name', list_recipes())
def test_recipe_loads(name):
    cfg = load_config(name)
    assert '${' not in cfg.pretty_text
    assert cfg.model.type is not None and cfg.train_dataloader.dataset is not None
