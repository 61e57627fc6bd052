import pytest

from xtuner_like.errors import ConfigError
from xtuner_like.utils.build import build, locate, unknown_kwargs


def pair(a, b=2):
    return (a, b)


def test_build_from_callable_and_dotted_string():
    assert build(dict(type=pair, a=1)) == (1, 2)
    assert build(dict(type='collections.OrderedDict', x=1)) == {'x': 1}
    assert build(dict(type=pair), a=5, b=6) == (5, 6)
    assert build(3) == 3 and build({'no_type': 1}) == {'no_type': 1}


def test_unknown_argument_suggests():
    assert unknown_kwargs(pair, {'bb': 1}) == ["'bb'; did you mean 'b'?"]
    with pytest.raises(ConfigError, match="unknown argument.*'bb'; did you mean 'b'"):
        build(dict(type=pair, a=1, bb=3))


def test_locate_errors():
    with pytest.raises(ConfigError, match='importable dotted path'):
        locate('no.such.thing')
