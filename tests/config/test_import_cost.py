"""Importing the config package, listing recipes and the CLI's --help load no torch."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ('torch', 'transformers', 'mmengine.runner', 'peft', 'datasets')
ROOT = Path(__file__).resolve().parents[2]


def modules_after(code: str) -> set[str]:
    """The heavy modules in sys.modules after running ``code`` in a fresh interpreter."""
    probe = f'{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))'
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    out = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True,
                         env=env, cwd=ROOT, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_importing_config_and_listing_recipes_loads_no_torch():
    assert modules_after('import xtuner_like.config as c; c.list_recipes(); '
                         'c.parse_options(["a=1"])') == set()


def test_cli_parser_and_list_cfg_load_no_torch():
    code = ('import contextlib, io\nfrom xtuner_like.cli.main import build_parser, main\n'
            'build_parser()\nwith contextlib.redirect_stdout(io.StringIO()):\n'
            '    assert main(["list-cfg", "-p", "identity"]) == 0\n'
            '    assert main(["list-cfg", "--deepspeed"]) == 0')
    assert modules_after(code) == set()
