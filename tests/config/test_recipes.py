"""Recipe lookup by name."""
import pytest

from xtuner_like.config.recipes import configs_root, find_config, list_recipes
from xtuner_like.errors import UnknownNameError


def test_list_recipes_and_pattern():
    names = list_recipes()
    assert 'smollm2_135m_instruct_lora_identity' in names
    assert not any(n.startswith('_') for n in names)
    assert list_recipes('qlora') and all('qlora' in n for n in list_recipes('qlora'))
    assert list_recipes('smollm2*identity') == ['smollm2_135m_instruct_lora_identity']


def test_find_config_by_name_and_path(tmp_path):
    path = find_config('smollm2_135m_instruct_lora_alpaca')
    assert path.is_file() and configs_root() in path.parents
    mine = tmp_path / 'x.py'
    mine.write_text('a = 1\n')
    assert find_config(str(mine)) == mine


def test_unknown_name_suggests_close_match():
    with pytest.raises(UnknownNameError, match="did you mean 'smollm2_135m_instruct_lora_alpaca'"):
        find_config('smollm2_135m_instruct_lora_alpacaa')
