"""`xtuner-like list-dataset-format`: one line per registered map_fn."""
from conftest import run_cli

from xtuner_like.dataset.map_fns import MAP_FNS


def test_lists_every_format(capsys):
    assert run_cli(['list-dataset-format']) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(MAP_FNS)
    assert len(lines) >= 19 and all('->' in line for line in lines)
    assert run_cli(['list-dataset-format', '-v']) == 0
    assert '>>> moss_sft_map_fn' in capsys.readouterr().out
