"""train never silently mixes a new run's checkpoints with an earlier run's."""
import pytest

from conftest import run_cli
from xtuner_like.cli._work_dir import check_work_dir, earlier_checkpoints
from xtuner_like.errors import ConfigError


def earlier_run(work):
    work.mkdir()
    (work / 'iter_4.pth').write_bytes(b'x')
    (work / 'iter_8.pth').mkdir()  # a DeepSpeed checkpoint is a folder
    (work / 'last_checkpoint').write_text(str(work / 'iter_8.pth'))
    (work / 'notes.txt').write_text('mine')
    return work


def test_refuses_unless_resume_or_overwrite(tmp_path):
    work = earlier_run(tmp_path / 'w')
    with pytest.raises(ConfigError, match=r'iter_4.pth.*--resume auto.*--overwrite'):
        check_work_dir(work, resume=False, overwrite=False)
    check_work_dir(work, resume=True, overwrite=False)
    assert len(earlier_checkpoints(work)) == 3
    check_work_dir(work, resume=False, overwrite=True)
    assert earlier_checkpoints(work) == [] and (work / 'notes.txt').read_text() == 'mine'


def test_empty_or_missing_work_dir_is_fine(tmp_path):
    check_work_dir(tmp_path / 'new', resume=False, overwrite=False)
    check_work_dir(tmp_path, resume=False, overwrite=False)


def test_cli_says_so_before_loading_anything(tmp_path, capsys):
    work = earlier_run(tmp_path / 'w')
    assert run_cli(['train', 'smollm2_135m_instruct_lora_identity', '--work-dir', work]) == 1
    err = capsys.readouterr().err
    assert 'Setting accelerator' not in err
    assert err.startswith('error: work dir') and '--overwrite' in err
