"""The CLI dispatcher: every command module is found; errors exit non-zero."""
import subprocess
import sys

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
