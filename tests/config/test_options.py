import argparse

from xtuner_like.config import add_cfg_options


def test_cfg_options_argument():
    parser = argparse.ArgumentParser()
    add_cfg_options(parser)
    assert parser.parse_args(['--cfg-options', 'a=1', 'b=x y']).cfg_options == ['a=1', 'b=x y']
    assert parser.parse_args([]).cfg_options == []
