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
