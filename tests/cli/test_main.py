"""The CLI dispatcher: every command module is found; errors exit non-zero."""
import os
import subprocess
import sys

import pytest

from xtuner_like.cli.main import command_modules, main


def test_commands_are_discovered():
    assert {'train', 'list_cfg', 'copy_cfg'} <= set(command_modules())
    assert '_args' not in command_modules()


def test_python_dash_m_and_exit_codes(tmp_path):
    out = subprocess.run([sys.executable, '-m', 'xtuner_like', 'list-cfg', '-p', 'identity'],
                         capture_output=True, text=True)
    assert out.returncode == 0 and 'smollm2_135m_instruct_lora_identity' in out.stdout
    bad = subprocess.run([sys.executable, '-m', 'xtuner_like', 'train', 'no_such_recipe'],
                         capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 1 and "error: no config file or recipe 'no_such_recipe'" in bad.stderr


def test_keyboard_interrupt_is_130(monkeypatch):
    import xtuner_like.cli.list_cfg as list_cfg

    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(list_cfg, 'run', interrupted)
    assert main(['list-cfg']) == 130


def test_stdout_holds_only_results(tmp_path):
    out = subprocess.run([sys.executable, '-m', 'xtuner_like', 'list-cfg', '-p', 'identity'],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout == 'smollm2_135m_instruct_lora_identity\n'


@pytest.mark.parametrize('world_size', ['1', '2'])
def test_a_process_exits_with_its_code_after_its_exit_handlers(world_size, tmp_path):
    """A torchrun worker leaves through os._exit (no C++ static destructors) but still runs
    Python's exit handlers and keeps its exit code; a single process exits normally."""
    script = ("import atexit, sys\n"
              "from xtuner_like.cli.main import exit_process\n"
              "atexit.register(lambda: print('handlers ran', flush=True))\n"
              "print('buffered', end='')\n"
              "exit_process(3)\n")
    out = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                         env={**os.environ, 'WORLD_SIZE': world_size}, timeout=120)
    assert out.returncode == 3, out.stderr
    assert out.stdout == 'bufferedhandlers ran\n'
