import pytest

from xtuner_like.errors import UnknownNameError
from xtuner_like.registry import Registry


def test_registry():
    reg = Registry('colour')
    reg.register('red', 1)

    @reg.register('green')
    def green():
        return 2
    assert reg.get('red') == 1 and reg.get('green') is green and list(reg) == ['green', 'red']
    assert 'red' in reg
    with pytest.raises(UnknownNameError, match="no colour 'rde'; did you mean 'red'"):
        reg.get('rde')
    with pytest.raises(ValueError, match='twice'):
        reg.register('red', 3)


def test_a_registry_imports_its_home_on_the_first_lookup(tmp_path, monkeypatch):
    import xtuner_like.registry
    homed = Registry('colour', home='colour_home')
    monkeypatch.setattr(xtuner_like.registry, 'HOMED', homed, raising=False)
    (tmp_path / 'colour_home.py').write_text(
        'from xtuner_like.registry import HOMED\nHOMED.register("blue", 3)\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    assert homed.get('blue') == 3 and 'blue' in homed and list(homed) == ['blue']


def test_named_type_finds_registered_config_types():
    from xtuner_like.model.losses.preference import DPOLoss
    from xtuner_like.registry import named_type
    assert named_type('DPOLoss') is DPOLoss
    assert named_type('peft.LoraConfig') is None and named_type(DPOLoss) is None
    assert named_type('datasets') is None  # not close to any name: the caller locates it
    with pytest.raises(UnknownNameError, match="no loss 'DPOLos'; did you mean 'DPOLoss'"):
        named_type('DPOLos')
