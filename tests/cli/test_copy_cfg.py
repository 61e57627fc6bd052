"""copy-cfg writes a file that trains exactly like the recipe, from any directory."""
from conftest import TINY_TRAIN_OPTIONS, logged_losses, run_cli

RECIPE = 'smollm2_135m_instruct_lora_identity'


def test_copy_trains_identically(tmp_path, tiny_run, tiny_model_dir, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run_cli(['copy-cfg', RECIPE, 'mine']) == 0
    copied = tmp_path / 'mine' / f'{RECIPE}_copy.py'
    assert f'copied {RECIPE} to' in capsys.readouterr().out and copied.is_file()
    rc = run_cli(['train', copied, '--work-dir', 'w', '--cfg-options',
                  f'pretrained_model_name_or_path={tiny_model_dir}', *TINY_TRAIN_OPTIONS])
    assert rc == 0
    assert logged_losses(tmp_path / 'w') == logged_losses(tiny_run)


def test_unknown_recipe(capsys, tmp_path):
    assert run_cli(['copy-cfg', 'smollm2_135m_instruct_lora_identiti', tmp_path]) == 1
    assert "did you mean 'smollm2_135m_instruct_lora_identity'" in capsys.readouterr().err


def test_refuses_existing_copy_unless_forced(tmp_path, capsys):
    out = tmp_path / f'{RECIPE}_copy.py'
    out.write_text('# my edits\n')
    assert run_cli(['copy-cfg', RECIPE, tmp_path]) == 1
    err = capsys.readouterr().err
    assert str(out) in err and '--force' in err
    assert out.read_text() == '# my edits\n'
    assert run_cli(['copy-cfg', RECIPE, tmp_path, '--force']) == 0
    assert 'read_base' not in out.read_text() and out.read_text() != '# my edits\n'


def test_a_file_that_is_not_a_config_is_one_line(tmp_path, capsys):
    """Issue 23, item 12: ``copy-cfg /etc/passwd .`` ended in mmengine's OSError traceback."""
    other = tmp_path / 'passwd'
    other.write_text('root:x:0:0:root:/root:/bin/bash\n')
    broken = tmp_path / 'broken.py'
    broken.write_text('x = (\n')
    for path, message in ((other, 'is not a config file'),
                          (broken, 'cannot load config: SyntaxError')):
        assert run_cli(['copy-cfg', path, tmp_path / 'out']) == 1
        err = capsys.readouterr().err
        assert 'Traceback' not in err and err.startswith(f'error: {path}') and message in err
        assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / 'out').exists()
