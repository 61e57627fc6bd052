"""copy-cfg text: standalone, readable, and the same config as the recipe."""
from mmengine.config import Config

from xtuner_like.config import load_config
from xtuner_like.config.dump import standalone_text, write_standalone

RECIPE = 'smollm2_135m_instruct_qlora_alpaca'


def test_standalone_copy_resolves_to_the_same_config(tmp_path):
    path = write_standalone(RECIPE, tmp_path)
    assert path.name == f'{RECIPE}_copy.py'
    text = path.read_text()
    assert 'read_base' not in text and 'from transformers import BitsAndBytesConfig' in text
    original, copy = load_config(RECIPE), load_config(str(path))
    assert Config(original._to_lazy_dict()).pretty_text == Config(copy._to_lazy_dict()).pretty_text


def test_knobs_come_first():
    text = standalone_text(RECIPE)
    assert text.index('max_length = ') < text.index('train_dataloader = ')
    assert "max_length='${max_length}'" in text
